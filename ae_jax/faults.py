"""Deterministic kills for the robustness tests: `AE_JAX_FAULT=<point>:<n>[,<point>:<n>]`
makes the process SIGKILL itself the n-th time it reaches `point`, so a test can stop a run
exactly inside a save or a file write instead of hoping a random kill lands there.

Points (each a call to `reached(point)`):

    write:<file name>   a workdir file's temporary copy is written and fsynced, not yet
                        renamed over the file (ae_jax/files.py write_atomic), e.g.
                        write:config.json
    checkpoint_save     a checkpoint's asynchronous save has begun and is not committed
    trash               one of the old checkpoints that rotation moved to checkpoints/.trash
                        is half deleted
    benchmark_model     the zoo benchmark (ae_jax/benchmark.py) has written a model's
                        results (results.csv / .md), the next model not begun

Unset (the normal case) `reached` is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def _plan() -> dict[str, int]:
    spec = os.environ.get("AE_JAX_FAULT", "")
    plan = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        point, _, n = item.rpartition(":")
        plan[point] = int(n)
    return plan


def reached(point: str) -> None:
    """SIGKILL this process if AE_JAX_FAULT asks for `point` and this is its n-th visit."""
    if "AE_JAX_FAULT" not in os.environ:
        return
    wanted = _plan().get(point)
    if wanted is None:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == wanted:
        os.kill(os.getpid(), signal.SIGKILL)
