"""Data parallelism with `jax.sharding`, on one device, many devices or many hosts.

The devices form a 1-D mesh with axis "data". Parameters, optimizer state and the on-device
dataset are replicated; inside the compiled step each gathered batch is constrained to be
split over the mesh, so every device computes B / n examples and XLA inserts the gradient
all-reduce where the batch mean crosses devices. One device is the mesh of size one: the
same compiled step runs everywhere (`config.num_devices`, default 1; 0 uses every device of
every process).

Several hosts join through `jax.distributed.initialize` (`config.distributed`); every process
loads the same data and builds the same initial state from the same seed, and the global mesh
spans all processes' devices, so one process's code is every process's code.
"""

from __future__ import annotations

import logging

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def initialize_distributed(cfg) -> None:
    """Join a multi-process run: `cfg.num_processes > 1` with `coordinator_address` and this
    process's `process_id`, or `cfg.auto` to let JAX read a cluster's environment (SLURM,
    Open MPI, TPU pods; JAX_COORDINATOR_ADDRESS). No-op for one process. Must run before
    any other JAX computation in the process."""
    if not (cfg.num_processes > 1 or cfg.auto):
        return
    if jax.distributed.is_initialized():
        return
    collectives = cfg.cpu_collectives
    if collectives:  # CPU devices need a collectives library to all-reduce across processes
        jax.config.update("jax_cpu_collectives_implementation", collectives)
    if cfg.auto:
        jax.distributed.initialize()
    else:
        if not cfg.coordinator_address:
            raise ValueError("distributed.num_processes > 1 needs distributed.coordinator_address"
                             " (host:port of process 0), or distributed.auto=True on a cluster")
        jax.distributed.initialize(coordinator_address=cfg.coordinator_address,
                                   num_processes=cfg.num_processes, process_id=cfg.process_id)
    logging.info("process %d of %d: %d local / %d global devices", jax.process_index(),
                 jax.process_count(), jax.local_device_count(), jax.device_count())


def make_mesh(num_devices: int = 1) -> Mesh:
    """A 1-D "data" mesh over the first `num_devices` devices (0: all, of every process)."""
    devices = jax.devices()
    n = len(devices) if not num_devices else num_devices
    if n > len(devices) or n < 0:
        raise ValueError(f"num_devices={num_devices}, but {len(devices)} devices are visible "
                         f"({jax.process_count()} process(es)); use 0 for all of them")
    if jax.process_count() > 1 and n != len(devices):
        raise ValueError("with several processes the mesh must span every device: use "
                         "num_devices=0")
    return Mesh(np.asarray(devices[:n]), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Examples split over the mesh: (B, ...) -> B / n rows per device."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicate(tree, mesh: Mesh):
    """Every array of `tree` on every device of the mesh. With several processes each process
    passes the same values (same data files, same seed)."""
    return jax.device_put(tree, replicated(mesh))


def shard_batch(batch: jax.Array, mesh: Mesh | None) -> jax.Array:
    """Inside jit: ask for `batch` (B, ...) to be split over the mesh's devices (a no-op
    without a mesh). Under `vmap` over runs the run axis stays unsplit."""
    if mesh is None:
        return batch
    return jax.lax.with_sharding_constraint(batch, batch_sharding(mesh))


def check_divisible(mesh: Mesh, **batch_sizes: int) -> None:
    """Each named batch size must split evenly over the mesh."""
    n = mesh.devices.size
    bad = {k: v for k, v in batch_sizes.items() if v % n}
    if bad:
        raise ValueError(", ".join(f"{k}={v}" for k, v in bad.items())
                         + f" not divisible by the {n} devices of the data-parallel mesh")
