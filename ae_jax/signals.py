"""SIGTERM (preemption: SLURM, Kubernetes) and Ctrl-C for `train.py`: finish the epoch,
save its checkpoint, and stop with the conventional status 128 + signal number.

An epoch is one compiled call, and Python runs a signal handler only when the main thread is
back in the interpreter, so a handler alone would see nothing until the epoch ends (and two
Ctrl-Cs within one epoch would merge into one). `install()` (called by train.py before
anything else) therefore routes SIGINT and SIGTERM through Python's wakeup file descriptor to
a watcher thread: it records the signal and says so at once, and at a second Ctrl-C it exits
at once, whatever the main thread is running. The epoch loop asks `requested()` after each
epoch: then it saves a checkpoint of that epoch and raises `TrainingInterrupted`. The epoch is
not cut in the middle, which keeps resumed runs bitwise equal to uninterrupted ones. A library
caller that does not install the handlers keeps Python's defaults.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

_received: list[int] = []
_WATCHED = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped at a signal after saving a checkpoint."""

    def __init__(self, signum: int, epoch: int, workdir: str):
        self.signum, self.epoch = signum, epoch
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} after epoch {epoch}, its checkpoint saved in "
                         f"{workdir}; rerun the same command to resume")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def _record(signum: int) -> None:
    """The watcher's reaction to one signal (exits the process at a second Ctrl-C)."""
    if _received and signum == signal.SIGINT:
        sys.stderr.write("\nsecond Ctrl-C: exiting now (the last saved checkpoint stays)\n")
        sys.stderr.flush()
        os._exit(128 + signum)
    _received.append(signum)
    sys.stderr.write(f"\n{signal.Signals(signum).name}: finishing this epoch, then saving a "
                     "checkpoint and stopping (Ctrl-C again to exit now)\n")
    sys.stderr.flush()


def _watch(read_fd: int) -> None:
    """Read the signal numbers Python's C-level handler writes to the wakeup pipe."""
    while True:
        for signum in os.read(read_fd, 64):
            if signum in _WATCHED:
                _record(signum)


def _ignore_in_main_thread(signum, frame) -> None:
    """A Python-level handler must exist for the C-level one (which feeds the pipe) to run."""


def install() -> None:
    """Record SIGINT and SIGTERM instead of raising (main thread only; once)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is _ignore_in_main_thread:
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # the C handler must never block
    threading.Thread(target=_watch, args=(read_fd,), name="ae_jax-signals", daemon=True).start()
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in _WATCHED:
        signal.signal(signum, _ignore_in_main_thread)


def requested() -> int | None:
    """The first signal received since `install`, or None."""
    return _received[0] if _received else None
