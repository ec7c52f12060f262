"""Tabular data from a CSV file (`data.name=csv`): numeric feature rows such as card-fraud or
ECG features, for a dense autoencoder.

    --config.data.path=table.csv          header row, then one example per row
    --config.data.label_column=diagnosis  optional; its values become class names
    --config.data.normal_classes=...      optional; the train split keeps only these classes
                                          (anomaly detection: train on normal rows only)
    --config.data.standardize=True        z = (x - mean) / std, both from the training rows

Every other column must be numeric. Rows are split at random into train / test
(`data.test_fraction`, `data.split_seed`); with normal_classes, the train split's rows of
other classes then move to the test split, which so holds the held-out normal rows and every
anomaly. Examples are float32 of shape (N, 1, D, 1), the image layout every model takes.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from ae_jax.data.dataset import DATA_SOURCES, Dataset, DataUnavailableError
from ae_jax.data.local import _split


def _class_names(values: list[str]) -> tuple[str, ...]:
    """Sorted distinct labels; numerically when every label is a number (so "2" < "10")."""
    distinct = set(values)
    try:
        return tuple(sorted(distinct, key=float))
    except ValueError:
        return tuple(sorted(distinct))


def read_csv_table(path: str, label_column: str = ""):
    """(features (N, D) float32, feature names, labels (N,) int32 or None, class names)."""
    if not path or not os.path.exists(path):
        raise DataUnavailableError(f"CSV file {path!r} does not exist (--config.data.path)")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        rows = [r for r in reader if r]
    if header is None or not rows:
        raise ValueError(f"{path} holds no header and rows")
    if label_column and label_column not in header:
        raise ValueError(f"{path} has no label column {label_column!r}; columns: {header}")
    label_at = header.index(label_column) if label_column else -1
    names = [h for i, h in enumerate(header) if i != label_at]
    features = np.empty((len(rows), len(names)), np.float32)
    for n, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"{path} row {n + 2} has {len(row)} fields, header {len(header)}")
        values = [v for i, v in enumerate(row) if i != label_at]
        try:
            features[n] = [float(v) for v in values]
        except ValueError:
            bad = next(names[i] for i, v in enumerate(values) if not _is_number(v))
            raise ValueError(f"{path} row {n + 2}: column {bad!r} is not numeric") from None
    if label_at < 0:
        return features, names, None, None
    raw = [row[label_at] for row in rows]
    classes = _class_names(raw)
    labels = np.array([classes.index(v) for v in raw], np.int32)
    return features, names, labels, classes


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True


def class_indices(names, classes) -> list[int]:
    """Label indices of class names (or of label values / integer indices) given in a config."""
    out = []
    for c in names:
        if isinstance(c, str) and c.isdigit() and (classes is None or c not in classes):
            c = int(c)  # "0,1" on the command line: label indices
        if classes is not None and str(c) in classes:
            out.append(classes.index(str(c)))
        elif isinstance(c, int) and (classes is None or 0 <= c < len(classes)):
            out.append(c)
        else:
            raise ValueError(f"unknown class {c!r}; classes: {classes}")
    return out


def load_csv(path: str, label_column: str = "", normal_classes=(), test_fraction: float = 0.2,
             seed: int = 0, standardize: bool = True) -> Dataset:
    """A Dataset of float32 rows (N, 1, D, 1) from a CSV file (see the module docstring)."""
    x, _, y, classes = read_csv_table(path, label_column)
    xtr, ytr, xte, yte, _ = _split(x, y, test_fraction, seed)
    if normal_classes:
        if y is None:
            raise ValueError("data.normal_classes needs data.label_column")
        keep = np.isin(ytr, class_indices(normal_classes, classes))
        xte, yte = np.concatenate([xte, xtr[~keep]]), np.concatenate([yte, ytr[~keep]])
        xtr, ytr = xtr[keep], ytr[keep]  # other classes' training rows moved to test
    if standardize:
        mean, std = xtr.mean(axis=0), xtr.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # constant columns stay 0 after centring
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    xtr = xtr.astype(np.float32)[:, None, :, None]  # (N, D) -> (N, 1, D, 1)
    xte = xte.astype(np.float32)[:, None, :, None]
    return Dataset(xtr, xte, ytr, yte, name="csv", source=f"csv:{path}", class_names=classes)


@DATA_SOURCES.register("csv")
def load_csv_from_config(cfg) -> Dataset:
    """`load_csv` with the fields of a config's `data` section."""
    return load_csv(cfg.path, cfg.label_column, tuple(cfg.normal_classes),
                    cfg.test_fraction, cfg.split_seed, cfg.standardize)
