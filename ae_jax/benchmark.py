"""The zoo benchmark: every zoo model trained with its seeds as one vmapped program, then
scored on the test split, in one command.

    python -m ae_jax.benchmark --models=all --epochs=20 --seeds=3 --workdir=runs/zoo

A zoo model is a config file in --configs_dir (default configs/) with a module-level
`ZOO = dict(model=..., paper=...)`. Each model trains in <workdir>/<config name> (rerunning
resumes a killed model from its checkpoints and skips finished ones); each seed's scores are
cached in <workdir>/<config name>/eval/benchmark_run<r>.json with the settings that made
them. Written: <workdir>/results.csv (one row per model and seed) and results.md (mean +-
sample standard deviation over the seeds).

Columns, all on the first --test_examples test images:
  params       trainable parameters of every network of one run
  bce, mse     reconstruction error per image: binary cross-entropy summed over the pixels
               (nats) and squared error summed over the pixels, of decode(encode(x)) (the
               code at evaluation time: a VAE's posterior mean; the family's reconstruction
               where it has no encoder of its own; "-" for a conditional model, whose
               test metrics in metrics.jsonl give its conditional reconstruction)
  neg_elbo     -L_1, the Monte Carlo negative ELBO with --nll_samples draws (models with a
               density: ae_jax/models/abilities.py DENSITY), nats per image
  neg_log_px_bound  -L_K with K = --nll_samples: an upper bound on -log p(x) in expectation
  seconds      seconds of the compiled training epochs, all seeds together, summed from
               metrics.jsonl (start-up, evaluation and plots excluded)
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import re
import sys

import jax
import numpy as np

from ae_jax.data import to_float
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation.likelihood import importance_sampled_stats, model_functions
from ae_jax.metric_writers import read_metrics
from ae_jax.run import load
from ae_jax.sweeps import set_field

COLUMNS = ("params", "bce", "mse", "neg_elbo", "neg_log_px_bound", "seconds")


def zoo_configs(configs_dir: str) -> dict[str, object]:
    """{config name: module} of the config files in `configs_dir` that declare `ZOO`."""
    parent = os.path.dirname(os.path.abspath(configs_dir))
    if parent not in sys.path:
        sys.path.insert(0, parent)  # zoo configs import their base configs as `configs.x`
    found = {}
    for file in sorted(os.listdir(configs_dir)):
        if not file.endswith(".py") or file.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(
            f"{os.path.basename(configs_dir)}.{file[:-3]}", os.path.join(configs_dir, file))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "ZOO"):
            found[file[:-3]] = module
    return found


def select(zoo: dict, models: str) -> dict:
    """The zoo entries named in `models` (comma-separated config names, or "all")."""
    if models == "all":
        return zoo
    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in names if m not in zoo]
    if unknown:
        raise ValueError(f"--models: unknown {unknown}; the zoo has {', '.join(zoo)}")
    return {m: zoo[m] for m in names}


def finished_epochs(workdir: str) -> int:
    """The last epoch with a test row in the workdir's metrics.jsonl (0 if none)."""
    rows = read_metrics(workdir)
    return max((r["epoch"] for r in rows if r["split"] == "test"), default=0)


def training_seconds(workdir: str, epochs: int) -> float:
    """Seconds of the compiled training epochs 1..epochs (all seeds together), summed from
    metrics.jsonl: start-up, compilation outside the epoch, evaluation and plots excluded."""
    return float(sum(r["seconds"] for r in read_metrics(workdir)
                     if r["split"] == "train" and r["epoch"] <= epochs))


def train_model(module, workdir: str, epochs: int, seeds: int, overrides: dict) -> float:
    """Train (or resume) the model's seeds as one vmapped program; its training seconds."""
    config = module.get_config()
    for key, value in {"num_epochs": epochs, "num_runs": seeds, "progress_bar": False,
                       **overrides}.items():
        set_field(config, key, value)
    if finished_epochs(workdir) < epochs:
        train_and_evaluate(config, workdir)
    return training_seconds(workdir, epochs)


def num_params(run) -> int:
    return sum(int(np.prod(x.shape)) for net in run.state.nets.values()
               for x in jax.tree_util.tree_leaves(net.params))


def reconstruction_errors(run, x: np.ndarray) -> dict:
    """Per-image BCE (nats) and squared error summed over pixels, as means over x."""
    if {"encode", "decode"} <= run.abilities():
        x_hat = run.decode(run.encode(x).reshape((len(x), *run.code_shape())))
    elif "reconstruct" in run.abilities():
        x_hat = run.reconstruct(x)
    else:  # a conditional model reconstructs only with labels (its test metrics have them)
        return {"bce": math.nan, "mse": math.nan}
    target = to_float(x).reshape(len(x), -1)  # (N, H, W, C) -> (N, D)
    p = np.clip(np.asarray(x_hat, np.float64).reshape(len(x), -1), 1e-7, 1 - 1e-7)
    bce = -(target * np.log(p) + (1 - target) * np.log1p(-p)).sum(1)
    return {"bce": float(bce.mean()), "mse": float(((p - target) ** 2).sum(1).mean())}


