"""The one dataset type every source returns.

Arrays stay in their storage dtype (uint8 for images, float32 for tabular data) on the host;
the trainer moves them to the device once and scales them inside the compiled step with
`to_float`, so nothing is copied between host and device per step.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ae_jax.registry import Registry

# name -> fn(data_config) -> Dataset; each source module of this package registers its own
DATA_SOURCES: Registry = Registry("data source", field="data.name", package="ae_jax.data")


class DataUnavailableError(RuntimeError):
    """Raised when a dataset cannot be found locally and cannot be downloaded."""

    USER_ERROR = True  # ae_jax/errors.py: one line, exit 2


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Train and test examples of one dataset, images as (N, H, W, C).

    Attributes:
      train, test: examples, uint8 in [0, 255] (images) or float32 (already scaled).
      train_labels, test_labels: int32 class labels of shape (N,), or None.
      name: the dataset's name as configured (e.g. "fashion_mnist").
      source: where the arrays came from, e.g. "idx:/usr/share/datasets/fashion-mnist".
      class_names: one name per label value, or None.
      extra: further per-example arrays a source provides (e.g. the font index), keyed by
        "<split>_<name>".
    """

    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray | None
    test_labels: np.ndarray | None
    name: str
    source: str
    class_names: tuple[str, ...] | None = None
    extra: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.train.ndim != 4 or self.test.ndim != 4:
            raise ValueError(
                f"dataset {self.name!r}: examples must be (N, H, W, C); got train "
                f"{self.train.shape} and test {self.test.shape}"
            )
        if self.train.shape[1:] != self.test.shape[1:]:
            raise ValueError(
                f"dataset {self.name!r}: train examples are {self.train.shape[1:]} but test "
                f"examples are {self.test.shape[1:]}"
            )
        for split, x, y in (("train", self.train, self.train_labels),
                            ("test", self.test, self.test_labels)):
            if y is not None and len(y) != len(x):
                raise ValueError(
                    f"dataset {self.name!r}: {len(x)} {split} examples but {len(y)} labels"
                )

    @property
    def example_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one example."""
        return tuple(self.train.shape[1:])

    @property
    def num_classes(self) -> int | None:
        if self.class_names is not None:
            return len(self.class_names)
        if self.train_labels is None:
            return None
        return int(max(self.train_labels.max(), self.test_labels.max())) + 1

    def describe(self) -> str:
        """One line for the log: name, source, sizes and shape."""
        return (
            f"{self.name} from {self.source}: {len(self.train)} train / {len(self.test)} test "
            f"examples of shape {self.example_shape}, dtype {self.train.dtype}"
        )


def to_float(x):
    """Examples in [0, 1] as float32: uint8 is divided by 255, floats pass through.

    Works on numpy and jax arrays alike, so the same call scales a batch inside a jitted step.
    """

    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32)
