"""Sweeps: a base config plus axes to vary, run as few vmapped programs as possible.

    run_sweep(base_config, {"model.hidden_sizes": [(17,), (25, 17)],
                            "optimizer.momentum": [0.0, 0.9], "seed": [0, 1, 2, 3, 4]},
              workdir)

The grid is the product of the axes. Fields that change shapes or data (architecture, data
fraction, noise level, ...) split it into groups that run one after another; fields that are
scalars in the train state ("seed", "optimizer.<hyperparameter>", "loss.terms.<term>", see
`ae_jax.runs.apply_run_hparams`) vary inside a group, whose R points train as one config with
num_runs = R under `jax.vmap` (one compiled program). Each group trains in its own
sub-workdir through `train_and_evaluate`, so an interrupted sweep resumes from its Orbax
checkpoints; a group whose `sweep_result.json` matches its config is not run again.

Writes `<workdir>/sweep.json` (axes, groups, one row per run, the summary over seeds) and
`<workdir>/results.md` (the summary as a markdown table). Command line, for any config:

    python -m ae_jax.sweeps --config=configs/fonts_ae.py --workdir=runs/lr_sweep \
        --axes='{"optimizer.learning_rate": [0.001, 0.003], "seed": [0, 1, 2]}'
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Sequence

import jax
import numpy as np

from ae_jax.engine import train_and_evaluate
from ae_jax.metric_writers import read_metrics

RESULT_FILE = "sweep_result.json"
DEFAULT_VMAPPED = ("seed", "optimizer.learning_rate", "optimizer.momentum")


def vmappable(field: str) -> bool:
    """Whether a config field can differ between the vmapped runs of one program."""
    return field == "seed" or field.startswith(
        ("optimizer.", "discriminator_optimizer.", "loss.terms."))


def grid(axes: dict[str, Sequence]) -> list[dict]:
    """Every combination of the axes' values, the last axis varying fastest."""
    return [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]


def group_points(points: list[dict], vmapped: Sequence[str]) -> list[tuple[dict, list[dict]]]:
    """[(fixed values, [per-run values, ...])]: points sharing every non-vmapped value, in
    order of first appearance."""
    groups: dict[str, tuple[dict, list[dict]]] = {}
    for p in points:
        fixed = {k: v for k, v in p.items() if k not in vmapped}
        key = json.dumps(fixed, sort_keys=True, default=list)
        groups.setdefault(key, (fixed, []))[1].append({k: p[k] for k in p if k in vmapped})
    return list(groups.values())


def set_field(config, field: str, value) -> None:
    """config.<dotted field> = value (a list becomes a tuple where the field holds one)."""
    *parents, leaf = field.split(".")
    node = config
    for p in parents:
        node = node[p]
    if isinstance(value, list) and isinstance(node.get(leaf), tuple):
        value = tuple(value)
    node[leaf] = value


def group_dir_name(fixed: dict, runs: list[dict]) -> str:
    """A readable, stable name: the fixed values and a hash of the group's runs."""
    text = json.dumps({"fixed": fixed, "runs": runs}, sort_keys=True, default=list)
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    def fmt(v):
        if isinstance(v, (list, tuple)):
            return "-".join(map(str, v)) or "none"
        return str(v)

    slug = "_".join(f"{k.split('.')[-1]}={fmt(v)}" for k, v in fixed.items()) or "all"
    slug = re.sub(r"[^A-Za-z0-9=._-]+", "-", slug)[:80]
    return f"{slug}_{digest}"


def group_config(base, fixed: dict, runs: list[dict]):
    """The group's config (vmapped fields at their first run's value) and its run_hparams.

    Runs without a "seed" axis all take the config's seed, so that runs differing only in,
    say, the learning rate start from the same parameters and see the same data order.
    """
    config = copy.deepcopy(base)
    for field, value in {**fixed, **runs[0]}.items():
        set_field(config, field, value)
    config.num_runs = len(runs)
    run_hparams = {field: [r[field] for r in runs] for field in runs[0]}
    run_hparams.setdefault("seed", [config.seed] * len(runs))
    return config, run_hparams


def per_run_metrics(workdir: str, num_runs: int) -> dict[str, list[float]]:
    """The last epoch's metrics of each run: "<split>_<name>" -> R values."""
    records = read_metrics(workdir)
    last = max(r["epoch"] for r in records)
    out = {}
    for r in records:
        if r["epoch"] != last:
            continue
        for k, v in r.items():
            if k in ("epoch", "split", "seconds") or k.endswith("_per_run"):
                continue
            out[f"{r['split']}_{k}"] = r.get(f"{k}_per_run", [v] * num_runs)
    return out


def curves(workdir: str, split: str = "test", key: str = "loss") -> np.ndarray:
    """(epochs, R) values of one metric of every run of a group's workdir."""
    rows = sorted((r for r in read_metrics(workdir) if r["split"] == split),
                  key=lambda r: r["epoch"])
    return np.array([r.get(f"{key}_per_run", [r[key]]) for r in rows], np.float64)


def stacked(state):
    """A state with a leading run axis (a lone run gets one of size 1)."""
    if state is not None and np.ndim(state.step) == 0:
        return jax.tree_util.tree_map(lambda a: a[None], state)
    return state