def likelihood_bounds(run, x: np.ndarray, num_samples: int) -> dict:
    """-L_1 and -L_K (nats per image) where the model has a density, else NaN."""
    if "density" not in run.abilities():
        return {"neg_elbo": math.nan, "neg_log_px_bound": math.nan}
    fns, output_logvar = model_functions(run)
    stats = importance_sampled_stats(fns, run.state, x, run.eval_key, num_samples,
                                     run.config.loss.likelihood, output_logvar,
                                     ks=(1,))
    return {"neg_elbo": float(-stats["L_1"].mean()),
            "neg_log_px_bound": float(-stats[f"L_{num_samples}"].mean())}


def score_run(workdir: str, r: int, settings: dict) -> dict:
    """Seed r's scores, cached in <workdir>/eval/benchmark_run<r>.json for `settings`."""
    path = os.path.join(workdir, "eval", f"benchmark_run{r}.json")
    if os.path.exists(path):
        with open(path) as f:
            cached = json.load(f)
        if cached["settings"] == settings:
            return cached["scores"]
    run = load(workdir, r)
    x = run.dataset.test[:settings["test_examples"]]
    scores = {"params": num_params(run), **reconstruction_errors(run, x),
              **likelihood_bounds(run, x, settings["nll_samples"])}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"settings": settings, "scores": scores}, f, indent=1)
    return scores


def mean_std(values) -> str:
    v = np.asarray(values, np.float64)
    if np.all(np.isnan(v)):
        return "-"
    if len(v) == 1:
        return f"{v[0]:.2f}"
    return f"{v.mean():.2f} +- {v.std(ddof=1):.2f}"


def short_citation(paper: str) -> str:
    """"Authors year" of "Authors year, Title": the text up to the first year."""
    match = re.match(r"^(.*?\b(?:19|20)\d\d)\b", paper)
    return match.group(1) if match else paper


def markdown(rows: list[dict], zoo: dict, settings: dict) -> str:
    """results.md: one line per model, mean +- sample std over its seeds."""
    head = ("| model | paper | config | params | BCE | MSE | -ELBO | -L_K | train s |\n"
            "|---|---|---|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for name, module in zoo.items():
        mine = [r for r in rows if r["config"] == name]
        if not mine:
            continue
        cells = [mean_std([r[c] for r in mine]) for c in ("bce", "mse", "neg_elbo",
                                                           "neg_log_px_bound")]
        paper = short_citation(module.ZOO["paper"])
        lines.append(f"| {module.ZOO['model']} | {paper} | `{name}` | "
                     f"{mine[0]['params']:,} | " + " | ".join(cells) +
                     f" | {mine[0]['seconds']:.0f} |")
    note = (f"\n{settings['epochs']} epochs, {settings['seeds']} seeds (mean +- sample std), "
            f"first {settings['test_examples']} test images; -L_K with K = "
            f"{settings['nll_samples']}: an upper bound on -log p(x); nats per image.\n")
    return head + "\n".join(lines) + "\n" + note


def run_benchmark(configs_dir: str, models: str, epochs: int, seeds: int, workdir: str,
                  test_examples: int = 1000, nll_samples: int = 1000,
                  overrides: dict | None = None) -> list[dict]:
    zoo = select(zoo_configs(configs_dir), models)
    settings = {"epochs": epochs, "seeds": seeds, "test_examples": test_examples,
                "nll_samples": nll_samples}
    rows = []
    for name, module in zoo.items():
        model_dir = os.path.join(workdir, name)
        seconds = train_model(module, model_dir, epochs, seeds, dict(overrides or {}))
        for r in range(seeds):
            rows.append({"config": name, "model": module.ZOO["model"], "seed": r,
                         **score_run(model_dir, r, {**settings, "seed": r}),
                         "seconds": seconds})
        write_results(workdir, rows, zoo, settings)
    return rows


def write_results(workdir: str, rows: list[dict], zoo: dict, settings: dict) -> None:
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["config", "model", "seed", *COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
    with open(os.path.join(workdir, "results.md"), "w") as f:
        f.write(markdown(rows, zoo, settings))


def parse_setting(text: str) -> tuple[str, object]:
    """"field=value" -> (field, value): JSON where it parses (numbers, true, lists), else the
    string itself."""
    if "=" not in text:
        raise ValueError(f"--set {text!r}: use field=value, e.g. data.train_limit=10000")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv):  # pragma: no cover - the command line
    from absl import flags

    from ae_jax.engine import quiet_libraries

    del argv
    f = flags.FLAGS
    quiet_libraries()
    overrides = dict(parse_setting(o) for o in f.set)
    run_benchmark(f.configs_dir, f.models, f.epochs, f.seeds, f.workdir, f.test_examples,
                  f.nll_samples, overrides)
    with open(os.path.join(f.workdir, "results.md")) as fh:
        print(fh.read())


if __name__ == "__main__":  # pragma: no cover
    from absl import app, flags

    flags.DEFINE_string("models", "all", "comma-separated zoo config names, or all")
    flags.DEFINE_integer("epochs", 20, "training epochs of every model")
    flags.DEFINE_integer("seeds", 3, "seeds per model, trained together under jax.vmap")
    flags.DEFINE_string("workdir", None, "where models, scores and results go")
    flags.DEFINE_string("configs_dir", "configs", "the folder of the zoo's config files")
    flags.DEFINE_integer("test_examples", 1000, "test images scored per seed")
    flags.DEFINE_integer("nll_samples", 1000, "importance samples K of the bound -L_K")
    flags.DEFINE_multi_string("set", [], "field=value set on every model's config, e.g. "
                              "data.train_limit=10000")
    flags.mark_flags_as_required(["workdir"])
    app.run(main)
