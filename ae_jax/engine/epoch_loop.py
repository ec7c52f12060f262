"""The epoch loop of the trainer: train an epoch, check that the
loss is finite, evaluate, checkpoint, log, and optionally profile.

A trainer builds its state, `EpochRunner`, evaluation function and workdir writers, then
calls `run_epochs`; what differs between families (the evaluation, the progress-bar fields,
per-epoch plots) comes in as functions.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable

import jax
import numpy as np
from tqdm.auto import tqdm

from ae_jax import checkpoints, signals


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch, split and terms."""

    USER_ERROR = True  # ae_jax/errors.py: one line, exit 2


def check_finite(metrics: dict, epoch: int, split: str, workdir: str, mngr) -> None:
    """Stop with NonFiniteLossError naming the epoch, split and every non-finite term; the
    checkpoints written so far are kept."""
    bad = [k for k, v in metrics.items() if not k.endswith("_per_run") and not math.isfinite(v)]
    if bad:
        last = mngr.latest_step()
        kept = (f"the last good checkpoint (epoch {last}) is kept in {workdir}/checkpoints"
                if last else "no checkpoint was written")
        raise NonFiniteLossError(
            f"non-finite {split} loss at epoch {epoch}: "
            + ", ".join(f"{k}={metrics[k]}" for k in bad)
            + f"; training stopped and {kept}. Try a smaller learning rate or loss weight."
        )


def to_host(metrics) -> dict:
    """Floats; for several runs, the mean over runs plus `<name>_per_run` lists."""
    out = {}
    for k, v in jax.device_get(metrics).items():
        v = np.asarray(v)
        out[k] = float(v.mean())
        if v.ndim:
            out[f"{k}_per_run"] = [float(x) for x in v]
    return out


def profiled_epoch(start_epoch: int, num_epochs: int) -> int:
    """The epoch `config.profile` traces: the second this command trains (the first one
    compiles), or the only one."""
    return min(start_epoch + 2, num_epochs)


def epoch_line(epoch: int, num_epochs: int, train: dict, test: dict, seconds: float) -> str:
    """One log line per epoch (where there is no progress bar): the losses, means over runs."""
    def loss(metrics):
        value = metrics.get("loss")
        return "-" if value is None else f"{float(np.mean(value)):.4f}"

    return (f"epoch {epoch}/{num_epochs}: train loss {loss(train)}, test loss {loss(test)}, "
            f"{seconds:.2f} s")


STEP_LOG_SECONDS = 30.0  # without a bar, a step line at most this often within an epoch


class StepProgress:
    """Progress within one epoch of a loop that has steps to count (the per-step loop, or
    streamed chunks): a second, transient tqdm bar on a terminal; in a log, a line
    `epoch e: step s/S` when STEP_LOG_SECONDS have passed since the last line."""

    def __init__(self, epoch: int, total_steps: int, use_bar: bool, active: bool = True):
        self.epoch, self.total, self.active = epoch, total_steps, active  # process 0 only
        self.bar = tqdm(total=total_steps, desc=f"epoch {epoch} steps", leave=False,
                        disable=not use_bar) if use_bar and active else None
        self.last = time.perf_counter()

    def __call__(self, steps_done: int) -> None:
        if not self.active:
            return
        if self.bar is not None:
            self.bar.update(steps_done - self.bar.n)
            return
        now = time.perf_counter()
        if now - self.last >= STEP_LOG_SECONDS and steps_done < self.total:
            logging.info("epoch %d: step %d/%d", self.epoch, steps_done, self.total)
            self.last = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def profile_trace(workdir: str, active: bool):
    """A `jax.profiler` trace into <workdir>/profile (TensorBoard's profile plugin reads it)
    while `active`; a no-op context otherwise."""
    if not active:
        return contextlib.nullcontext()
    return jax.profiler.trace(os.path.join(workdir, "profile"))


def run_epochs(state, runner, train_data, evaluate: Callable, *, start_epoch: int,
               num_epochs: int, mngr, writer, config_dict: dict, workdir: str,
               progress_bar: bool = True, profile: bool = False,
               postfix: Callable | None = None, after_epoch: Callable | None = None,
               best: tuple | None = None):
    """Train epochs start_epoch + 1 .. num_epochs; returns (state, last trained epoch).

    `evaluate(state) -> metrics` gives the test split's numbers; `postfix(train, test)` the
    progress-bar fields; `after_epoch(state, epoch)` runs last in each epoch (plots). The
    train "seconds" of an epoch time the runner call until its metrics are on the host.
    `best` = (keep_best manager, test metric): an epoch that lowers the metric is saved
    there too, before the epoch's own checkpoint (so a kill between them loses no best).
    """

    last_epoch = start_epoch
    traced = profiled_epoch(start_epoch, num_epochs) if profile else None
    leader = jax.process_index() == 0
    use_bar = progress_bar and leader and sys.stderr.isatty()  # a log file gets lines
    bar = tqdm(range(start_epoch + 1, num_epochs + 1), initial=start_epoch, total=num_epochs,
               desc="epochs", disable=not use_bar)
    try:
        for epoch in bar:
            with profile_trace(workdir, epoch == traced):
                t0 = time.perf_counter()
                steps = StepProgress(epoch, runner.steps, use_bar, active=leader)
                state, train_metrics = runner(state, train_data, epoch, progress=steps)
                train_metrics = to_host(train_metrics)
                seconds = time.perf_counter() - t0
                steps.close()
            last_epoch = epoch
            check_finite(train_metrics, epoch, "train", workdir, mngr)
            test_metrics = to_host(evaluate(state))
            check_finite(test_metrics, epoch, "test", workdir, mngr)
            # the epoch's lines first: a kill before the checkpoint commits leaves lines of an
            # epoch the resume drops (truncate), never a checkpoint without its lines
            writer.write(epoch, "train", {**train_metrics, "seconds": seconds})
            writer.write(epoch, "test", test_metrics)
            writer.flush()
            stop = signals.requested()
            if best is not None:
                checkpoints.save_if_best(best[0], epoch, state, config_dict, best[1],
                                         test_metrics[best[1]])
            # every `checkpoint_every_epochs` (the manager's interval), the last, on a stop
            checkpoints.save(mngr, epoch, state, config_dict,
                             force=epoch == num_epochs or bool(stop))
            if stop:
                raise signals.TrainingInterrupted(stop, epoch, workdir)
            if postfix is not None and use_bar:
                bar.set_postfix(postfix(train_metrics, test_metrics))
            elif leader:
                logging.info("%s", epoch_line(epoch, num_epochs, train_metrics, test_metrics,
                                              seconds))
            if after_epoch is not None:
                after_epoch(state, epoch)
    finally:
        writer.close()
        for manager in (mngr, *(() if best is None else best[:1])):
            checkpoints.finish(manager)
            checkpoints.empty_trash(str(manager.directory))
    return state, last_epoch