def run_group(config, run_hparams: dict, workdir: str, evaluate: Callable | None) -> dict:
    """Train (or resume) one group and return its per-run metrics; cached in RESULT_FILE."""
    config_json = json.loads(config.to_json_best_effort())
    path = os.path.join(workdir, RESULT_FILE)
    if os.path.exists(path):
        with open(path) as f:
            cached = json.load(f)
        if cached["config"] == config_json and cached["run_hparams"] == run_hparams:
            return cached
    t0 = time.perf_counter()
    state = stacked(train_and_evaluate(config, workdir, run_hparams))
    metrics = per_run_metrics(workdir, config.num_runs)
    if evaluate is not None:
        metrics.update(evaluate(state, config, workdir))
    result = {"config": config_json, "run_hparams": run_hparams, "metrics": metrics,
              "seconds": time.perf_counter() - t0}
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    return result


def summarize(rows: list[dict], axes: Sequence[str], metrics: Sequence[str],
              over: str = "seed") -> list[dict]:
    """One row per point of every axis but `over`: n, and mean / std / min / max of each
    metric over the `over` values (e.g. the mean of 5 runs)."""
    keys = [a for a in axes if a != over]
    out: dict[str, dict] = {}
    for row in rows:
        point = {k: row[k] for k in keys}
        entry = out.setdefault(json.dumps(point, sort_keys=True, default=list),
                               {**point, "_values": []})
        entry["_values"].append(row)
    summary = []
    for entry in out.values():
        values = entry.pop("_values")
        entry["n"] = len(values)
        for m in metrics:
            v = np.array([r[m] for r in values if m in r], np.float64)
            if len(v):
                entry.update({f"{m}_mean": float(v.mean()), f"{m}_std": float(v.std()),
                              f"{m}_min": float(v.min()), f"{m}_max": float(v.max())})
        summary.append(entry)
    return summary


def markdown_table(summary: list[dict], axes: Sequence[str], metrics: Sequence[str],
                   sort_by: str | None = None) -> str:
    """The summary as a markdown table, "mean ± std" per metric, sorted by `sort_by`'s mean."""
    rows = sorted(summary, key=lambda r: r.get(f"{sort_by}_mean", np.inf)) if sort_by \
        else summary
    head = ["rank", *axes, "n", *metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(rows, 1):
        cells = [str(i), *(str(r[a]) for a in axes), str(r["n"])]
        cells += [f"{r[f'{m}_mean']:.4g} ± {r[f'{m}_std']:.2g}" if f"{m}_mean" in r else "-"
                  for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_sweep(base_config, axes: dict[str, Sequence], workdir: str,
              vmapped_axes: Sequence[str] | None = None, evaluate: Callable | None = None,
              sort_by: str = "test_loss") -> dict:
    """Run every point of `axes` over `base_config`; returns what sweep.json holds.

    vmapped_axes: the axes trained together inside a group (default: those of
      `DEFAULT_VMAPPED` and "loss.terms.*" that are in `axes`); the others split groups.
    evaluate: `fn(state, config, group_workdir) -> {metric: [R values]}`, extra per-run
      metrics from a group's trained stacked state (its run axis first).
    """
    if vmapped_axes is None:
        vmapped_axes = [a for a in axes if a in DEFAULT_VMAPPED or a.startswith("loss.terms.")]
    bad = [a for a in vmapped_axes if not vmappable(a)]
    if bad:
        raise ValueError(f"{bad} cannot be vmapped (they change shapes or data); only seed, "
                         "optimizer.<hyperparameter> and loss.terms.<term> can")
    os.makedirs(workdir, exist_ok=True)
    groups, rows = [], []
    for fixed, runs in group_points(grid(axes), vmapped_axes):
        name = group_dir_name(fixed, runs)
        config, run_hparams = group_config(base_config, fixed, runs)
        result = run_group(config, run_hparams, os.path.join(workdir, name), evaluate)
        groups.append({"dir": name, "fixed": fixed, "num_runs": len(runs),
                       "seconds": result["seconds"]})
        for r, run in enumerate(runs):
            rows.append({"group": name, "run": r, **fixed, **run,
                         **{k: v[r] for k, v in result["metrics"].items()}})
    metrics = sorted({k for r in rows for k in r} - {"group", "run", *axes})
    summary = summarize(rows, list(axes), metrics)
    shown = [a for a in axes if a != "seed"]
    table = markdown_table(summary, shown, [m for m in metrics if m.startswith(sort_by)]
                           + [m for m in metrics if not m.startswith(sort_by)], sort_by)
    out = {"axes": axes, "vmapped_axes": list(vmapped_axes), "groups": groups, "runs": rows,
           "summary": summary}
    with open(os.path.join(workdir, "sweep.json"), "w") as f:
        json.dump(out, f, indent=1, default=list)
    with open(os.path.join(workdir, "results.md"), "w") as f:
        f.write(table)
    return out


def main(argv):
    from absl import flags

    from ae_jax.engine import quiet_libraries

    del argv
    quiet_libraries()
    flags_ = flags.FLAGS
    run_sweep(flags_.config, json.loads(flags_.axes), flags_.workdir,
              json.loads(flags_.vmapped) if flags_.vmapped else None)
    print(open(os.path.join(flags_.workdir, "results.md")).read())


if __name__ == "__main__":
    from absl import app, flags
    from ml_collections import config_flags

    config_flags.DEFINE_config_file("config", None, "base config file", lock_config=True)
    flags.DEFINE_string("workdir", None, "the sweep's directory")
    flags.DEFINE_string("axes", None, 'JSON: {"field": [values, ...], ...}')
    flags.DEFINE_string("vmapped", "", "JSON list of the axes to vmap (default: the scalars)")
    flags.mark_flags_as_required(["config", "workdir", "axes"])
    app.run(main)
