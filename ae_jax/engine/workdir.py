"""What the trainer reads from and writes to a workdir before training: the stored config
(a workdir of another model is refused), config.json, summary.txt, and where the data go."""

from __future__ import annotations

import json
import logging
import os

import jax
import numpy as np

from ae_jax.checkpoints import stored_config
from ae_jax.data import Dataset
from ae_jax.files import write_atomic, write_json_atomic
from ae_jax.metric_writers import read_metrics
from ae_jax.parallel import replicate

# Config fields that fix the shapes and meaning of the state: a workdir trained with other
# values cannot be resumed by this config. loss.terms: its names (the weights may change).
SHAPE_FIELDS = ("family", "model", "data.name", "data.image_size", "data.grayscale",
                "num_runs", "seed")
# Fields that fix the optimizer state's structure: changing them needs a new workdir.
OPTIMIZER_FIELDS = tuple(f"{opt}.{field}" for opt in ("optimizer", "discriminator_optimizer")
                         for field in ("name", "schedule", "grad_clip_norm"))


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _leaves(value, prefix: str) -> dict:
    """{dotted field: value} of a nested dict's leaves (a non-dict is its own leaf)."""
    if not isinstance(value, dict):
        return {prefix: value}
    out = {}
    for k, v in value.items():
        out.update(_leaves(v, f"{prefix}.{k}"))
    return out


def differing_fields(stored: dict, new: dict, fields) -> list[str]:
    """"field: stored value (workdir) vs new value (this command)" for each dotted leaf field
    under `fields` whose values differ."""
    out = []
    for field in fields:
        a, b = _leaves(_get(stored, field), field), _leaves(_get(new, field), field)
        for leaf in sorted(set(a) | set(b)):
            if json.dumps(a.get(leaf), sort_keys=True) != json.dumps(b.get(leaf), sort_keys=True):
                out.append(f"{leaf}: {a.get(leaf)!r} (workdir) vs {b.get(leaf)!r} (this command)")
    return out


def workdir_config(workdir: str) -> dict | None:
    """The config a workdir was trained with: its newest checkpoint's (the one trusted), or
    the config.json copy when it has no checkpoint; None for a new workdir (an unreadable
    copy without a checkpoint is ignored: nothing was trained)."""
    stored = stored_config(workdir)
    if stored is not None:
        return stored
    path = os.path.join(workdir, "config.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def check_workdir_config(config_dict: dict, workdir: str) -> None:
    """Refuse to resume a workdir whose stored config describes a different model or
    optimizer, naming each differing field; log the fields that may change."""
    stored = stored_config(workdir)
    if stored is None:
        return
    diffs = differing_fields(stored, config_dict, SHAPE_FIELDS)
    terms = [sorted(_get(c, "loss.terms") or {}) for c in (stored, config_dict)]
    if terms[0] != terms[1]:
        diffs.append(f"loss.terms names: {terms[0]} (workdir) vs {terms[1]} (this command)")
    if diffs:
        raise ValueError(f"workdir {workdir} holds a run of a different model: "
                         f"{'; '.join(diffs)}. Use another --workdir, or the workdir's values")
    opt = differing_fields(stored, config_dict, OPTIMIZER_FIELDS)
    if opt:
        raise ValueError(f"workdir {workdir} was trained with another optimizer ({'; '.join(opt)}"
                         "): its optimizer state cannot be carried over. Resume with the "
                         "workdir's values, or start a new --workdir")
    changed = differing_fields(stored, config_dict, ("optimizer", "discriminator_optimizer",
                                                     "loss", "batch_size", "num_epochs"))
    for line in changed:
        logging.info("resuming with a changed value: %s", line)


def write_workdir_files(workdir: str, config_dict: dict, summary: str) -> None:
    """config.json (the resolved config) and summary.txt; process 0 only."""
    if jax.process_index() != 0:
        return
    write_json_atomic(os.path.join(workdir, "config.json"), config_dict)
    write_atomic(os.path.join(workdir, "summary.txt"), summary)


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


def final_summary(workdir: str) -> str:
    """The line a finished command ends with: the last epoch's test metrics (means over
    runs) and where the plots, checkpoints and metrics are."""
    rows = [r for r in read_metrics(workdir) if r.get("split") == "test"]
    if not rows:
        return f"done: nothing trained in {workdir}"
    last = rows[-1]
    numbers = ", ".join(f"{k} {float(np.mean(v)):.4f}" for k, v in last.items()
                        if k not in ("epoch", "split") and not isinstance(v, str))
    return (f"done: epoch {last['epoch']}, test {numbers}; plots in "
            f"{os.path.join(workdir, 'plots')}, checkpoints in "
            f"{os.path.join(workdir, 'checkpoints')}, metrics in "
            f"{os.path.join(workdir, 'metrics.jsonl')}")
