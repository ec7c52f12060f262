"""The course's architecture study: six architectures x momentum on/off x 5 seeds.

Each architecture is one group of `ae_jax.sweeps.run_sweep` (its momentum values and seeds
train together as one vmapped program), 150 epochs of SGD at learning rate 0.05. Writes, in
the study's workdir: error vs epochs per architecture (mean and min-max band over seeds),
the mean error per font, latent maps of every architecture, and a ranking table.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ae_jax import sweeps, viz
from ae_jax.data import load_dataset, to_float
from ae_jax.models import build_model
from projects.fonts import errors, plots
from projects.fonts.engine_api import make_objective, model_params

# Encoder hidden layers of [35, *hidden, 2, *reversed(hidden), 35].
ARCHITECTURES = ((), (17,), (17, 8), (25, 17), (17, 8, 4), (25, 17, 8, 4))


def arch_label(hidden) -> str:
    sizes = [35, *hidden, 2, *reversed(tuple(hidden)), 35]
    return "[" + ", ".join(map(str, sizes)) + "]"


def course_axes(seeds: int = 5, momenta=(0.0, 0.9), architectures=ARCHITECTURES) -> dict:
    return {"model.hidden_sizes": [tuple(a) for a in architectures],
            "optimizer.momentum": list(momenta), "seed": list(range(seeds))}


def font_evaluator(state, config, workdir: str) -> dict[str, list[float]]:
    """Per-run error measures (`projects.fonts.errors`) on the training characters, and on the
    held-out ones when data.test_fraction > 0; the codes go to `<workdir>/codes.npz`.

    "train_loss" here is the loss of the final parameters over every training character (it
    replaces the epoch's running mean that metrics.jsonl holds).
    """
    ds = load_dataset(config.data)
    model = build_model(config.model, ds.example_shape)
    objective = make_objective(config.loss, model.output_activation)
    out = errors.per_run_errors(state, model, objective, ds.train, ds.extra["train_font"],
                                "train_")
    if config.data.get("test_fraction", 0.0) > 0:
        out.update(errors.per_run_errors(state, model, objective, ds.test,
                                         ds.extra["test_font"], "test_"))
    _, encode, _, _ = errors.make_run_functions(model, objective)
    codes = np.asarray(encode(model_params(state), to_float(ds.train)))  # (R, N, K)
    names = np.array([ds.class_names[i] for i in ds.train_labels])
    np.savez(os.path.join(workdir, "codes.npz"), codes=codes, names=names,
             fonts=ds.extra["train_font"])
    return out


def ranking(summary: list[dict], metric: str = "train_loss") -> list[dict]:
    """Summary rows (architecture x momentum) sorted by the mean of `metric`, best first."""
    return sorted(summary, key=lambda r: r[f"{metric}_mean"])


def ranking_table(rows: list[dict], seconds: dict[str, float]) -> str:
    head = ["rank", "architecture", "momentum", "runs", "loss (BCE) mean ± std",
            "max wrong px (mean over runs)", "mean wrong px ± std", "runs with all <= 1 wrong",
            "group wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(rows, 1):
        tag = " (best)" if i == 1 else " (worst)" if i == len(rows) else ""
        all_ok = round(r["train_all_at_most_one_mean"] * r["n"])
        lines.append("| " + " | ".join([
            f"{i}{tag}", arch_label(r["model.hidden_sizes"]), str(r["optimizer.momentum"]),
            str(r["n"]), f"{r['train_loss_mean']:.4f} ± {r['train_loss_std']:.4f}",
            f"{r['train_max_wrong_pixels_mean']:.1f}",
            f"{r['train_mean_wrong_pixels_mean']:.2f} ± {r['train_mean_wrong_pixels_std']:.2f}",
            f"{all_ok}/{r['n']}", f"{seconds[arch_label(r['model.hidden_sizes'])]:.1f}",
        ]) + " |")
    return "\n".join(lines) + "\n"


def write_report(out: dict, workdir: str) -> str:
    """Figures and the ranking table from a finished sweep (`run_sweep`'s result)."""
    rows, summary = out["runs"], out["summary"]
    groups = {g["dir"]: g for g in out["groups"]}
    momenta = sorted({r["optimizer.momentum"] for r in rows})
    archs = list(dict.fromkeys(tuple(r["model.hidden_sizes"]) for r in rows))
    seconds = {arch_label(g["fixed"]["model.hidden_sizes"]): g["seconds"]
               for g in groups.values()}
    first = {}  # (arch, momentum) -> (group dir, indices of its runs in the group)
    for r in rows:
        key = (tuple(r["model.hidden_sizes"]), r["optimizer.momentum"])
        first.setdefault(key, (r["group"], []))[1].append(r["run"])
    for m in momenta:
        curves = {}
        for a in archs:
            group, runs = first[a, m]
            curves[arch_label(a)] = sweeps.curves(os.path.join(workdir, group))[:, runs]
        title = f"loss on all characters after each epoch, momentum {m}"
        viz.save(plots.error_curves(curves, title, "BCE per pixel"),
                 os.path.join(workdir, f"error_vs_epochs_momentum{m}.png"))
        codes = {}
        for a in archs:
            with np.load(os.path.join(workdir, first[a, m][0], "codes.npz")) as f:
                codes[arch_label(a)] = f["codes"][first[a, m][1][0]]
                names, fonts = list(f["names"]), f["fonts"]
        viz.save(plots.latent_maps(codes, names, fonts,
                                   f"latent space (first seed), momentum {m}"),
                 os.path.join(workdir, f"latent_momentum{m}.png"))
    font_ids = sorted(int(k.removeprefix("train_loss_font").removesuffix("_mean"))
                      for k in summary[0] if k.startswith("train_loss_font")
                      and k.endswith("_mean"))
    for metric, ylabel in (("train_loss_font", "BCE per pixel"),
                           ("train_mean_wrong_pixels_font", "wrong pixels per character")):
        bars = {f"{arch_label(s['model.hidden_sizes'])} m={s['optimizer.momentum']}":
                {f: (s[f"{metric}{f}_mean"], s[f"{metric}{f}_std"]) for f in font_ids}
                for s in summary}
        viz.save(plots.per_font_bars(bars, "mean error per font (mean ± std over seeds)",
                                     ylabel),
                 os.path.join(workdir, f"{metric.removeprefix('train_')}.png"))
    ranked = ranking(summary)
    table = ranking_table(ranked, seconds)
    with open(os.path.join(workdir, "ranking.md"), "w") as f:
        f.write(table)
    with open(os.path.join(workdir, "ranking.json"), "w") as f:
        json.dump(ranked, f, indent=1, default=list)
    return table


def run(base_config, workdir: str, seeds: int = 5, momenta=(0.0, 0.9),
        architectures=ARCHITECTURES) -> str:
    """Train (or resume) the whole study and write its report; returns the ranking table."""
    out = sweeps.run_sweep(base_config, course_axes(seeds, momenta, architectures), workdir,
                           evaluate=font_evaluator, sort_by="train_loss")
    return write_report(out, workdir)
