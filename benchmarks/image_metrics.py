"""PSNR and SSIM: ae_jax.image_metrics (jax; the SSIM window as shifted slices, the form
chosen) next to the same SSIM with a 2-D depthwise convolution (the earlier form) and
dm_pix (DeepMind's jax image library, Python >= 3.11: `pip install dm-pix`), on Fashion-MNIST
test images against a noisy copy; each compiled once, then run alternately (interleaved) in
one process.

    python benchmarks/image_metrics.py --repeats 5 [--num_images 10000]

Prints the largest difference of each implementation from ae_jax's (agreement) and the
seconds per call (median and range over the repeats), so that keeping the hand-written
code is a measured choice, not a habit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ae_jax import image_metrics  # noqa: E402
from ae_jax.data import load_dataset, to_float  # noqa: E402
from ae_jax.image_metrics import psnr, ssim  # noqa: E402
from configs import default  # noqa: E402


def pairs(num_images: int, seed: int = 0):
    """(x, reference): test images and a noisy copy (sigma 0.2, clipped), float32 NHWC."""
    data = default.get_config().data
    data.name = "fashion_mnist"
    ref = to_float(load_dataset(data).test[:num_images])
    noise = np.random.default_rng(seed).normal(0.0, 0.2, ref.shape).astype(np.float32)
    return np.clip(ref + noise, 0.0, 1.0), ref


def conv_filter(images, g):
    """The earlier `_filter`: one 2-D depthwise convolution by outer(g, g)."""
    c = images.shape[-1]
    kernel = jnp.tile(jnp.outer(g, g)[:, :, None, None], (1, 1, 1, c))  # (s, s, 1, C)
    return jax.lax.conv_general_dilated(images, kernel, (1, 1), "VALID", feature_group_count=c,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


def with_filter(filter_fn):
    """image_metrics.ssim traced with `filter_fn` in place of its `_filter`."""
    def run(x, ref):
        saved, image_metrics._filter = image_metrics._filter, filter_fn
        try:
            return ssim(x, ref)
        finally:
            image_metrics._filter = saved
    return jax.jit(run)


def arms(x, ref):
    """{name: (metric, zero-argument call that returns host values)}."""
    xj, rj = jnp.asarray(x), jnp.asarray(ref)
    ours_ssim, ours_psnr, conv_ssim = jax.jit(ssim), jax.jit(psnr), with_filter(conv_filter)
    out = {"ssim ae_jax (jax)": ("ssim", lambda: np.asarray(ours_ssim(xj, rj))),
           "ssim, 2-D depthwise conv": ("ssim", lambda: np.asarray(conv_ssim(xj, rj))),
           "psnr ae_jax": ("psnr", lambda: np.asarray(ours_psnr(xj, rj)))}
    try:
        import dm_pix
    except ImportError:
        print("dm_pix is not installed (pip install dm-pix; Python >= 3.11): its rows are left out")
        return out
    pix_ssim = jax.jit(jax.vmap(lambda a, b: dm_pix.ssim(a, b, max_val=1.0)))
    pix_psnr = jax.jit(jax.vmap(dm_pix.psnr))
    out["ssim dm_pix"] = ("ssim", lambda: np.asarray(pix_ssim(xj, rj)))
    out["psnr dm_pix"] = ("psnr", lambda: np.asarray(pix_psnr(xj, rj)))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num_images", type=int, default=10000)
    args = parser.parse_args()
    x, ref = pairs(args.num_images)
    table = arms(x, ref)
    values = {name: call() for name, (_, call) in table.items()}  # compiles
    reference = {"ssim": values["ssim ae_jax (jax)"], "psnr": values["psnr ae_jax"]}
    seconds = {name: [] for name in table}
    for _ in range(args.repeats):
        for name, (_, call) in table.items():  # interleaved
            t0 = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - t0)
    print(f"{args.num_images} Fashion-MNIST test images vs a noisy copy, {jax.default_backend()}, "
          f"{args.repeats} interleaved repeats")
    print("| implementation | max abs difference from ae_jax | seconds per call (median, range) |")
    print("|---|---|---|")
    for name, (metric, _) in table.items():
        diff = float(np.max(np.abs(values[name] - reference[metric])))
        s = np.asarray(seconds[name])
        print(f"| {name} | {diff:.2e} | {np.median(s):.3f} ({s.min():.3f}-{s.max():.3f}) |")


if __name__ == "__main__":
    main()
