"""One writer per workdir: `<workdir>/lock` holds the owner's pid and host.

Taken with O_CREAT | O_EXCL (atomic on a local or NFSv3+ filesystem). A second process is
refused with the owner named. A lock whose owner is dead (same host, no such pid) is stale:
it is taken over by an atomic rename of a fresh lock file over it, then checked to be ours.
A lock of another host is never judged stale: the message says how to remove it by hand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time

from ae_jax.files import write_atomic

LOCK_NAME = "lock"


class WorkdirLockedError(ValueError):
    """Another live process trains in this workdir."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _read(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def _owner_text(owner: dict | None) -> str:
    if owner is None:
        return "an unknown process (unreadable lock file)"
    return f"pid {owner['pid']} on {owner['host']} (since {owner.get('since', '?')})"


def acquire(workdir: str) -> str:
    """Take the workdir's lock; returns its path. Raises WorkdirLockedError when a live
    process holds it."""
    path = os.path.join(workdir, LOCK_NAME)
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        owner = _read(path)
        stale = (owner is not None and owner["host"] == me["host"]
                 and not _alive(int(owner["pid"])))
        if not stale:
            hint = ("wait for it to finish or stop it" if owner is None
                    or owner["host"] == me["host"] else
                    f"if that process is gone, delete {path}")
            raise WorkdirLockedError(f"workdir {workdir} is in use by {_owner_text(owner)}; "
                                     f"{hint}, or use another --workdir") from None
        logging.warning("taking over the stale lock of %s", _owner_text(owner))
        write_atomic(path, json.dumps(me))
        if _read(path) != me:  # another process took it over at the same moment
            raise WorkdirLockedError(f"workdir {workdir} was taken by "
                                     f"{_owner_text(_read(path))}") from None
        return path
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(me))
    return path


def release(path: str) -> None:
    """Remove the lock if it is still ours."""
    owner = _read(path)
    if owner is not None and owner["pid"] == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def workdir_lock(workdir: str, active: bool = True):
    """Hold the workdir's lock for the block (a no-op when not `active`: processes other
    than 0 of a multi-process run)."""
    if not active:
        yield
        return
    path = acquire(workdir)
    try:
        yield
    finally:
        release(path)
