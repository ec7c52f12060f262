"""Image datasets from the TensorFlow Datasets catalog, read fully into host numpy arrays.

What needs TensorFlow (tensorflow-datasets 4.9.10): *preparing* a catalog image dataset does
(the builders read their downloads with `tf.io.gfile` and PNG-encode numpy images with
`tf.image`), so `download_and_prepare` runs only where TensorFlow is installed, and then writes
ArrayRecord files. *Reading* does not: ArrayRecord data is read with `as_data_source` (the
`array_record` package, images decoded with PIL). TFRecord data prepared elsewhere is read
through `tf.data` when TensorFlow is importable, and is otherwise refused with the command
that re-prepares it as ArrayRecord. TFDS's own GCS lookups are off by default in this version
(`gcs_utils._is_gcs_disabled`), so nothing here touches the network before `_network_reachable`.
"""

from __future__ import annotations

import difflib
import importlib.util

import numpy as np

from ae_jax.data.dataset import Dataset, DataUnavailableError
from ae_jax.data.download import reachable

_PROBE_HOST = ("storage.googleapis.com", 443)  # hosts MNIST's files and most TFDS downloads
_CHUNK = 4096  # examples per bulk read from a data source


def _network_reachable(timeout: float) -> bool:
    """Whether a TCP connection to the download host (or the HTTPS proxy) opens in time."""
    host, port = _PROBE_HOST
    return reachable(f"https://{host}:{port}", timeout)


def _tf_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def _how_to_provide(name: str, root: str) -> str:
    return (
        "Ways to provide the data:\n"
        "  (1) for MNIST-format datasets, put the IDX files (train-images-idx3-ubyte[.gz], "
        "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) "
        "in a directory and pass --config.data.data_dir=DIR; on Debian/Ubuntu "
        "`apt-get install dataset-fashion-mnist` puts Fashion-MNIST in "
        "/usr/share/datasets/fashion-mnist, which is found automatically;\n"
        f"  (2) prepare it with TFDS (and TensorFlow) on a machine with network, e.g. "
        f"`tfds build {name}`, and copy that machine's ~/tensorflow_datasets to {root} (or "
        "point TFDS_DATA_DIR / --config.data.tfds_data_dir at the copy);\n"
        "  (3) use --config.data.name=digits (scikit-learn's bundled 8x8 digits, no download), "
        "or an .npz file or an image folder."
    )


