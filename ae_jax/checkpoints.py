"""Orbax checkpoints: one per saved epoch (the checkpoint step is the epoch), keep N, the
resolved config and a checksum of the arrays saved beside the state.

The config stored in the newest readable checkpoint is the one a resume and `ae_jax.load`
trust (`stored_config`); the workdir's top-level config.json is a convenience copy. The
checksum (SHA-256 over every array leaf's dtype, shape and bytes, in tree order) is verified
on restore: a checkpoint whose bytes changed on disk is reported as corrupt, never restored,
and the newest earlier checkpoint that restores and verifies is named.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp

from ae_jax import faults


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be restored, is corrupt, or belongs to another model."""

    USER_ERROR = True  # ae_jax/errors.py: one line, exit 2


TRASH = ".trash"  # checkpoints/.trash: old checkpoints that rotation moved out of the way


def manager(workdir: str, keep: int = 3, read_only: bool = False,
            every: int = 1) -> ocp.CheckpointManager:
    """A manager that keeps the newest `keep` checkpoints and saves every `every` epochs
    (Orbax's save_interval_steps; `save(..., force=True)` saves off the interval, e.g. the
    last epoch or on a stop signal). Rotation renames an old checkpoint
    into checkpoints/.trash (one atomic rename, so a kill cannot leave a half-deleted step
    that still lists as a checkpoint); the trash is emptied here and before each save.
    `read_only` (loading a workdir, perhaps while it trains) writes and deletes nothing."""
    directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    if read_only:
        absl = logging.getLogger("absl")
        level, _ = absl.level, absl.setLevel(logging.ERROR)  # Orbax warns that it is read-only
        try:
            options = ocp.CheckpointManagerOptions(read_only=True, create=False)
            return ocp.CheckpointManager(directory, options=options)
        finally:
            absl.setLevel(level)
    empty_trash(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, save_interval_steps=every,
                                           create=True, todelete_subdir=TRASH,
                                           cleanup_tmp_directories=True)
    return ocp.CheckpointManager(directory, options=options)


BEST = "checkpoints_best"  # the workdir's folder of the keep_best checkpoints


def best_manager(workdir: str, metric: str, read_only: bool = False) -> ocp.CheckpointManager:
    """The manager of `config.keep_best`: one checkpoint, that of the epoch with the lowest
    test `metric`, in <workdir>/checkpoints_best/<metric> (a resume that ranks by another
    metric starts its own folder). Orbax ranks them (best_fn, best_mode "min", max_to_keep
    1); `save_if_best` writes only an epoch that beats the kept one."""
    directory = os.path.abspath(os.path.join(workdir, BEST, metric))
    if read_only:
        options = ocp.CheckpointManagerOptions(read_only=True, create=False)
        return ocp.CheckpointManager(directory, options=options)
    empty_trash(directory)
    options = ocp.CheckpointManagerOptions(
        max_to_keep=1, best_fn=lambda metrics: metrics[metric], best_mode="min",
        keep_checkpoints_without_metrics=False, create=True, todelete_subdir=TRASH,
        cleanup_tmp_directories=True)
    return ocp.CheckpointManager(directory, options=options)


def best_value(mngr: ocp.CheckpointManager, metric: str) -> float:
    """The test `metric` of the kept best checkpoint (inf when there is none)."""
    step = mngr.best_step()
    if step is None:
        return float("inf")
    with open(os.path.join(_step_dir(mngr, step), "ranked_by", "metadata")) as f:
        return float(json.load(f)[metric])


def save_if_best(mngr: ocp.CheckpointManager, epoch: int, state, config_dict: dict,
                 metric: str, value: float) -> bool:
    """Save `epoch` into the keep_best manager if its test `metric` is lower than the kept
    one's (an epoch already there, trained again after a kill, is not written twice)."""
    finish(mngr)
    if epoch in mngr.all_steps() or not value < best_value(mngr, metric):
        return False
    save(mngr, epoch, state, config_dict, metrics={metric: float(value)})
    return True


def empty_trash(directory: str) -> None:
    """Delete the checkpoints that rotation moved to `directory`/.trash (a kill part-way
    leaves the rest for the next call; nothing there is ever read)."""
    trash = os.path.join(directory, TRASH)
    if not os.path.isdir(trash):
        return
    for name in sorted(os.listdir(trash)):
        folder = os.path.join(trash, name)
        for root, _, files in os.walk(folder, topdown=False):
            for file in files:
                os.remove(os.path.join(root, file))
                faults.reached("trash")
        shutil.rmtree(folder)


def _host(leaf) -> np.ndarray:
    """A replicated array's full value from this process's first shard (no cross-host copy)."""
    if isinstance(leaf, jax.Array):
        return np.asarray(leaf.addressable_data(0))
    return np.asarray(leaf)


def checksum(state) -> str:
    """SHA-256 of every array leaf of `state`: dtype, shape and bytes, in tree order."""
    digest = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(state):
        value = np.ascontiguousarray(_host(leaf))
        digest.update(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def save(mngr: ocp.CheckpointManager, epoch: int, state, config_dict: dict,
         metrics: dict | None = None, force: bool = True) -> bool:
    """Save `state` (its array leaves), the config and the arrays' checksum as `epoch`
    (asynchronously: the previous save is finished first, the trash emptied, and the disk
    checked for room); `metrics` also go to Orbax, for a manager that ranks by them. Without
    `force`, only an epoch that the manager's interval says to save is written; returns
    whether it was."""
    if not force and not mngr.should_save(epoch):
        return False
    finish(mngr)
    empty_trash(str(mngr.directory))
    _check_room(mngr, state)
    items = dict(state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config_dict),
                 checksum=ocp.args.JsonSave({"sha256": checksum(state)}))
    if metrics is not None:  # readable without Orbax's metrics API (which varies by version)
        items["ranked_by"] = ocp.args.JsonSave(metrics)
    try:
        mngr.save(epoch, args=ocp.args.Composite(**items), metrics=metrics, force=True)
    except Exception as e:  # noqa: BLE001 - a failed write is reported in one line
        raise CheckpointError(_write_failure(mngr, e)) from e
    faults.reached("checkpoint_save")
    return True


