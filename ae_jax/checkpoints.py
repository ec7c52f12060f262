"""Orbax checkpoints: one per saved epoch (the checkpoint step is the epoch), keep N, the
resolved config saved beside the state so a workdir alone can rebuild the model."""

from __future__ import annotations

import logging
import os

import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be restored, or belongs to another model."""


def manager(workdir: str, keep: int = 3) -> ocp.CheckpointManager:
    directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    return ocp.CheckpointManager(directory, options=options)


def save(mngr: ocp.CheckpointManager, epoch: int, state, config_dict: dict) -> None:
    """Save `state` (its array leaves) and the config as checkpoint `epoch`."""
    mngr.save(
        epoch,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config_dict)
        ),
    )


def restore_latest(mngr: ocp.CheckpointManager, template):
    """(epoch, state) from the newest checkpoint, or (0, template) when there is none.

    `template` is a freshly initialised state: its shapes, dtypes and shardings say what to
    read, and its static fields (apply_fn, tx) are kept. A checkpoint that cannot be read,
    or whose arrays do not match the template, raises CheckpointError naming it and the
    earlier checkpoints, and deletes nothing.
    """
    epoch = mngr.latest_step()
    if epoch is None:
        return 0, template
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, template)
    try:
        restored = mngr.restore(
            epoch, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
        )
    except Exception as e:  # orbax raises several types for unreadable or mismatched data
        earlier = [s for s in mngr.all_steps() if s != epoch]
        path = os.path.join(str(mngr.directory), str(epoch))
        hint = (
            f"move it aside to resume from epoch {max(earlier)}" if earlier
            else "move it aside (or use a new workdir) to start afresh"
        )
        raise CheckpointError(
            f"checkpoint {path} could not be restored ({type(e).__name__}: {e}); {hint}"
        ) from e
    logging.info("restored epoch %d from %s", epoch, mngr.directory)
    return epoch, restored["state"]
