"""Tests of the TFDS source that need no network and no TensorFlow.

`tfds.testing.mock_data` is not used: in tensorflow-datasets 4.9.10 its fake data source's
`__getitems__` is not bound to the mock (TypeError), and `is_prepared()` stays False under it.
Instead a tiny builder is prepared for real into a temporary data_dir (its images are given as
PIL images, which TFDS encodes without TensorFlow), then read back by `load_tfds`.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import time

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from ae_jax.data import download, tfds_source  # noqa: E402
from ae_jax.data.dataset import DataUnavailableError  # noqa: E402
from ae_jax.data.tfds_source import load_tfds  # noqa: E402

_NAMES = ["zero", "one", "two"]
_N = 20


class TinyAeImages(tfds.core.GeneratorBasedBuilder):
    """20 constant 8x8 grey images, value 10*i and label i % 3; a 'train' split only."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 1)),
                "label": tfds.features.ClassLabel(names=_NAMES),
            }),
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        from PIL import Image

        for i in range(_N):
            image = Image.fromarray(np.full((8, 8), 10 * i, np.uint8))
            yield i, {"image": image, "label": i % 3}


def _no_network(timeout):
    raise AssertionError("the network must not be probed for a prepared dataset")


@pytest.fixture
def prepared(tmp_path):
    """A data_dir holding TinyAeImages prepared as ArrayRecord."""
    TinyAeImages(data_dir=str(tmp_path)).download_and_prepare(file_format="array_record")
    return tmp_path


def _check_tiny(ds):
    assert ds.train.shape == (18, 8, 8, 1) and ds.test.shape == (2, 8, 8, 1)
    assert ds.train.dtype == np.uint8 and ds.train_labels.dtype == np.int32
    assert ds.class_names == tuple(_NAMES)
    images = np.concatenate([ds.train, ds.test])
    labels = np.concatenate([ds.train_labels, ds.test_labels])
    values = images[:, 0, 0, 0].astype(int)
    assert (images == values[:, None, None, None]).all()  # each image constant
    assert sorted(values) == [10 * i for i in range(_N)]  # every example exactly once
    np.testing.assert_array_equal(labels, (values // 10) % 3)  # labels stay with images


def test_offline_fail_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "_network_reachable", lambda timeout: False)
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as err:
        load_tfds("mnist", data_dir=str(tmp_path))
    assert time.monotonic() - start < 15
    message = str(err.value)
    assert "data_dir" in message and "digits" in message and str(tmp_path) in message


def test_unknown_name_fails_fast(tmp_path):
    start = time.monotonic()
    with pytest.raises(DataUnavailableError, match="not a TFDS catalog dataset"):
        load_tfds("not_a_dataset", data_dir=str(tmp_path))
    with pytest.raises(DataUnavailableError, match="mnist"):  # a close match is suggested
        load_tfds("mnsit", data_dir=str(tmp_path))
    assert time.monotonic() - start < 15


def test_network_probe(monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(tfds_source, "_PROBE_HOST", server.getsockname())
        monkeypatch.delenv("https_proxy", raising=False)
        monkeypatch.delenv("HTTPS_PROXY", raising=False)
        assert tfds_source._network_reachable(2.0)
    # A probe that hangs (e.g. in a DNS lookup) is abandoned after about the timeout.
    def hang(*args, **kwargs):
        time.sleep(30)
        raise OSError("timed out")

    monkeypatch.setattr(download.socket, "create_connection", hang)  # the shared probe
    start = time.monotonic()
    assert not tfds_source._network_reachable(0.2)
    assert time.monotonic() - start < 5


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is not None,
                    reason="TensorFlow is installed, so preparing would be attempted")
def test_prepare_without_tensorflow_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "_network_reachable", lambda timeout: True)
    with pytest.raises(DataUnavailableError, match="TensorFlow"):
        load_tfds("mnist", data_dir=str(tmp_path))


def test_reads_prepared_array_record(prepared, monkeypatch):
    monkeypatch.setattr(tfds_source, "_network_reachable", _no_network)
    ds = load_tfds("tiny_ae_images", data_dir=str(prepared))
    _check_tiny(ds)
    assert ds.name == "tiny_ae_images" and ds.source == f"tfds:tiny_ae_images ({prepared})"


def test_tfrecord_without_tensorflow_is_refused_with_the_fix(prepared, monkeypatch):
    """TFRecord data (TFDS's default format elsewhere) needs TensorFlow; without it the
    error names the command that re-prepares it as ArrayRecord."""
    version_dir = prepared / "tiny_ae_images" / "1.0.0"
    for path in sorted(version_dir.glob("*.array_record-*")):
        path.rename(str(path).replace(".array_record-", ".tfrecord-"))
    info_path = version_dir / "dataset_info.json"
    info = json.loads(info_path.read_text())
    info["fileFormat"] = "tfrecord"
    info_path.write_text(json.dumps(info))

    monkeypatch.setattr(tfds_source, "_network_reachable", _no_network)
    monkeypatch.setattr(tfds_source, "_tf_available", lambda: False)
    with pytest.raises(DataUnavailableError, match=r"prepared as tfrecord.*tfds build "
                       r"tiny_ae_images --file_format=array_record"):
        load_tfds("tiny_ae_images", data_dir=str(prepared))
