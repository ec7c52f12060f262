"""The MNIST family's four gzipped IDX files, downloaded into a cache folder and checked
against their published MD5 checksums (as keras.datasets and torchvision do).

Datasets: mnist, fashion_mnist, kmnist (not EMNIST, one large zip of all its splits: read
it as tfds:emnist). The files go to `data.data_dir` when set, else
`$XDG_CACHE_HOME/ae_jax/datasets/<name>` (`~/.cache/...`). Each file is written to a temporary
`.<file>.<random>.part` in that folder, its MD5 checked, and only then renamed to its final
name, so an interrupted or corrupt download never leaves a file that looks complete. A file
already there is checked and kept.

`AE_JAX_DATA_MIRROR` replaces the mirrors: one or more base URLs (comma or space
separated, tried in order; `{name}` in a URL becomes the dataset's name), e.g.
`AE_JAX_DATA_MIRROR=http://files.lan/datasets/{name}/`.

Checksums: the `.gz` MD5s are torchvision's (torchvision/datasets/mnist.py: MNIST,
FashionMNIST, KMNIST `resources`; many other loaders list the same values). The MD5s of the
decompressed IDX bytes (MNIST, Fashion-MNIST; as other loaders list them) also accept a
re-compressed copy of the same data: Debian's dataset-fashion-mnist ships the files gzipped
anew (other `.gz` bytes, the same IDX bytes).
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import http.client
import logging
import os
import re
import socket
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from ae_jax.data.dataset import DataUnavailableError

FILES = (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
)

MIRRORS = {  # base URLs, tried in order on a network error
    # yann.lecun.com/exdb/mnist no longer serves the files; torchvision's copy:
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",),
    "fashion_mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    "kmnist": ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
}

MD5 = {  # the published MD5 of each .gz file
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "kmnist": {
        "train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
        "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
        "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
        "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134",
    },
}

IDX_MD5 = {  # the MD5 of each file's decompressed IDX bytes, where published
    "mnist": {
        "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

MIRROR_ENV = "AE_JAX_DATA_MIRROR"
CONNECT_TIMEOUT_S = 3.0  # a mirror's host must accept a TCP connection within this
READ_TIMEOUT_S = 60.0  # ... and then send something at least this often
_CHUNK = 1 << 20  # bytes per read
_STALE_PART_S = 24 * 3600  # .part files older than this are left-overs of a killed download


class ChecksumError(DataUnavailableError):
    """A file's bytes do not have the published checksum."""


def cache_dir(name: str) -> str:
    """`$XDG_CACHE_HOME/ae_jax/datasets/<name>` (XDG_CACHE_HOME defaults to ~/.cache)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "ae_jax", "datasets", name)


def mirrors(name: str) -> tuple[str, ...]:
    """The base URLs to try for `name`: $AE_JAX_DATA_MIRROR's if set, else MIRRORS[name]."""
    override = os.environ.get(MIRROR_ENV, "").strip()
    if override:
        return tuple(u.replace("{name}", name) for u in re.split(r"[,\s]+", override) if u)
    return MIRRORS[name]


def _url(base: str, filename: str) -> str:
    return base.rstrip("/") + "/" + filename


