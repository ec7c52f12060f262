"""Data parallelism with `jax.sharding`: the batch axis is split over a 1-D device mesh named
"data", parameters and optimizer state are replicated. One device is the mesh of size one,
so the same compiled step runs everywhere; XLA inserts the gradient all-reduce where the
batch mean crosses devices.

Several hosts join through `jax.distributed.initialize` (config `distributed.*` fields or
JAX's own environment detection); every process then loads the same data and builds the same
initial state from the same seed, and the global mesh spans all processes' devices.
"""

from __future__ import annotations

import logging

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def initialize_distributed(cfg) -> None:
    """Join a multi-process run when `cfg.num_processes > 1` (or `cfg.auto` on a cluster)."""
    if cfg is None or not (cfg.get("num_processes", 1) > 1 or cfg.get("auto", False)):
        return
    if jax.distributed.is_initialized():
        return
    if cfg.get("cpu_collectives", "gloo") and jax.default_backend() == "cpu":
        jax.config.update("jax_cpu_collectives_implementation", cfg.cpu_collectives)
    if cfg.get("auto", False):
        jax.distributed.initialize()
    else:
        jax.distributed.initialize(
            coordinator_address=cfg.coordinator_address,
            num_processes=cfg.num_processes,
            process_id=cfg.process_id,
        )
    logging.info("process %d of %d, %d local / %d global devices", jax.process_index(),
                 jax.process_count(), jax.local_device_count(), jax.device_count())


def make_mesh(num_devices: int) -> Mesh:
    """A 1-D mesh over the first `num_devices` devices (0: all of them, every process's)."""
    devices = jax.devices()
    n = len(devices) if num_devices in (0, None) else num_devices
    if n > len(devices):
        raise ValueError(f"num_devices={n} but only {len(devices)} devices are visible")
    return Mesh(np.asarray(devices[:n]), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Examples split over the mesh: (B, D) -> B / n rows per device."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def replicate(tree, mesh: Mesh):
    """Put every array of `tree` on every device of the mesh (same value on every process)."""
    sharding = replicated(mesh)
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree_util.tree_map(
        lambda x: jax.make_array_from_callback(np.shape(x), sharding,
                                               lambda idx: np.asarray(x)[idx]), tree)


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
    n = mesh.devices.size
    if batch_size % n:
        raise ValueError(f"batch_size {batch_size} is not divisible by the {n} devices of the "
                         "data-parallel mesh")
