"""What every peer shares: Fashion-MNIST from IDX files, the workloads' data, the CLI and the
one JSON line that benchmarks/speed.py reads. Numpy only, so that each peer's environment
needs no ae_jax.

The data folder is --data_dir, else $AE_JAX_DATA_DIR, else Debian's standard place for the
`dataset-fashion-mnist` package; it must hold train-images-idx3-ubyte and
t10k-images-idx3-ubyte (gzipped or not).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys

import numpy as np

DATA_ENV = "AE_JAX_DATA_DIR"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"  # apt-get install dataset-fashion-mnist
MODELS = ("dense", "deep", "vae", "conv_dae")
NOISE_STDDEV = 0.5  # conv_dae's input: clip(x + 0.5 N(0, 1), 0, 1), target x


def data_dir(flag: str | None) -> str:
    """--data_dir, else $AE_JAX_DATA_DIR, else Debian's folder."""
    return flag or os.environ.get(DATA_ENV) or DEBIAN_DIR


def read_idx(path: str) -> np.ndarray:
    """One unsigned-byte IDX array: magic 0 0 8 ndim, big-endian dims, then the bytes."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[:3] != b"\0\0\x08":
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    dims = np.frombuffer(raw, ">u4", count=raw[3], offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(tuple(dims))


def _images(directory: str, stem: str) -> np.ndarray:
    for path in (os.path.join(directory, stem + ".gz"), os.path.join(directory, stem)):
        if os.path.exists(path):
            return read_idx(path)
    sys.exit(f"error: no {stem}[.gz] in {directory!r}; pass --data_dir=DIR or set "
             f"{DATA_ENV} to a folder with the Fashion-MNIST IDX files")


def load_images(directory: str, train_limit: int | None = None,
                test_limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) images as float32 in [0, 1], shape (N, 784); the first `train_limit`
    training and `test_limit` test images only, when given."""
    train = _images(directory, "train-images-idx3-ubyte")[:train_limit or None]
    test = _images(directory, "t10k-images-idx3-ubyte")[:test_limit or None]
    return tuple(x.reshape(len(x), 784).astype(np.float32) / 255.0 for x in (train, test))


def workload_data(args: argparse.Namespace, image_shape: tuple[int, ...] = (28, 28, 1)
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(input_train, target_train, input_test, target_test) of the CLI's model, data_dir,
    train_limit, test_limit and seed (`parser`). For conv_dae the images take
    `image_shape` (NHWC or NCHW) and the inputs are noisy: Gaussian noise drawn once, before
    training, from numpy's generator of `seed` (as the course code does); else input = target.
    """
    x_train, x_test = load_images(data_dir(args.data_dir), args.train_limit, args.test_limit)
    if args.model != "conv_dae":
        return x_train, x_train, x_test, x_test
    rng = np.random.default_rng(args.seed)
    x_train, x_test = (x.reshape(-1, *image_shape) for x in (x_train, x_test))

    def noisy(x):
        noise = rng.standard_normal(x.shape, dtype=np.float32)
        return np.clip(x + NOISE_STDDEV * noise, 0.0, 1.0)

    return noisy(x_train), x_train, noisy(x_test), x_test


def parser(description: str) -> argparse.ArgumentParser:
    """The CLI every peer has (benchmarks/speed.py passes these)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True, choices=MODELS)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data_dir", "--data", default=None,
                    help=f"Fashion-MNIST IDX folder (default: ${DATA_ENV}, else {DEBIAN_DIR})")
    ap.add_argument("--train_limit", "--train-limit", type=int, default=None,
                    help="train on the first N training images only")
    ap.add_argument("--test_limit", "--test-limit", type=int, default=None,
                    help="validate on the first N test images only")
    ap.add_argument("--seed", type=int, default=0)
    return ap


def report(framework: str, versions: dict, args: argparse.Namespace, *, params: int,
           train_samples: int, val_samples: int, train_s: list[float], epoch_s: list[float],
           train_losses: list[float], val_losses: list[float], setup_s: float,
           fit_total_s: float) -> dict:
    """Print the one JSON line of a run (speed.py keeps the last line starting with
    '{"framework"'); steady = the median over epochs 2..N (epoch 1 holds the compilation)."""
    steady_train = statistics.median(train_s[1:] or train_s)
    line = {
        "framework": framework,
        "versions": {**versions, "numpy": np.__version__, "python": platform.python_version()},
        "model": args.model, "params": int(params), "batch": args.batch, "epochs": args.epochs,
        "train_samples_per_epoch": train_samples, "val_samples": val_samples,
        "epoch_s": [round(t, 4) for t in epoch_s], "train_s": [round(t, 4) for t in train_s],
        "first_epoch_s": round(epoch_s[0], 4),
        "steady_epoch_s": round(statistics.median(epoch_s[1:] or epoch_s), 4),
        "steady_train_s": round(steady_train, 4),
        "samples_per_s": round(train_samples / steady_train, 1),
        "final_val_loss": float(val_losses[-1]), "final_train_loss": float(train_losses[-1]),
        "setup_s": round(setup_s, 3), "fit_total_s": round(fit_total_s, 3),
    }
    print(json.dumps(line), flush=True)
    return line
