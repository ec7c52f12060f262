"""MNIST-format IDX files (train-images-idx3-ubyte[.gz] and friends): local, else downloaded.

data.name mnist / fashion_mnist / kmnist read the four files from data.data_dir or a known
system folder (Debian's `dataset-fashion-mnist` package installs Fashion-MNIST in
/usr/share/datasets/fashion-mnist, searched without configuration); otherwise (with
data.download) they are downloaded, checksummed, into data.data_dir or the cache folder
~/.cache/ae_jax/datasets/<name> (download.py). No TensorFlow or TFDS is involved.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from ae_jax.data import download
from ae_jax.data.dataset import DATA_SOURCES, Dataset, DataUnavailableError

KNOWN_DIRS = {
    "fashion_mnist": ("/usr/share/datasets/fashion-mnist",),
    "mnist": ("/usr/share/datasets/mnist",),
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
KMNIST_CLASSES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")  # Kuzushiji
CLASS_NAMES = {"fashion_mnist": FASHION_MNIST_CLASSES, "kmnist": KMNIST_CLASSES,
               "mnist": tuple(str(d) for d in range(10))}

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str) -> np.ndarray:
    """One IDX array: magic (0, 0, dtype 0x08 = uint8, ndim), big-endian dims, then data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {raw[:4]!r})")
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {tuple(dims)} but holds {data.size} bytes")
    return data.reshape(tuple(dims))


def _find(directory: str, stem: str) -> str | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


def has_idx_files(directory: str) -> bool:
    return all(_find(directory, stem) for pair in _FILES.values() for stem in pair)


def find_idx_dir(name: str, data_dir: str | None) -> str | None:
    """The configured directory if it holds the four files, else a known system directory."""
    candidates = ([data_dir] if data_dir else []) + list(KNOWN_DIRS.get(name, ()))
    for directory in candidates:
        if os.path.isdir(directory) and has_idx_files(directory):
            return directory
    return None


def load_idx(name: str, directory: str) -> Dataset:
    arrays = {}
    for split, (images_stem, labels_stem) in _FILES.items():
        images = read_idx(_find(directory, images_stem))
        labels = read_idx(_find(directory, labels_stem)).astype(np.int32)
        arrays[split] = (images[..., None], labels)  # (N, 28, 28) -> (N, 28, 28, 1)
    return Dataset(
        train=arrays["train"][0], train_labels=arrays["train"][1],
        test=arrays["test"][0], test_labels=arrays["test"][1],
        name=name, source=f"idx:{directory}", class_names=CLASS_NAMES.get(name),
    )


@DATA_SOURCES.register("mnist")
@DATA_SOURCES.register("fashion_mnist")
@DATA_SOURCES.register("kmnist")
def idx_or_download(cfg) -> Dataset:
    """data.name=mnist / fashion_mnist / kmnist: IDX files in data_dir or a known system
    folder, else (download) the published files, verified, in data_dir or the cache folder."""
    data_dir = cfg.data_dir or None
    directory = find_idx_dir(cfg.name, data_dir)
    if directory:
        return load_idx(cfg.name, directory)
    target = data_dir or download.cache_dir(cfg.name)
    if cfg.download:
        return load_idx(cfg.name, download.ensure_files(cfg.name, target))
    if os.path.isdir(target) and has_idx_files(target):
        return load_idx(cfg.name, target)
    searched = ", ".join(([data_dir] if data_dir else []) + list(KNOWN_DIRS.get(cfg.name, ()))
                         + ([] if data_dir else [target]))
    raise DataUnavailableError(
        f"no IDX files for {cfg.name} in {searched}, and data.download is off.\n"
        + download.how_to_provide(cfg.name, target))
