"""Where metrics go: `metrics.jsonl` (one object per epoch and split), TensorBoard events and
a progress bar. Only process 0 writes."""

from __future__ import annotations

import json
import math
import os

import jax

from ae_jax.files import append_line, read_jsonl, write_atomic


def read_metrics(workdir: str) -> list[dict]:
    """The rows of <workdir>/metrics.jsonl (a torn last line is left out, with a warning)."""
    return read_jsonl(os.path.join(workdir, "metrics.jsonl"))


def _jsonable(v):
    """Finite floats as numbers, NaN / inf as strings (JSON has no NaN); lists elementwise."""
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    v = float(v)
    return v if math.isfinite(v) else str(v)


class MetricWriter:
    """Appends to `<workdir>/metrics.jsonl` (each line fsynced) and TensorBoard (flushed every
    epoch); `truncate(epoch)` on resume drops lines of epochs after the restored checkpoint,
    so the file never holds an epoch twice, repairs a torn last line, and re-logs the kept
    epochs to TensorBoard (a killed process loses the events it had not flushed)."""

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
        rows = read_jsonl(self.path, repair=True)
        kept = [r for r in rows if r["epoch"] <= last_epoch]
        if len(kept) != len(rows) or not os.path.exists(self.path):
            write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        if self._tb is not None and kept:
            for r in kept:
                self._log_scalars(r["epoch"], r["split"], r)
            self._tb.flush()

    def _log_scalars(self, epoch: int, split: str, metrics: dict) -> None:
        for k, v in metrics.items():
            if k in ("epoch", "split") or isinstance(v, list):
                continue
            self._tb.add_scalar(f"{split}/{k}", float(v), epoch)

    def write(self, epoch: int, split: str, metrics: dict[str, float]) -> None:
        if not self.active:
            return
        row = {"epoch": epoch, "split": split}
        row.update({k: _jsonable(v) for k, v in metrics.items()})
        append_line(self.path, json.dumps(row))
        if self._tb is not None:
            self._log_scalars(epoch, split, metrics)

    def flush(self) -> None:
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
