"""The font study of seed 003 (TP5), every part of it from one command:

    python -m projects.fonts.study all --workdir=runs/fonts

(from the repository root) or one part at a time,
`python -m projects.fonts.study <part> --workdir=runs/fonts`, each writing into
`<workdir>/<part>/` and resuming where it stopped when run again:

  sweep       the six course architectures x momentum {0, 0.9} x 5 seeds, 150 epochs of
              SGD at learning rate 0.05 (configs/fonts_ae.py); one vmapped program per
              architecture. Writes error_vs_epochs_momentum*.png (mean, min-max band),
              loss_font.png / mean_wrong_pixels_font.png (error per font), latent_momentum*.png
              (a latent map per architecture), ranking.md (best to worst), results.md, sweep.json.
  optimizers  full-batch BFGS, L-BFGS, CG, Powell, ... and Adam / SGD on the best
              architecture from the same initial parameters: optimizers.md, optimizers.png.
  fraction    train on 30 / 50 / 70 % of the characters, error on the held-out ones:
              fraction.md (configs/fonts_ae_long.py, 5 seeds).
  generate    new characters decoded from a latent grid and from lines between characters
              (configs/fonts_ae_long.py): generate_grid.png, generate_interpolations.png,
              generate.json.
  denoise     bit-flip p = 0.1 denoising AE [35, 25, 17, 5, 17, 25, 35]
              (configs/fonts_denoising.py, 5 seeds vmapped): error on 4 noisy copies per
              character, denoise.md.

Options: --seeds N (runs per point), --epochs N (overrides num_epochs of every config),
--architectures 25-17,17 (hidden layers of the sweep; "none" is [35, 2, 35]),
--methods bfgs,cg,powell and --maxiter N (optimizers).
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from ae_jax.sweeps import stacked
from projects.fonts.engine_api import quiet_libraries, train_and_evaluate

PARTS = ("sweep", "optimizers", "fraction", "generate", "denoise")


def _configs():
    from configs import fonts_ae, fonts_ae_long, fonts_denoising

    return fonts_ae.get_config(), fonts_ae_long.get_config(), fonts_denoising.get_config()


def parse_architectures(text: str | None):
    """--architectures "none,25-17" -> ((), (25, 17)); the course's six when empty."""
    from projects.fonts.course import ARCHITECTURES

    if not text:
        return ARCHITECTURES
    return tuple(() if a == "none" else tuple(int(n) for n in a.split("-"))
                 for a in text.split(","))


def run_part(part: str, workdir: str, args) -> str:
    """Run one part of the study into `workdir`; returns its table as text."""
    course, long, denoising = _configs()
    for config in (course, long, denoising):
        config.progress_bar = False
        if args.epochs:
            config.num_epochs = args.epochs
    if part == "sweep":
        from projects.fonts import course as study

        return study.run(course, workdir, args.seeds,
                         architectures=parse_architectures(args.architectures))
    if part == "optimizers":
        from projects.fonts import optimizer_study

        methods = args.methods.split(",") if args.methods else tuple(
            optimizer_study.DEFAULT_MAXITER)
        maxiter = {m: args.maxiter for m in methods} if args.maxiter else None
        return optimizer_study.compare(course, workdir, methods, maxiter)
    if part == "fraction":
        from projects.fonts import fraction

        return fraction.run(long, workdir, args.seeds)
    if part == "generate":
        from projects.fonts import generate

        state = stacked(train_and_evaluate(long, os.path.join(workdir, "model")))
        result = generate.run(state, long, workdir)
        return "\n".join(f"{k}: {v}" for k, v in result.items()) + "\n"
    if part == "denoise":
        from projects.fonts import denoise

        denoising.num_runs = args.seeds
        state = stacked(train_and_evaluate(denoising, os.path.join(workdir, "model")))
        return denoise.evaluate(state, denoising, workdir)
    raise ValueError(f"unknown part {part!r}; known: {', '.join(PARTS)}, all")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m projects.fonts.study",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=(*PARTS, "all"))
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--architectures", default="")
    parser.add_argument("--methods", default="")
    parser.add_argument("--maxiter", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    quiet_libraries()
    for part in PARTS if args.part == "all" else (args.part,):
        t0 = time.perf_counter()
        table = run_part(part, os.path.join(args.workdir, part), args)
        print(f"== {part} ({time.perf_counter() - t0:.1f} s) ==\n{table}", flush=True)


if __name__ == "__main__":
    main()