def _make_builder(tfds, name: str, data_dir: str | None):
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        known = tfds.list_builders(with_community_datasets=False)
        close = difflib.get_close_matches(name.split(":")[0].split("/")[0], known, n=5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise DataUnavailableError(
            f"{name!r} is not a TFDS catalog dataset (nor prepared under data_dir "
            f"{data_dir or tfds.core.constants.DATA_DIR}).{hint} The catalog: "
            "https://www.tensorflow.org/datasets/catalog/overview"
        ) from e
    except (ValueError, AssertionError, ImportError) as e:
        raise DataUnavailableError(f"cannot make a TFDS builder for {name!r}: {e}") from e


def _prepare(builder, name: str, root: str, connect_timeout_s: float) -> None:
    """Downloads and prepares `builder`'s dataset, failing fast where that cannot work."""
    if not _network_reachable(connect_timeout_s):
        raise DataUnavailableError(
            f"TFDS dataset {name!r} is not prepared under data_dir {root} (no {builder.data_path}"
            f" with dataset_info.json) and there is no network to download it (no connection to "
            f"{_PROBE_HOST[0]} within {connect_timeout_s:g} s).\n" + _how_to_provide(name, root)
        )
    if not _tf_available():
        raise DataUnavailableError(
            f"TFDS dataset {name!r} is not prepared under data_dir {root}, and preparing it "
            "needs TensorFlow (TFDS decodes downloads and encodes images with it); reading a "
            "prepared dataset does not. `pip install tensorflow-cpu` and retry, or:\n"
            + _how_to_provide(name, root)
        )
    file_format = "array_record" if importlib.util.find_spec("array_record") else None
    try:
        builder.download_and_prepare(file_format=file_format)
    except Exception as e:  # network, checksum, disk space: all mean "no data"
        raise DataUnavailableError(
            f"preparing TFDS dataset {name!r} under {root} failed: {e}\n"
            + _how_to_provide(name, root)
        ) from e


def _collect(examples, n: int, with_labels: bool):
    """Stacks `n` example dicts into uint8 images (N, H, W, C) and int32 labels."""
    images = labels = None
    for i, ex in enumerate(examples):
        image = np.asarray(ex["image"])
        if images is None:
            images = np.empty((n, *image.shape), image.dtype)
            labels = np.empty((n,), np.int32) if with_labels else None
        if image.shape != images.shape[1:]:
            raise ValueError(f"images differ in shape: {image.shape} vs {images.shape[1:]}")
        images[i] = image
        if with_labels:
            labels[i] = ex["label"]
    if images is None or i + 1 != n:
        raise ValueError(f"expected {n} examples, read {0 if images is None else i + 1}")
    return images, labels


def _read_split(tfds, builder, split: str, with_labels: bool):
    """(images, labels) of one split: ArrayRecord without TF, else TFRecord."""
    try:
        source = builder.as_data_source(split=split)
    except (NotImplementedError, ImportError):  # not prepared as ArrayRecord
        source = None
    if source is not None:
        n = len(source)
        examples = (
            ex
            for start in range(0, n, _CHUNK)
            for ex in source.__getitems__(range(start, min(start + _CHUNK, n)))
        )
    elif _tf_available():
        arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        labels = arrays["label"].astype(np.int32) if with_labels else None
        return np.asarray(arrays["image"]), labels
    else:
        name = builder.info.name
        raise DataUnavailableError(
            f"TFDS dataset {name!r} under {builder.data_dir} is prepared as "
            f"{builder.info.file_format.value if builder.info.file_format else 'TFRecord'}, "
            "which only TensorFlow reads; without it ae_jax reads ArrayRecord: prepare it with "
            f"`tfds build {name} --file_format=array_record`, or `pip install tensorflow-cpu`")
    return _collect(examples, n, with_labels)


def load_tfds(name: str, data_dir: str | None = None, connect_timeout_s: float = 3.0) -> Dataset:
    """Load a TFDS catalog image dataset (e.g. 'mnist', 'fashion_mnist', 'cifar10') fully into
    host numpy arrays.

    Uses the 'image' and (if present) 'label' features. Without a 'test' split, the last 10% of
    'train' (in TFDS's deterministic order) is the test set. Raises `DataUnavailableError`
    within about `connect_timeout_s` when the dataset is not prepared under `data_dir`
    (default: TFDS_DATA_DIR or ~/tensorflow_datasets) and cannot be downloaded.
    """
    import tensorflow_datasets as tfds

    builder = _make_builder(tfds, name, data_dir)
    root = str(builder.data_dir_root)
    if not builder.is_prepared():
        _prepare(builder, name, root, connect_timeout_s)
    features = builder.info.features
    if "image" not in features.keys():
        raise ValueError(f"TFDS dataset {name!r} has no 'image' feature: {list(features.keys())}")
    with_labels = "label" in features.keys()
    label = features["label"] if with_labels else None
    class_names = (
        tuple(label.names) if isinstance(label, tfds.features.ClassLabel) else None
    )
    splits = builder.info.splits
    if "train" not in splits:
        raise ValueError(f"TFDS dataset {name!r} has no 'train' split: {list(splits)}")
    train, train_labels = _read_split(tfds, builder, "train", with_labels)
    if "test" in splits:
        test, test_labels = _read_split(tfds, builder, "test", with_labels)
    else:
        cut = len(train) - max(1, len(train) // 10)
        test, train = train[cut:], train[:cut]
        if with_labels:
            test_labels, train_labels = train_labels[cut:], train_labels[:cut]
        else:
            test_labels = None
    if train.dtype != np.uint8:
        raise ValueError(f"TFDS dataset {name!r}: images are {train.dtype}, expected uint8")
    return Dataset(
        train=train, test=test, train_labels=train_labels, test_labels=test_labels,
        name=name, source=f"tfds:{name} ({root})", class_names=class_names,
    )


TFDS_PREFIX = "tfds:"  # data.name="tfds:<catalog name>" asks TFDS for a catalog dataset


def tfds_from_config(cfg) -> Dataset:
    """data.name="tfds:<catalog name>" (e.g. tfds:cifar10), read from tfds_data_dir."""
    return load_tfds(cfg.name[len(TFDS_PREFIX):], cfg.tfds_data_dir or None)
