"""Evaluate a trained workdir:

    python evaluate.py --workdir=<dir> --task=<task> [--option=key=value ...]
    python evaluate.py --list_tasks

Writes <dir>/eval/<task>.json and the task's figures in <dir>/eval/ (<dir>/eval_best/ for
`--checkpoint=best`, the keep_best checkpoint). Each task declares its
options (ae_jax/evaluation/options.py): an unknown key is an error naming the known ones,
and values are converted to the declared type; `--list_tasks` prints them all. A value is
read as JSON when it parses (`[1,2]`, `0.5`, `true`), else as a string (`gaussian,block`,
which a list option splits on commas).
"""

import json
import os

from absl import app, flags, logging

from ae_jax import compilation_cache
from ae_jax.engine import quiet_libraries
from ae_jax.errors import reports_user_errors
from ae_jax.evaluation import TASKS, get_task
from ae_jax.evaluation.samplers import SAMPLER, SAMPLERS
from ae_jax.files import write_atomic
from ae_jax.run import load

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "a training workdir")
flags.DEFINE_string("task", "reconstruction", "evaluation task")
flags.DEFINE_multi_string("option", [], "task option as key=value (repeatable)")
flags.DEFINE_enum("checkpoint", "latest", ["latest", "best"], "the newest checkpoint, or the "
                  "keep_best one (trained with --config.keep_best=<test metric>)")
flags.DEFINE_bool("list_tasks", False, "print every task and sampler with its options, and exit")


def _parse_options(pairs):
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise app.UsageError(f"--option needs key=value, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def describe_all() -> list[str]:
    """The lines of `--list_tasks`: every task with its options, then every sampler."""
    lines = ["tasks (--task=NAME; options as --option=key=value):"]
    for name in TASKS.names():
        lines += TASKS.get(name).describe()
    users = [n for n in TASKS.names()
             if any(o.name == SAMPLER.name for o in TASKS.get(n).options)]
    lines += ["", f"samplers (--option=sampler=NAME of tasks {', '.join(users)}; a sampler's "
                  "options join the task's):"]
    for name in SAMPLERS.names():
        lines += SAMPLERS.get(name).describe()
    return lines


@reports_user_errors
def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.list_tasks:
        print("\n".join(describe_all()))
        return
    if not FLAGS.workdir:
        raise ValueError("--workdir=<dir> is required (or --list_tasks)")
    logging.set_verbosity(logging.INFO)
    quiet_libraries()
    compilation_cache.enable()
    task = get_task(FLAGS.task)  # unknown names and options fail before any loading
    options = task.resolve(_parse_options(FLAGS.option))
    best = FLAGS.checkpoint == "best"
    run = load(FLAGS.workdir, best=best)
    out_dir = os.path.join(FLAGS.workdir, "eval_best" if best else "eval")
    os.makedirs(out_dir, exist_ok=True)
    result = task(run, out_dir, options)
    path = os.path.join(out_dir, f"{FLAGS.task}.json")
    write_atomic(path, json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    logging.info("wrote %s", path)


if __name__ == "__main__":
    app.run(main)