def finish(mngr: ocp.CheckpointManager) -> None:
    """Wait for the save in flight; a write that failed (a full disk, a quota, a file-size
    limit) raises CheckpointError saying so and where the run will resume."""
    try:
        mngr.wait_until_finished()
    except Exception as e:  # noqa: BLE001 - Orbax re-raises the writer thread's error
        raise CheckpointError(_write_failure(mngr, e)) from e


ROOM_MARGIN = 1 << 20  # bytes beyond 1.1 x the arrays: metadata, the config


def _check_room(mngr, state) -> None:
    """Refuse to start a save that cannot fit on the disk (a full disk fails cleanly here,
    before Orbax's writer threads do)."""
    need = sum(getattr(x, "nbytes", 0) for x in jax.tree_util.tree_leaves(state))
    free = shutil.disk_usage(str(mngr.directory)).free
    need = int(1.1 * need) + ROOM_MARGIN
    if free < need:
        raise CheckpointError(
            f"no room for a checkpoint in {mngr.directory}: {free / 2**20:.1f} MiB free, about "
            f"{need / 2**20:.1f} MiB needed; free disk space (or lower "
            f"keep_checkpoints) and rerun the same command: {_resumes_from(mngr)}")


def _resumes_from(mngr) -> str:
    last = mngr.latest_step()
    return f"it resumes from epoch {last}" if last is not None else "it starts afresh"


def _write_failure(mngr, e: BaseException) -> str:
    """One line for a failed checkpoint write: the operating system's reason, if any."""
    text = str(e)
    code = re.search(r"os_error_code='?(\d+)", text)
    if code:
        reason = os.strerror(int(code.group(1)))
    elif isinstance(e, OSError) and e.strerror:
        reason = e.strerror
    else:
        reason = text.split("\n")[0][:200] or type(e).__name__
    return (f"could not write a checkpoint in {mngr.directory} ({reason}); free disk space "
            f"and rerun the same command: {_resumes_from(mngr)}")


def _step_dir(mngr, epoch: int) -> str:
    return os.path.join(str(mngr.directory), str(epoch))


def _restore_verified(mngr, epoch: int, abstract):
    """The state of checkpoint `epoch`, checked against its saved checksum (checkpoints
    written before checksums existed are restored unverified, with a warning)."""
    has_sum = os.path.isdir(os.path.join(_step_dir(mngr, epoch), "checksum"))
    items = {"state": ocp.args.StandardRestore(abstract)}
    if has_sum:
        items["checksum"] = ocp.args.JsonRestore()
    restored = mngr.restore(epoch, args=ocp.args.Composite(**items))
    if not has_sum:
        logging.warning("checkpoint %s has no checksum (an older format): not verified",
                        _step_dir(mngr, epoch))
    elif restored["checksum"]["sha256"] != checksum(restored["state"]):
        raise CheckpointError("its arrays do not match the checksum saved with them: the "
                              "files are corrupt")
    return restored["state"]


def _newest_good(mngr, abstract, below: int) -> int | None:
    """The newest checkpoint before `below` that restores and verifies, or None."""
    for step in sorted((s for s in mngr.all_steps() if s < below), reverse=True):
        try:
            _restore_verified(mngr, step, abstract)
            return step
        except Exception:  # noqa: BLE001 - any failure means "not this one"
            continue
    return None


def restore_latest(mngr: ocp.CheckpointManager, template):
    """(epoch, state) from the newest checkpoint, or (0, template) when there is none.

    `template` is a freshly initialised state: its shapes, dtypes and shardings say what to
    read, and its static fields (apply_fn, tx) are kept. A checkpoint that cannot be read,
    is corrupt, or whose arrays do not match the template raises CheckpointError naming it
    and the newest earlier checkpoint that really restores, and deletes nothing.
    """
    epoch = mngr.latest_step()
    if epoch is None:
        return 0, template
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, template)
    try:
        state = _restore_verified(mngr, epoch, abstract)
    except Exception as e:  # orbax raises several types for unreadable or mismatched data
        good = _newest_good(mngr, abstract, epoch)
        hint = (f"move it aside to resume from epoch {good} (checked: it restores and "
                "verifies)" if good is not None
                else "no earlier checkpoint restores: move it aside (or use a new workdir) "
                     "to start afresh")
        reason = str(e) if isinstance(e, CheckpointError) else type(e).__name__
        raise CheckpointError(
            f"checkpoint {_step_dir(mngr, epoch)} could not be restored ({reason}); {hint}"
        ) from e
    logging.info("restored epoch %d from %s", epoch, mngr.directory)
    return epoch, state


def stored_config(workdir: str) -> dict | None:
    """The resolved config saved with the newest checkpoint whose config reads as JSON, or
    None when the workdir holds no checkpoint."""

    folder = os.path.join(workdir, "checkpoints")
    if not os.path.isdir(folder):
        return None
    steps = sorted((int(p) for p in os.listdir(folder) if p.isdigit()), reverse=True)
    for step in steps:
        path = os.path.join(folder, str(step), "config", "metadata")
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError):
            logging.warning("checkpoint %s: its config cannot be read; trying an older one",
                            os.path.join(folder, str(step)))
    return None
