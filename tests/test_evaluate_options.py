"""Declared options of evaluation tasks and samplers (ae_jax/evaluation/options.py): defaults
and types filled in, unknown keys refused before anything is loaded, `--list_tasks`."""

import os
import re
import subprocess
import sys
import types

import jax
import numpy as np
import pytest

from ae_jax.evaluation import TASKS, get_task
from ae_jax.evaluation.options import KINDS, Option, OptionError, resolve
from ae_jax.evaluation.samplers import SAMPLER, SAMPLERS, fit_sampler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVALUATION = os.path.join(ROOT, "ae_jax", "evaluation")
# the one place that may read an option with a fallback: benchmark code passes partial dicts
FIT_SAMPLER_GET = 'options.get("sampler", SAMPLER.default)'


def _declared():
    """Every registered task and sampler."""
    return [TASKS.get(n) for n in TASKS.names()] + [SAMPLERS.get(n) for n in SAMPLERS.names()]


def test_resolve_fills_defaults_and_converts_types():
    options = (Option("n", 1, "a count"), Option("names", ("x",), "some names"),
               Option("flag", True, "a switch"), Option("rate", 0.5, "a rate"),
               Option("which", None, "a choice", kind="str"))
    assert resolve(options, {}, "task 't'") == {"n": 1, "names": ("x",), "flag": True,
                                                "rate": 0.5, "which": None}
    got = resolve(options, {"n": "3", "names": "a, b", "flag": "false", "rate": 2},
                  "task 't'")
    assert got == {"n": 3, "names": ["a", "b"], "flag": False, "rate": 2.0, "which": None}
    assert type(got["rate"]) is float
    assert resolve(options, {"names": [1, 2], "n": 4.0}, "task 't'")["names"] == [1, 2]
    with pytest.raises(OptionError, match=r"option 'n' of task 't' must be int, got 'abc'"):
        resolve(options, {"n": "abc"}, "task 't'")
    with pytest.raises(OptionError, match="must be int"):
        resolve(options, {"n": 2.5}, "task 't'")


def test_an_unknown_key_names_the_close_match_and_the_known_keys():
    with pytest.raises(OptionError) as err:
        get_task("reconstruction").resolve({"num_imags": 3})
    message = str(err.value)
    assert "\n" not in message
    assert "'num_imags'" in message and "did you mean 'num_images'" in message
    assert "known: num_images" in message
    with pytest.raises(OptionError, match=r"known: .*num_examples.*num_samples"):
        get_task("nll").resolve({"num_sampels": 10})


def test_a_sampler_brings_its_options_with_its_name():
    generate = get_task("generate")
    resolved = generate.resolve({"sampler": "gmm", "components": "3"})
    assert resolved["components"] == 3 and resolved["fit_examples"] == 10000
    assert "components" not in generate.resolve({})  # the prior's: none
    with pytest.raises(OptionError, match="unknown option 'components' for task 'generate'"):
        generate.resolve({"sampler": "prior", "components": 3})
    with pytest.raises(OptionError, match="'steps'"):
        get_task("frechet").resolve({"steps": 10})
    assert get_task("frechet").resolve({"sampler": "two_stage", "steps": 10})["steps"] == 10
    with pytest.raises(ValueError, match="unknown sampler 'gmn'.*gmm"):
        generate.resolve({"sampler": "gmn"})


def test_every_task_and_sampler_declares_typed_described_options():
    names = set(TASKS.names())
    assert {"latent_map", "generate", "interpolate", "arithmetic", "denoising", "frechet",
            "compression", "anomaly_baselines", "nll", "representation", "conditional",
            "anomaly", "retrieval", "reconstruction"} <= names
    assert {"prior", "gmm", "two_stage", "vq_histogram", "vq_pixelcnn"} <= set(SAMPLERS)
    for declared in _declared():
        assert declared.summary, declared.name
        assert not declared.summary.startswith("Options"), declared.name
        own = [o.name for o in declared.options]
        assert len(own) == len(set(own)), (declared.name, own)
        for option in declared.options:
            assert option.kind in KINDS and option.help.strip(), (declared.name, option)
    for task in (TASKS.get(n) for n in TASKS.names()):
        if SAMPLER in task.options:  # a sampler's option must not shadow the task's own
            own = {o.name for o in task.options}
            for name in SAMPLERS.names():
                clash = own & {o.name for o in SAMPLERS.get(name).options}
                assert not clash, (task.name, name, clash)


