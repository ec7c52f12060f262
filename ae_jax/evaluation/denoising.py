"""Task `denoising`: PSNR and SSIM of the denoised output against the clean image, beside the
same metrics for the noisy input itself (the floor a useful denoiser must beat), per noise type.

    python evaluate.py --workdir=<dir> --task=denoising \
        [--option=noise=gaussian,masking] [--option=stddev=0.5] [--option=num_examples=1000]

By default the noises are the run's own corruption first, then gaussian, masking,
salt_and_pepper and block, at the strengths of the run's `config.corruption`
(`evaluate.py --list_tasks` lists the options).

For the corruptions that delete pixels (masking, block) the deleted positions are known (the
same key applied to an image of ones marks them), and `psnr_filled` / `ssim_filled` score the
noisy input with only those pixels replaced by the output: the usual inpainting measure, since
an autoencoder also blurs the pixels it was given.

Outputs are clipped to [0, 1] before scoring. SSIM uses the 11x11 Gaussian window of Wang et
al. (sigma 1.5), or the largest odd window that fits smaller images (7 for 8x8 digits); the
window used is reported. Noise keys are fixed (`noise` stream of the run's key), so repeated
evaluations agree.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ae_jax import rng, viz
from ae_jax.corruption import make_corruption
from ae_jax.data import to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option
from ae_jax.image_metrics import largest_window, psnr, ssim

DEFAULT_NOISES = ("gaussian", "masking", "salt_and_pepper", "block")
DELETING = ("masking", "block")  # corruptions that set chosen pixels to 0

NOISE = Option("noise", None, "corruption names (ae_jax/corruption.py), comma-separated "
               "(default: the run's own, then " + ", ".join(DEFAULT_NOISES) + ")", kind="list")
# overrides of the run's config.corruption fields (None: the run's value)
OVERRIDES = (
    Option("stddev", None, "standard deviation of gaussian noise, pixels in [0, 1] (default: "
           "the run's config.corruption.stddev)", kind="float"),
    Option("probability", None, "fraction of pixels that masking / salt_and_pepper change "
           "(default: the run's config.corruption.probability)", kind="float"),
    Option("block_fraction", None, "side of the block over min(H, W) (default: the run's "
           "config.corruption.block_fraction)", kind="float"),
)


def _noise_names(run, options) -> list[str]:
    """The noises of option `noise` (NOISE), or by default the run's own and DEFAULT_NOISES."""
    names = options["noise"]
    if names:  # None (or an empty --option=noise=): the defaults
        return [str(n).strip() for n in names if str(n).strip()]
    own = run.config.corruption.name
    return list(dict.fromkeys(([own] if own != "none" else []) + list(DEFAULT_NOISES)))


@functools.partial(jax.jit, static_argnames="window")
def _per_image(images, clean, window: int):
    return psnr(images, clean), ssim(images, clean, window_size=window)


def _scores(images, clean, window: int, batch_size: int = 1000) -> tuple[float, float]:
    """Mean PSNR (dB) and mean SSIM over images (N, H, W, C) against clean ones."""
    parts = [_per_image(jnp.asarray(images[i:i + batch_size]),
                        jnp.asarray(clean[i:i + batch_size]), window)
             for i in range(0, len(images), batch_size)]
    p, s = (np.concatenate([np.asarray(part[j]) for part in parts]) for j in (0, 1))
    return float(p.mean()), float(s.mean())


@task("denoising", NOISE, *OVERRIDES,
      Option("num_examples", 0, "the first N test images (0: all)"),
      Option("num_images", 8, "columns of the figure (test images)"))
def denoising(run, out_dir: str, options: dict) -> dict:
    """PSNR and SSIM of the denoised output and of the noisy input, per noise type."""
    n = options["num_examples"] or len(run.dataset.test)
    clean = to_float(run.dataset.test[:n])  # (N, H, W, C) in [0, 1]
    window = largest_window(clean.shape[1], clean.shape[2])
    base = run.config.corruption.to_dict()
    for option in OVERRIDES:
        if options[option.name] is not None:
            base[option.name] = options[option.name]
    result = {"epoch": run.epoch, "num_examples": n, "ssim_window": window,
              "trained_with": run.config.corruption.name, "noise": {}}
    k = options["num_images"]
    rows = {"clean": clean[:k]}
    for i, name in enumerate(_noise_names(run, options)):
        corrupt = make_corruption(ml_collections.ConfigDict({**base, "name": name}))
        if corrupt is None:
            raise ValueError("noise 'none' has nothing to denoise; name a corruption")
        key = rng.stream_at(run.state.key, "noise", i)
        noisy = np.asarray(jax.jit(corrupt)(key, jnp.asarray(clean)))
        output = np.clip(run.reconstruct(noisy), 0.0, 1.0)
        psnr_in, ssim_in = _scores(noisy, clean, window)
        psnr_out, ssim_out = _scores(output, clean, window)
        scores = result["noise"][name] = {
            "psnr_noisy": psnr_in, "psnr_output": psnr_out, "psnr_gain": psnr_out - psnr_in,
            "ssim_noisy": ssim_in, "ssim_output": ssim_out, "ssim_gain": ssim_out - ssim_in,
        }
        if name in DELETING:
            deleted = np.asarray(corrupt(key, jnp.ones_like(jnp.asarray(clean)))) == 0.0
            filled = np.where(deleted, output, noisy)
            scores["psnr_filled"], scores["ssim_filled"] = _scores(filled, clean, window)
        rows[f"{name}: input"], rows[f"{name}: output"] = noisy[:k], output[:k]
    fig = viz.reconstructions(rows, f"{run.dataset.name}: denoising (test images)")
    viz.save(fig, os.path.join(out_dir, "denoising.png"))
    return result
