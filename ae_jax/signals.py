"""SIGTERM (preemption: SLURM, Kubernetes) and Ctrl-C for `train.py`: finish the epoch,
save its checkpoint, and stop with the conventional status 128 + signal number.

`install()` (called by train.py before anything else) replaces the handlers of SIGINT and
SIGTERM by one that only records the signal, so a Ctrl-C can never be swallowed by a callback
deep in a library during start-up. The epoch loop asks `requested()` after each epoch: then
it saves a checkpoint of that epoch and raises `TrainingInterrupted`. The wait is bounded by
one epoch (an epoch is one compiled call; it is not cut in the middle, which keeps resumed
runs bitwise equal to uninterrupted ones). A second Ctrl-C exits at once. A library caller
that does not install the handlers keeps Python's defaults.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

_received: list[int] = []


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


def _handler(signum, frame):
    if _received and signum == signal.SIGINT:
        sys.stderr.write("\nsecond Ctrl-C: exiting now (the last saved checkpoint stays)\n")
        os._exit(128 + signum)
    _received.append(signum)
    sys.stderr.write(f"\n{signal.Signals(signum).name}: finishing this epoch, then saving a "
                     "checkpoint and stopping (Ctrl-C again to exit now)\n")


def install() -> None:
    """Record SIGINT and SIGTERM instead of raising (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _handler)


def requested() -> int | None:
    """The first signal received since `install`, or None."""
    return _received[0] if _received else None
