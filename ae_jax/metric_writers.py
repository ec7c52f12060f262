"""Where metrics go: `metrics.jsonl` (one object per epoch and split), TensorBoard events and
a progress bar. Only process 0 writes."""

from __future__ import annotations

import json
import math
import os

import jax


def read_metrics(workdir: str) -> list[dict]:
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _jsonable(v):
    """Finite floats as numbers, NaN / inf as strings (JSON has no NaN); lists elementwise."""
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    v = float(v)
    return v if math.isfinite(v) else str(v)


class MetricWriter:
    """Appends to `<workdir>/metrics.jsonl` and TensorBoard; `truncate(epoch)` on resume drops
    lines of epochs after the restored checkpoint, so the file never holds an epoch twice."""

    def __init__(self, workdir: str, tensorboard: bool = True):
        self.active = jax.process_index() == 0
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._tb = None
        if self.active and tensorboard:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))

    def truncate(self, last_epoch: int) -> None:
        if not self.active:
            return
        kept = [r for r in read_metrics(os.path.dirname(self.path)) if r["epoch"] <= last_epoch]
        with open(self.path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in kept)

    def write(self, epoch: int, split: str, metrics: dict[str, float]) -> None:
        if not self.active:
            return
        row = {"epoch": epoch, "split": split}
        row.update({k: _jsonable(v) for k, v in metrics.items()})
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self._tb is not None:
            for k, v in metrics.items():
                if not isinstance(v, list):
                    self._tb.add_scalar(f"{split}/{k}", float(v), epoch)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
