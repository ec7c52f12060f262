"""Train on 30 / 50 / 70 % of the characters, report the error on them and on the held-out
characters (the course's "training sample" study).

A sweep over `data.test_fraction` (each fraction is one group; its seeds train vmapped).
The held-out characters are a fixed random subset (`data.split_seed`), the same for every
seed of a fraction. Writes `<workdir>/fraction.md` and the sweep's files.
"""

from __future__ import annotations

import os

from ae_jax import sweeps
from projects.fonts.course import font_evaluator

TRAIN_FRACTIONS = (0.3, 0.5, 0.7)


def run(base_config, workdir: str, seeds: int = 5, fractions=TRAIN_FRACTIONS) -> str:
    axes = {"data.test_fraction": [round(1.0 - f, 6) for f in fractions],
            "seed": list(range(seeds))}
    out = sweeps.run_sweep(base_config, axes, workdir, evaluate=font_evaluator,
                           sort_by="test_loss")
    head = ["train fraction", "train chars", "test chars", "runs", "train loss", "test loss",
            "train mean wrong px", "test mean wrong px", "test max wrong px"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in sorted(out["summary"], key=lambda s: -s["data.test_fraction"]):
        n_test = max(1, int(round(96 * s["data.test_fraction"])))
        cells = [f"{1 - s['data.test_fraction']:.0%}", str(96 - n_test), str(n_test),
                 str(s["n"])]
        for m in ("train_loss", "test_loss", "train_mean_wrong_pixels",
                  "test_mean_wrong_pixels", "test_max_wrong_pixels"):
            cells.append(f"{s[m + '_mean']:.3f} ± {s[m + '_std']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(workdir, "fraction.md"), "w") as f:
        f.write(table)
    return table
