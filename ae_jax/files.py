"""Workdir files that a kill at any moment leaves whole: atomic replacement and appended
lines that are flushed to disk, and a JSON-lines reader that repairs a torn tail.

    write_atomic(path, text)   temporary file in the same folder, fsync, rename over path
    append_line(path, line)    one line, flushed and fsynced before returning
    read_jsonl(path)           the whole lines; a partial last line (a crash, a full disk)
                               is cut off, with a warning naming the file
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

from ae_jax import faults


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str, text: str) -> None:
    """Replace `path` by `text` so that a reader sees the old file or the new one, never a
    part: write a temporary file beside it, fsync it, rename it over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        faults.reached(f"write:{os.path.basename(path)}")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def write_json_atomic(path: str, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def append_line(path: str, line: str) -> None:
    """Append one line (a newline is added) and fsync before returning."""
    with open(path, "a") as f:
        f.write(line.rstrip("\n") + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str, repair: bool = False) -> list[dict]:
    """The JSON objects of the whole lines of `path` ([] if it does not exist). A last line
    that is not whole JSON is dropped with a warning, and cut from the file when `repair`."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    rows, good = [], 0  # `good`: characters of whole lines so far
    for i, line in enumerate(lines):
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1 and any(x.strip() for x in lines[i + 1:]):
                raise ValueError(f"{path}: line {i + 1} is not JSON (the file is damaged "
                                 "before its end; move it aside)") from None
            logging.warning("%s: dropped a partial last line (%d characters)%s", path,
                            len(line), "; cut from the file" if repair else "")
            if repair:
                with open(path, "r+") as f:
                    f.truncate(min(good, len(text)))
            break
        good += len(line) + 1
    return rows
