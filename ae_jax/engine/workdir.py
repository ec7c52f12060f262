"""What the trainer reads from and writes to a workdir before training: the stored config
(a workdir of another model is refused), config.json, summary.txt, and where the data go."""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from ae_jax.data import Dataset
from ae_jax.parallel import replicate

# Config fields that fix the shapes of the state: a workdir trained with other values cannot
# be resumed by this config.
SHAPE_FIELDS = ("family", "model", "data.name", "data.image_size", "data.grayscale",
                "loss.terms")


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def check_workdir_config(config_dict: dict, workdir: str) -> None:
    """Refuse a workdir whose stored config describes a different model."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        stored = json.load(f)
    diffs = [
        f"{field}: {_get(stored, field)!r} -> {_get(config_dict, field)!r}"
        for field in SHAPE_FIELDS
        if json.dumps(_get(stored, field), sort_keys=True)
        != json.dumps(_get(config_dict, field), sort_keys=True)
    ]
    if diffs and os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise ValueError(
            f"workdir {workdir} holds a run of a different model ({'; '.join(diffs)}); "
            "use another --workdir, or delete this one to start afresh"
        )


def write_workdir_files(workdir: str, config_dict: dict, summary: str) -> None:
    """config.json (the resolved config) and summary.txt; process 0 only."""
    if jax.process_index() != 0:
        return
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump(config_dict, f, indent=2, sort_keys=True)
    with open(os.path.join(workdir, "summary.txt"), "w") as f:
        f.write(summary)


def one_class_indices(labels: np.ndarray, classes) -> np.ndarray:
    """(R, N_r) training rows for one-class runs: row r lists examples of class classes[r].

    Every run keeps the first N_r = min_r |class r| examples of its class (all 6,000 on
    Fashion-MNIST), so the R runs have equal epochs and train as one vmapped program.
    """
    members = [np.flatnonzero(labels == c) for c in classes]
    empty = [c for c, m in zip(classes, members, strict=True) if len(m) == 0]
    if empty:
        raise ValueError(f"data.one_class: no training examples of class(es) {empty}")
    n = min(len(m) for m in members)
    return np.stack([m[:n] for m in members]).astype(np.int32)  # (R, N_r)


def run_subsets(config, dataset: Dataset) -> np.ndarray | None:
    """`config.data.one_class` (one class per run) as the EpochRunner's run_indices: (R, N_r)
    for num_runs = R > 1, (N_r,) for one run; None when unset (every run sees all data)."""
    classes = tuple(config.data.one_class or ())
    if not classes:
        return None
    if len(classes) != config.num_runs:
        raise ValueError(f"data.one_class names {len(classes)} classes for num_runs = "
                         f"{config.num_runs}; give one class per run")
    if dataset.train_labels is None:
        raise ValueError(f"data.one_class needs labels, and {dataset.name} has none")
    table = one_class_indices(dataset.train_labels, classes)
    return table if config.num_runs > 1 else table[0]


def choose_placement(placement: str, nbytes: int, device=None, fraction: float = 0.5) -> str:
    """Resolve `data.placement`: "device" (the dataset lives on the device, batches are
    gathered inside the compiled epoch), "host" (streaming: host batches prefetched), or
    "auto": "host" when the data would take more than `fraction` of the device's memory.
    Backends that report no memory limit (CPU, whose device memory is the host's) get
    "device"."""
    if placement not in ("auto", "device", "host"):
        raise ValueError(f"unknown data.placement {placement!r}: use auto, device or host")
    if placement != "auto":
        return placement
    stats = (device or jax.local_devices()[0]).memory_stats() or {}
    limit = stats.get("bytes_limit")
    return "host" if limit and nbytes > fraction * limit else "device"


def with_label_column(rows: np.ndarray, labels, split: str, dataset: Dataset) -> np.ndarray:
    """(N, D) rows -> (N, D + 1) with the class label as the last column, in the rows' dtype
    (ae_jax/forward.py split_labels reads it back)."""
    if labels is None:
        raise ValueError(f"a conditional model needs class labels; dataset {dataset.name!r} "
                         f"has none for its {split} split")
    if rows.dtype == np.uint8 and labels.max() > 255:
        raise ValueError(f"dataset {dataset.name!r}: labels up to {labels.max()} do not fit "
                         "the uint8 rows of a conditional model (at most 256 classes)")
    return np.concatenate([rows, labels[:, None].astype(rows.dtype)], axis=1)


def place_data(dataset: Dataset, placement: str, mesh, with_labels: bool = False):
    """(train, test, placement): the splits flattened to (N, D) (N, D + 1 with a label
    column `with_labels`), replicated on the mesh for "device", left as host numpy arrays for
    "host" (see `ae_jax.loops.EpochRunner`)."""
    train = dataset.train.reshape(len(dataset.train), -1)  # (N, H, W, C) -> (N, D)
    test = dataset.test.reshape(len(dataset.test), -1)
    if with_labels:
        train = with_label_column(train, dataset.train_labels, "train", dataset)
        test = with_label_column(test, dataset.test_labels, "test", dataset)
    placement = choose_placement(placement, train.nbytes + test.nbytes)
    if placement == "device":
        train, test = replicate(train, mesh), replicate(test, mesh)
    return train, test, placement
