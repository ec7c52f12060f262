import gzip
import os
import struct

import numpy as np
import pytest
from PIL import Image

from ae_jax.data import DataUnavailableError, load_dataset, to_float
from ae_jax.data.idx import read_idx
from configs import default


def _data_cfg(**kw):
    cfg = default.get_config().data
    cfg.update(dict(name="digits", image_size=16))
    cfg.update(kw)
    return cfg


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, (20,)),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (7, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, (7,)),
    }
    for name, a in arrays.items():
        _write_idx(str(tmp_path / name), a)
    return tmp_path, arrays


def test_idx_files_round_trip(idx_dir):
    directory, arrays = idx_dir
    ds = load_dataset(_data_cfg(name="fashion_mnist", data_dir=str(directory)))
    assert ds.train.shape == (20, 28, 28, 1) and ds.train.dtype == np.uint8
    assert ds.test.shape == (7, 28, 28, 1)
    np.testing.assert_array_equal(ds.train[..., 0], arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(ds.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert ds.source == f"idx:{directory}"
    assert ds.class_names[9] == "Ankle boot"


def test_corrupt_idx_file_is_reported(tmp_path):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x10abc")
    with pytest.raises(ValueError, match="header says"):
        read_idx(str(path))


@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_is_found_without_configuration():
    ds = load_dataset(_data_cfg(name="fashion_mnist", test_limit=100))
    assert ds.train.shape == (60_000, 28, 28, 1) and ds.test.shape == (100, 28, 28, 1)
    assert ds.source == "idx:/usr/share/datasets/fashion-mnist"
    assert set(np.unique(ds.train_labels)) == set(range(10))


def test_digits_split_and_scale():
    ds = load_dataset(_data_cfg())
    assert ds.train.shape == (1438, 8, 8, 1) and ds.test.shape == (359, 8, 8, 1)
    assert ds.train.max() == 255 and ds.train.min() == 0
    x = to_float(ds.train)
    assert x.dtype == np.float32 and x.max() == 1.0
    again = load_dataset(_data_cfg())
    np.testing.assert_array_equal(ds.test, again.test)  # the split is fixed


def test_limits():
    ds = load_dataset(_data_cfg(train_limit=100, test_limit=10))
    assert len(ds.train) == 100 and len(ds.train_labels) == 100 and len(ds.test) == 10


def test_fonts_source_keeps_font_index():
    ds = load_dataset(_data_cfg(name="fonts", test_fraction=0.0))
    assert ds.train.shape == (96, 7, 5, 1)
    np.testing.assert_array_equal(ds.extra["train_font"], np.repeat([0, 1, 2], 32))


def test_image_folder(tmp_path):
    for cls, value in (("circles", 40), ("squares", 200)):
        os.makedirs(tmp_path / cls)
        for i in range(5):
            img = np.full((30, 20, 3), value + i, np.uint8)
            Image.fromarray(img).save(tmp_path / cls / f"{i}.png")
    ds = load_dataset(_data_cfg(name="image_folder", data_dir=str(tmp_path), test_fraction=0.2))
    assert ds.train.shape == (8, 16, 16, 1) and ds.test.shape == (2, 16, 16, 1)
    assert ds.class_names == ("circles", "squares")
    rgb = load_dataset(_data_cfg(name="image_folder", data_dir=str(tmp_path), grayscale=False))
    assert rgb.train.shape[-1] == 3


def test_missing_image_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataUnavailableError, match="does not exist"):
        load_dataset(_data_cfg(name="image_folder", data_dir=str(tmp_path / "nope")))
    with pytest.raises(DataUnavailableError, match="no images"):
        load_dataset(_data_cfg(name="image_folder", data_dir=str(tmp_path)))


def test_npz(mnist_like_npz, tmp_path):
    ds = load_dataset(_data_cfg(name="npz", path=mnist_like_npz))
    assert ds.train.shape == (64, 28, 28, 1) and ds.test_labels.dtype == np.int32
    flat = tmp_path / "flat.npz"
    np.savez(flat, x_train=np.random.rand(10, 5).astype(np.float32),
             x_test=np.random.rand(4, 5).astype(np.float32))
    assert load_dataset(_data_cfg(name="npz", path=str(flat))).train.shape == (10, 1, 5, 1)
    with pytest.raises(DataUnavailableError, match="does not exist"):
        load_dataset(_data_cfg(name="npz", path=str(tmp_path / "missing.npz")))
