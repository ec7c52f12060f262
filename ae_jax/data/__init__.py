"""Data sources behind one call, `load_dataset(config.data)`, returning a `Dataset`.

Names:
  fashion_mnist, mnist  local IDX files (data_dir, or a known system folder such as Debian's
                        /usr/share/datasets/fashion-mnist), else TFDS
  digits                scikit-learn's bundled 8x8 digits (no network, no files)
  fonts                 the course's 5x7 font bitmaps, shipped in this package
  image_folder          images under data_dir, resized to image_size
  npz                   arrays x_train / x_test [/ y_train / y_test] in data.path
  csv                   numeric rows of data.path as (N, 1, D, 1) float32 (csv_source.py)
  anything else         a TFDS catalog dataset with an 'image' feature (e.g. cifar10)
"""

from __future__ import annotations

import logging

from ae_jax.data.csv_source import load_csv_from_config
from ae_jax.data.dataset import Dataset, DataUnavailableError, to_float
from ae_jax.data.idx import find_idx_dir, load_idx
from ae_jax.data.local import load_digits, load_fonts_dataset, load_image_folder, load_npz

__all__ = ["Dataset", "DataUnavailableError", "load_dataset", "to_float"]


def _limit(ds: Dataset, train_limit: int, test_limit: int) -> Dataset:
    """The first `train_limit` / `test_limit` examples (0 keeps all), for quick runs."""
    def cut(a, n):
        return a if a is None or not n else a[:n]

    extra = {k: cut(v, train_limit if k.startswith("train") else test_limit)
             for k, v in ds.extra.items()}
    return Dataset(cut(ds.train, train_limit), cut(ds.test, test_limit),
                   cut(ds.train_labels, train_limit), cut(ds.test_labels, test_limit),
                   ds.name, ds.source, ds.class_names, extra)


def _load(cfg) -> Dataset:
    name = cfg.name
    data_dir = cfg.get("data_dir", "") or None
    seed = cfg.get("split_seed", 0)
    if name == "digits":
        return load_digits(cfg.get("test_fraction", 0.2), seed)
    if name == "fonts":
        return load_fonts_dataset(tuple(cfg.get("fonts", (0, 1, 2))),
                                  cfg.get("test_fraction", 0.0), seed)
    if name == "image_folder":
        return load_image_folder(data_dir, cfg.get("image_size", 80),
                                 cfg.get("grayscale", True), cfg.get("test_fraction", 0.1), seed)
    if name == "npz":
        return load_npz(cfg.get("path", ""))
    if name == "csv":
        return load_csv_from_config(cfg)
    if name in ("mnist", "fashion_mnist"):
        directory = find_idx_dir(name, data_dir)
        if directory:
            return load_idx(name, directory)
        if data_dir:
            logging.warning("no IDX files in %s; trying TFDS for %s", data_dir, name)
    from ae_jax.data.tfds_source import load_tfds

    return load_tfds(name, cfg.get("tfds_data_dir", "") or None)


def load_dataset(cfg) -> Dataset:
    """Load the dataset a config's `data` field names, log where it came from."""
    ds = _limit(_load(cfg), cfg.get("train_limit", 0), cfg.get("test_limit", 0))
    logging.info("data: %s", ds.describe())
    return ds
