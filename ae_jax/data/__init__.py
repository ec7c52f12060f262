"""Data sources behind one call, `load_dataset(config.data)`, returning a `Dataset`.

Names (`data.name`), each a loader `fn(data_config) -> Dataset` registered in `DATA_SOURCES`
by the module that defines it:
  fashion_mnist, mnist, local IDX files (data_dir, or a known system folder such as Debian's
  kmnist                /usr/share/datasets/fashion-mnist), else the published files
                        downloaded and MD5-checked into data_dir or ~/.cache/ae_jax/datasets
                        (idx.py, download.py)
  digits                scikit-learn's bundled 8x8 digits (no network, no files; local.py)
  fonts                 the course's 5x7 font bitmaps, shipped in this package (local.py)
  image_folder          images under data_dir, resized to image_size (local.py)
  npz                   arrays x_train / x_test [/ y_train / y_test] in data.path (local.py)
  shapes                dSprites-like sprites (shape, scale, rotation, x, y) rendered
                        here, with the factor indices in extra["train_factors"] (shapes.py)
  csv                   numeric rows of data.path as (N, 1, D, 1) float32 (csv_source.py)
  tfds:<catalog name>   a TFDS catalog dataset with an 'image' feature, e.g. tfds:cifar10
                        (tfds_source.py)
Any other name is an error that lists these.
"""

from __future__ import annotations

import logging

from ae_jax.data.binarize import binarize_dataset
from ae_jax.data.dataset import DATA_SOURCES, Dataset, DataUnavailableError, to_float
from ae_jax.data.tfds_source import TFDS_PREFIX, tfds_from_config
from ae_jax.registry import UnknownNameError

__all__ = ["DATA_SOURCES", "Dataset", "DataUnavailableError", "load_dataset", "to_float"]


def _limit(ds: Dataset, train_limit: int, test_limit: int) -> Dataset:
    """The first `train_limit` / `test_limit` examples (0 keeps all), for quick runs."""
    def cut(a, n):
        return a if a is None or not n else a[:n]

    extra = {k: cut(v, train_limit if k.startswith("train") else test_limit)
             for k, v in ds.extra.items()}
    return Dataset(cut(ds.train, train_limit), cut(ds.test, test_limit),
                   cut(ds.train_labels, train_limit), cut(ds.test_labels, test_limit),
                   ds.name, ds.source, ds.class_names, extra)


def data_source(name: str):
    """The loader of `data.name`; an unknown name fails with one line that lists the local
    sources and says how to ask TFDS for a catalog dataset."""
    if name.startswith(TFDS_PREFIX):
        return tfds_from_config
    try:
        return DATA_SOURCES.get(name)
    except UnknownNameError as err:
        raise UnknownNameError(
            f"{err}; or a TFDS catalog dataset as data.name='{TFDS_PREFIX}<name>', e.g. "
            f"'{TFDS_PREFIX}{name}'") from None


def load_dataset(cfg) -> Dataset:
    """Load the dataset a config's `data` field names, log where it came from."""
    ds = _limit(data_source(cfg.name)(cfg), cfg.train_limit, cfg.test_limit)
    ds = binarize_dataset(ds, cfg.binarize, cfg.split_seed)
    logging.info("data: %s", ds.describe())
    return ds