def _md5_of(path: str, decompress: bool = False) -> str:
    digest = hashlib.md5()
    with (gzip.open if decompress else open)(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksum_ok(name: str, filename: str, path: str) -> tuple[bool, str]:
    """(matches, the file's MD5): the published .gz MD5, or that of the decompressed bytes
    (a re-compressed copy of the same data) where IDX_MD5 lists it."""
    actual = _md5_of(path)
    if actual == MD5[name][filename]:
        return True, actual
    expected_idx = IDX_MD5.get(name, {}).get(filename)
    if expected_idx:
        try:
            if _md5_of(path, decompress=True) == expected_idx:
                return True, actual
        except (OSError, EOFError, gzip.BadGzipFile):  # not gzip, or truncated
            pass
    return False, actual


def reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether a TCP connection to `url`'s host (or its proxy) opens within `timeout`.

    Runs in a daemon thread so that a hanging DNS lookup cannot hold the caller longer.
    """
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        p = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host = (p.hostname, p.port or 80)
    ok = []

    def probe():
        try:
            socket.create_connection(host, timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(ok)


def _remove_stale_parts(directory: str, filename: str) -> None:
    now = time.time()
    for path in glob.glob(os.path.join(glob.escape(directory), f".{filename}.*.part")):
        try:
            if now - os.path.getmtime(path) > _STALE_PART_S:
                os.unlink(path)
        except OSError:
            pass


def _fetch(url: str, directory: str, filename: str) -> str:
    """Downloads `url` into a temporary file in `directory`; returns its path. Network
    errors propagate (OSError, http.client.HTTPException); the temporary file is removed."""
    from tqdm.auto import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "ae_jax"})
    with urllib.request.urlopen(request, timeout=READ_TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f, tqdm(
                    total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=filename,
                    disable=None, leave=False) as bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
            if total is not None and os.path.getsize(tmp) != total:
                raise http.client.IncompleteRead(b"", total - os.path.getsize(tmp))
        except BaseException:
            os.unlink(tmp)
            raise
    return tmp


def _download_one(name: str, filename: str, directory: str) -> None:
    """Puts `filename` into `directory` from the first mirror that serves it, verified."""
    final = os.path.join(directory, filename)
    expected = MD5[name][filename]
    failures = []
    for base in mirrors(name):
        url = _url(base, filename)
        if not reachable(url):
            failures.append(f"{url}: no connection within {CONNECT_TIMEOUT_S:g} s")
            continue
        logging.info("downloading %s -> %s", url, final)
        try:
            tmp = _fetch(url, directory, filename)
        except (OSError, http.client.HTTPException) as e:
            failures.append(f"{url}: {e}")
            logging.warning("downloading %s failed (%s); trying the next mirror", url, e)
            continue
        ok, actual = checksum_ok(name, filename, tmp)
        if not ok:
            os.unlink(tmp)
            raise ChecksumError(
                f"{filename} downloaded from {url} has MD5 {actual}, but its published MD5 is "
                f"{expected}; the file was not kept (a broken download or mirror: retry, or "
                f"set {MIRROR_ENV} to another mirror)")
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)  # atomic: the final name appears only complete and verified
        return
    raise DataUnavailableError(
        f"could not download {filename} for {name}:\n  " + "\n  ".join(failures))


def ensure_files(name: str, directory: str) -> str:
    """Makes `directory` hold `name`'s four .gz IDX files, each with its published checksum:
    files already there and verified are kept, the others downloaded. Returns `directory`.

    Raises ChecksumError when a download's bytes do not match, DataUnavailableError when no
    mirror can be reached (the message lists each mirror's failure and how else to provide
    the data).
    """
    if name not in MD5:
        raise ValueError(f"no download for {name!r}; known: {', '.join(sorted(MD5))}")
    os.makedirs(directory, exist_ok=True)
    for filename in FILES:
        path = os.path.join(directory, filename)
        if os.path.exists(path):
            ok, actual = checksum_ok(name, filename, path)
            if ok:
                continue
            logging.warning("%s has MD5 %s, not the published %s; downloading it again",
                            path, actual, MD5[name][filename])
        _remove_stale_parts(directory, filename)
        try:
            _download_one(name, filename, directory)
        except ChecksumError:
            raise
        except DataUnavailableError as e:
            raise DataUnavailableError(f"{e}\n{how_to_provide(name, directory)}") from None
    return directory


def how_to_provide(name: str, directory: str) -> str:
    return (
        "Ways to provide the data:\n"
        f"  (1) put the IDX files ({', '.join(FILES)}, gzipped or not) in a directory and "
        "pass --config.data.data_dir=DIR; on Debian/Ubuntu `apt-get install "
        "dataset-fashion-mnist` puts Fashion-MNIST in /usr/share/datasets/fashion-mnist, "
        "which is found automatically;\n"
        f"  (2) copy the four .gz files into {directory} (checked against their published "
        f"MD5s), or point {MIRROR_ENV} at a mirror that serves them;\n"
        f"  (3) read a TFDS-prepared copy with --config.data.name=tfds:{name} "
        "(--config.data.tfds_data_dir);\n"
        "  (4) use --config.data.name=digits (scikit-learn's bundled 8x8 digits, no download), "
        "or an .npz file or an image folder."
    )