def test_no_task_or_sampler_reads_an_option_with_its_own_default():
    offenders = []
    for folder, _, files in os.walk(EVALUATION):
        for file in files:
            if not file.endswith(".py"):
                continue
            path = os.path.join(folder, file)
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    if re.search(r"options\.get\(", line) and FIT_SAMPLER_GET not in line:
                        offenders.append(f"{os.path.relpath(path, ROOT)}:{number}")
    assert not offenders, offenders


class _StubRun:
    """What the prior and gmm samplers read of a run: 2-D codes of 200 training rows."""

    dataset = types.SimpleNamespace(train=np.random.default_rng(0).normal(size=(200, 2)))
    encode = staticmethod(lambda x: x)
    code_shape = staticmethod(lambda: (2,))
    abilities = staticmethod(lambda: frozenset())
    require = staticmethod(lambda ability, what: None)


def test_partial_dicts_still_work_for_samplers_and_resolved_options_resolve_again():
    key = jax.random.PRNGKey(0)
    name, draw = fit_sampler(_StubRun(), {}, key)  # benchmark code: no "sampler" key
    assert name == "prior" and draw(key, 3).shape == (3, 2)
    # a task's options hold other keys than the sampler's: it keeps only its own
    options = {"sampler": "gmm", "components": 2, "seed": 0, "num_samples": 5}
    name, draw = fit_sampler(_StubRun(), options, key)
    assert name == "gmm" and draw(key, 5).shape == (5, 2)
    assert SAMPLERS.get("two_stage").resolve({"steps": 5})["hidden"] == 512
    generate = get_task("generate")  # evaluate.py resolves, then the task resolves again
    once = generate.resolve({"sampler": "gmm", "points": "1,2", "components": 4})
    assert generate.resolve(once) == once and once["points"] == ["1", "2"]


def test_command_line_values_are_json_first_then_strings():
    sys.path.insert(0, ROOT)
    from evaluate import _parse_options

    parsed = _parse_options(["noise=gaussian,block", "stddev=0.5", "num_examples=20"])
    resolved = get_task("denoising").resolve(parsed)
    assert resolved["noise"] == ["gaussian", "block"] and resolved["stddev"] == 0.5
    assert resolved["num_examples"] == 20 and resolved["probability"] is None
    assert get_task("retrieval").resolve(_parse_options(["ks=[1,2]"]))["ks"] == [1, 2]
    assert get_task("retrieval").resolve(_parse_options(["baselines=false"]))["baselines"] \
        is False


def _evaluate(*args):
    return subprocess.run([sys.executable, "evaluate.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_an_unknown_option_fails_before_the_workdir_is_read(tmp_path):
    workdir = tmp_path / "no_such_workdir"
    out = _evaluate(f"--workdir={workdir}", "--task=reconstruction",
                    "--option=num_exampels=3")
    assert out.returncode == 2, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'num_exampels'" in errors[0], out.stderr
    assert "known: num_images" in errors[0] and "Traceback" not in out.stderr
    assert not workdir.exists()


@pytest.mark.slow
def test_list_tasks_prints_every_task_and_sampler():
    out = _evaluate("--list_tasks")
    assert out.returncode == 0, out.stderr
    for name in TASKS.names() + SAMPLERS.names():
        assert re.search(rf"^{name}: \S", out.stdout, re.MULTILINE), name
    assert "    num_images (int, default 10): " in out.stdout
    assert "    components (int, default 10): " in out.stdout
