"""The MNIST family's downloads (ae_jax/data/download.py) against a local HTTP server: no
network beyond 127.0.0.1, small IDX files made here, the checksum table patched to them."""

import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading

import numpy as np
import pytest

from ae_jax.data import DataUnavailableError, download, idx, load_dataset
from configs import default

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


def _idx_bytes(array):
    """An unsigned-byte IDX file: magic 0 0 0x08 ndim, big-endian uint32 dims, the data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


class _Server:
    """ThreadingHTTPServer on 127.0.0.1 serving `root`; `requests` lists every GET path."""

    def __init__(self, root):
        self.requests = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A server whose /<name>/ folders hold four small IDX .gz files per dataset; the
    checksum table patched to their MD5s; the cache in tmp_path; no proxy, no system
    folders."""
    rng = np.random.default_rng(0)
    arrays, served = {}, tmp_path / "served"
    for name in download.MD5:
        (served / name).mkdir(parents=True)
        arrays[name] = {
            "train-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28)),
            "train-labels-idx1-ubyte.gz": rng.integers(0, 10, (12,)),
            "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28)),
            "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, (5,)),
        }
        md5 = {}
        for filename, a in arrays[name].items():
            data = gzip.compress(_idx_bytes(a), mtime=0)
            (served / name / filename).write_bytes(data)
            md5[filename] = hashlib.md5(data).hexdigest()
        monkeypatch.setitem(download.MD5, name, md5)
        monkeypatch.setitem(download.IDX_MD5, name, {})
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(idx, "KNOWN_DIRS", {})
    server = _Server(served)
    monkeypatch.setenv(download.MIRROR_ENV, server.url + "/{name}/")
    server.arrays, server.served = arrays, served
    yield server
    server.close()


def _cfg(name, **kw):
    cfg = default.get_config().data
    cfg.name = name
    cfg.update(kw)
    return cfg


def _gz_requests(server):
    return [p for p in server.requests if p.endswith(".gz")]


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "kmnist"])
def test_empty_cache_downloads_the_four_files_and_returns_their_arrays(mirror, tmp_path, name):
    ds = load_dataset(_cfg(name))
    cache = tmp_path / "cache" / "ae_jax" / "datasets" / name
    assert sorted(_gz_requests(mirror)) == sorted(f"/{name}/{f}" for f in download.FILES)
    assert sorted(os.listdir(cache)) == sorted(download.FILES)  # no .part left over
    made = mirror.arrays[name]
    assert ds.train.shape == (12, 28, 28, 1) and ds.test.shape == (5, 28, 28, 1)
    assert ds.train.dtype == np.uint8
    np.testing.assert_array_equal(ds.train[..., 0], made["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(ds.test[..., 0], made["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(ds.train_labels, made["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(ds.test_labels, made["t10k-labels-idx1-ubyte.gz"])
    assert ds.source == f"idx:{cache}"
    assert len(ds.class_names) == 10


def test_a_second_load_does_not_download_again(mirror):
    first = load_dataset(_cfg("mnist"))
    assert len(_gz_requests(mirror)) == 4
    second = load_dataset(_cfg("mnist"))
    assert len(_gz_requests(mirror)) == 4
    np.testing.assert_array_equal(first.train, second.train)


def test_data_dir_receives_the_download_and_only_missing_files_are_fetched(mirror, tmp_path):
    data_dir = tmp_path / "mine"
    data_dir.mkdir()
    kept = "train-images-idx3-ubyte.gz"
    (data_dir / kept).write_bytes((mirror.served / "mnist" / kept).read_bytes())
    ds = load_dataset(_cfg("mnist", data_dir=str(data_dir)))
    assert sorted(_gz_requests(mirror)) == sorted(f"/mnist/{f}" for f in download.FILES
                                                  if f != kept)
    assert ds.source == f"idx:{data_dir}"


def test_a_cached_file_with_the_wrong_bytes_is_downloaded_again(mirror, tmp_path):
    load_dataset(_cfg("mnist"))
    cached = tmp_path / "cache" / "ae_jax" / "datasets" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    cached.write_bytes(b"garbage")
    ds = load_dataset(_cfg("mnist"))
    assert _gz_requests(mirror)[4:] == ["/mnist/t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(ds.test_labels,
                                  mirror.arrays["mnist"]["t10k-labels-idx1-ubyte.gz"])


def test_a_checksum_mismatch_is_refused_and_leaves_no_file(mirror, tmp_path, monkeypatch):
    bad = "t10k-images-idx3-ubyte.gz"
    expected = "0" * 32
    monkeypatch.setitem(download.MD5["mnist"], bad, expected)
    actual = hashlib.md5((mirror.served / "mnist" / bad).read_bytes()).hexdigest()
    with pytest.raises(download.ChecksumError) as err:
        load_dataset(_cfg("mnist"))
    message = str(err.value)
    assert bad in message and expected in message and actual in message
    assert f"{mirror.url}/mnist/{bad}" in message
    cache = tmp_path / "cache" / "ae_jax" / "datasets" / "mnist"
    assert bad not in os.listdir(cache)
    assert not [f for f in os.listdir(cache) if f.endswith(".part")]


def test_a_404_on_the_first_mirror_falls_through_to_the_second(mirror, monkeypatch):
    monkeypatch.setenv(download.MIRROR_ENV,
                       f"{mirror.url}/nowhere/{{name}}/, {mirror.url}/{{name}}/")
    ds = load_dataset(_cfg("mnist"))
    requests = _gz_requests(mirror)
    assert sorted(requests) == sorted([f"/nowhere/mnist/{f}" for f in download.FILES]
                                      + [f"/mnist/{f}" for f in download.FILES])
    np.testing.assert_array_equal(ds.train_labels,
                                  mirror.arrays["mnist"]["train-labels-idx1-ubyte.gz"])


def test_no_reachable_mirror_is_the_clear_error(mirror, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{port}/")
    with pytest.raises(DataUnavailableError, match="Ways to provide the data") as err:
        load_dataset(_cfg("mnist"))
    assert f"127.0.0.1:{port}" in str(err.value) and "tfds:mnist" in str(err.value)


def test_download_off_uses_the_cache_but_fetches_nothing(mirror):
    with pytest.raises(DataUnavailableError, match="data.download is off"):
        load_dataset(_cfg("mnist", download=False))
    assert not mirror.requests
    load_dataset(_cfg("mnist"))
    ds = load_dataset(_cfg("mnist", download=False))
    assert len(_gz_requests(mirror)) == 4 and ds.train.shape == (12, 28, 28, 1)


def test_the_default_mirrors_and_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    assert download.mirrors("mnist") == ("https://ossci-datasets.s3.amazonaws.com/mnist/",)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert download.cache_dir("kmnist") == str(tmp_path / "ae_jax" / "datasets" / "kmnist")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert download.cache_dir("mnist") == os.path.expanduser("~/.cache/ae_jax/datasets/mnist")


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_the_fashion_mnist_checksums_match_the_real_files():
    """Debian gzips the files anew (another gzip header, so other .gz MD5s); the IDX bytes
    inside are the published ones, and checksum_ok accepts the files."""
    for filename in download.FILES:
        path = os.path.join(DEBIAN_FASHION, filename)
        with gzip.open(path, "rb") as f:
            content_md5 = hashlib.md5(f.read()).hexdigest()
        assert content_md5 == download.IDX_MD5["fashion_mnist"][filename], filename
        assert download.checksum_ok("fashion_mnist", filename, path)[0], filename
