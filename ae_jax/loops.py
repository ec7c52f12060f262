"""Compiled loops over on-device data: a training epoch (loop shape chosen by measurement)
and masked per-example sums over a dataset (evaluation).

Data lives on the device as uint8 and is scaled inside the step. The permutation of each
epoch is `fold_in(key, epoch)` of the "shuffle" stream and the noise/sample keys are
`fold_in(key, step)`, so a resumed run repeats the uninterrupted one bit for bit.

Loop shapes (`config.loop`), one function for all:
  "scan"   the whole epoch is one `lax.scan` inside one jitted call: no Python per step.
           Fastest for the MLPs and VAEs on CPU (1.2-1.8x over one call per step), and for
           the conv_ops layers (`python benchmarks/conv_step.py`, 32-32 denoising step,
           batch 128, `--rounds 5`: 70 ms per step at top level, 46 ms inside an 8-step
           scan).
  "steps"  a jitted call runs `steps_per_call` steps (unrolled, no while loop), called from
           Python. On XLA:CPU, XLA's convolution kernel gradients inside a while loop
           (scan/fori) ran 8-20x slower than the same step at top level (the same step with
           `conv_impl="lax"`: 1.5 s per step inside the scan); unrolled steps do not have
           that problem.
  "auto"   "steps" on CPU for families whose networks declare `xla_conv_gradients`
           (ae_jax/models/abilities.py: the DCGAN, and conv layers with conv_impl="lax"),
           "scan" otherwise.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax import rng
from ae_jax.parallel import check_divisible, replicate, replicated, shard_batch

Metrics = dict[str, jax.Array]


def epoch_indices(key, epoch, num_examples: int, batch_size: int) -> jax.Array:
    """(steps, batch) example indices of one epoch; the last partial batch is dropped (a
    different remainder each epoch, so every example is seen)."""
    steps = num_examples // batch_size
    perm = jax.random.permutation(rng.stream_at(key, "shuffle", epoch), num_examples)
    return perm[: steps * batch_size].reshape(steps, batch_size)  # (N,) -> (steps, B)


def _run_steps(train_step, state, data, indices, unroll, mesh=None):
    """Scan `train_step` over rows of `indices` (steps, B); returns the state and summed
    metrics. Each batch `data[idx]` is split over the mesh's devices (data parallelism)."""
    if unroll is True and indices.shape[0] == 1:
        # lax.scan(unroll=True) of length 1 still emits a while loop (JAX 0.10.2), and conv
        # gradients inside a while loop are slow on XLA:CPU (134.7 vs 17.9 ms/step measured).
        return train_step(state, shard_batch(data[indices[0]], mesh))

    def body(carry, idx):
        state, sums = carry
        state, metrics = train_step(state, shard_batch(data[idx], mesh))
        sums = jax.tree_util.tree_map(jnp.add, sums, metrics)
        return (state, sums), None

    shapes = jax.eval_shape(train_step, state, data[indices[0]])[1]
    zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
    (state, sums), _ = jax.lax.scan(body, (state, zeros), indices, unroll=unroll)
    return state, sums


def _add(a, b):
    return b if a is None else jax.tree_util.tree_map(jnp.add, a, b)


def host_chunks(data: np.ndarray, rows: np.ndarray, chunk: int, sharding=None,
                prefetch: int = 2):
    """Yield `(device_rows, local_indices)` for the streaming path: for each group of `chunk`
    batches along the steps axis of `rows` (..., steps, B), the examples they use gathered on
    the host into (M, D), sent to the device (`sharding`: replicated over the mesh), and
    their positions in it (..., k, B). A background thread gathers and transfers the next
    `prefetch` groups while the device trains on the current one. The device then gathers
    each batch again by position (one on-device copy of B rows per step), so the streaming
    path runs the very compiled loops of the on-device path.
    """
    starts = list(range(0, rows.shape[-2], chunk))

    def load(start):
        part = rows[..., start:start + chunk, :]  # (..., k, B) example rows
        local = np.arange(part.size, dtype=np.int32).reshape(part.shape)
        flat = data[part.reshape(-1)]  # (M, D) with M = part.size
        return jax.device_put(flat, sharding), jax.device_put(local, sharding)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = deque(pool.submit(load, start) for start in starts[:prefetch])
        for i in range(len(starts)):
            if i + prefetch < len(starts):
                pending.append(pool.submit(load, starts[i + prefetch]))
            yield pending.popleft().result()


PROGRESS_POINTS = 20  # syncs per epoch for the step progress display (steps loop)


class EpochRunner:
    """Runs one training epoch of a given loop shape; `runner(state, data, epoch)`.

    Returns the new state and the epoch's mean metrics (device arrays; nothing is copied to
    the host here). `data` is the training set flattened to (N, D) (see `unflatten`):

      a device array  on-device path: batches are gathered inside the compiled code; `data`
                      is an argument (a jitted function that closes over it embeds it as a
                      constant).
      a numpy array   streaming path, for data that does not fit on the device: the same
                      epoch's batches are gathered on the host, `stream_batches` batches at a
                      time, and prefetched to the device (`host_chunks`); each group then
                      trains with the same loop shape. Same steps, same order, same numbers.

    With `runs=True` the state has a leading run axis (several seeds, learning rates or loss
    weights of one architecture, see `ae_jax.runs`): every run gets its own data order from
    its own key, and all of them train in one compiled program under `jax.vmap`; metrics
    then have shape (R,).

    `run_indices` ((R, N_r) with runs, (N_r,) without) gives each run its own subset of the
    shared `data` (one-class training: run r sees only class r): the epoch permutes N_r
    positions and run r's batch is `data[run_indices[r, positions]]`; `num_examples` is N_r.

    With a `mesh` (`ae_jax.parallel`) each batch is split over its devices; state and data
    are expected replicated on it.

    `scan_unroll` steps run per iteration of the scanned epoch's loop (`lax.scan(unroll=)`):
    the same steps in the same order. Measured by benchmarks/engine_overhead.py (arm
    ae-unroll4, 2-core CPU, three runs): 4 cut the dense and deep MLP epochs by 2-16% and
    left the dense VAE's within noise, and it makes the program slower to compile (dense 1.25
    -> 1.69 s for compiling plus one epoch), so 1 is the default and the long MLP configs
    (dense_ae, deep_ae) set 4.
    """

    def __init__(self, train_step, num_examples: int, batch_size: int, loop: str = "scan",
                 steps_per_call: int = 1, runs: bool = False, run_indices=None, mesh=None,
                 stream_batches: int = 64, scan_unroll: int = 1):
        if run_indices is not None and (jnp.ndim(run_indices) != 1 + runs
                                        or jnp.shape(run_indices)[-1] != num_examples):
            raise ValueError(
                f"run_indices must be {'(R, N_r)' if runs else '(N_r,)'} with N_r = "
                f"num_examples = {num_examples}; got shape {jnp.shape(run_indices)}"
            )
        if batch_size > num_examples:
            raise ValueError(
                f"batch_size {batch_size} is larger than the {num_examples} training examples"
            )
        if loop not in ("scan", "steps"):
            raise ValueError(f"unknown loop {loop!r}: use 'scan', 'steps' or 'auto'")
        if mesh is not None:
            check_divisible(mesh, batch_size=batch_size)
        self.loop = loop
        self.steps = num_examples // batch_size
        self.steps_per_call = max(1, min(steps_per_call, self.steps))
        self.stream_batches = max(1, stream_batches)
        self.num_examples, self.batch_size = num_examples, batch_size
        self.mesh = mesh
        # Known trap: hundreds of queued sharded calls without a sync deadlocked XLA:CPU's
        # all-reduce; the steps loop waits for the device every `sync_every` calls.
        self.sync_every = 16 if mesh is not None and mesh.devices.size > 1 else 0
        indices = functools.partial(epoch_indices, num_examples=num_examples,
                                    batch_size=batch_size)

        def rows(key, epoch, table):
            idx = indices(key, epoch)  # (steps, B) positions
            return idx if table is None else table[idx]  # positions in the subset -> rows

        def whole_epoch(state, data, epoch, table):
            idx = rows(state.key, epoch, table)
            return _run_steps(train_step, state, data, idx, unroll=scan_unroll, mesh=mesh)

        def scan(state, data, idx):
            return _run_steps(train_step, state, data, idx, unroll=scan_unroll, mesh=mesh)

        def chunk(state, data, idx):
            return _run_steps(train_step, state, data, idx, unroll=True, mesh=mesh)

        if runs:
            t = None if run_indices is None else 0
            rows_fn = jax.vmap(rows, in_axes=(0, None, t))  # -> (R, steps, B)
            whole_epoch = jax.vmap(whole_epoch, in_axes=(0, None, None, t))
            scan = jax.vmap(scan, in_axes=(0, None, 0))
            chunk = jax.vmap(chunk, in_axes=(0, None, 0))
        else:
            rows_fn = rows
        self.runs = runs
        self.run_indices = None if run_indices is None else jnp.asarray(run_indices, jnp.int32)
        if mesh is not None and self.run_indices is not None:
            self.run_indices = replicate(self.run_indices, mesh)
        self._indices = jax.jit(rows_fn)
        self._whole_epoch = jax.jit(whole_epoch, donate_argnums=0)
        self._scan = jax.jit(scan, donate_argnums=0)
        self._chunk = jax.jit(chunk, donate_argnums=0)

    def _train_rows(self, state, data, idx, progress=None, done: int = 0):
        """Train on the batches `data[idx]`, idx (..., k, B), with the runner's loop shape;
        the steps loop calls `progress(steps done)` about PROGRESS_POINTS times an epoch,
        each time after the device has finished those steps (a sync, not a dispatch count)."""
        if self.loop == "scan":
            return self._scan(state, data, idx)
        sums = None
        calls_between = max(1, self.steps // (PROGRESS_POINTS * self.steps_per_call))
        for i, start in enumerate(range(0, idx.shape[-2], self.steps_per_call)):
            state, part = self._chunk(state, data, idx[..., start:start + self.steps_per_call, :])
            sums = _add(sums, part)
            if self.sync_every and (i + 1) % self.sync_every == 0:
                jax.block_until_ready(state)
            if progress is not None and (i + 1) % calls_between == 0:
                jax.block_until_ready(state)
                progress(done + min(start + self.steps_per_call, idx.shape[-2]))
        return state, sums

    def __call__(self, state, data, epoch: int, progress=None):
        """(state, mean metrics) after one epoch; `progress(steps done)`, if given, is told
        how far the epoch is, where the loop has steps to count (not inside one scan)."""
        if isinstance(data, np.ndarray):  # streaming: host batches, prefetched
            rows = np.asarray(jax.device_get(self._indices(state.key, epoch, self.run_indices)))
            sharding = None if self.mesh is None else replicated(self.mesh)
            sums, done = None, 0
            for chunk_data, local in host_chunks(data, rows, self.stream_batches, sharding):
                state, part = self._train_rows(state, chunk_data, local, progress, done)
                sums, done = _add(sums, part), done + local.shape[-2]
                if progress is not None and self.loop == "scan":
                    progress(done)
        elif self.loop == "scan":
            state, sums = self._whole_epoch(state, data, epoch, self.run_indices)
        else:
            idx = self._indices(state.key, epoch, self.run_indices)
            state, sums = self._train_rows(state, data, idx, progress)
        return state, jax.tree_util.tree_map(lambda s: s / self.steps, sums)


def choose_loop(loop: str, prefers_steps_on_cpu: bool, backend: str | None = None) -> str:
    """Resolve "auto": see the module docstring for the measurements behind it."""
    if loop not in ("auto", "scan", "steps"):
        raise ValueError(f"unknown loop {loop!r} (loop): use auto, scan or steps")
    if loop != "auto":
        return loop
    backend = backend or jax.default_backend()
    return "steps" if (prefers_steps_on_cpu and backend == "cpu") else "scan"


def padded_batches(data: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """(batches (S, B, ...), mask (S, B)) covering the N rows of `data` with S = ceil(N / B).

    The last batch is filled by repeating rows from the start (wrap-around), not zeros, so a
    network that normalises by batch statistics sees real rows only; the mask (1 real, 0
    padding) lets every sum count each example exactly once.
    """
    n = data.shape[0]
    steps = -(-n // batch_size)
    rows = jnp.arange(steps * batch_size) % n
    batches = data[rows].reshape(steps, batch_size, *data.shape[1:])  # (S*B, ...) -> (S, B, ...)
    mask = (jnp.arange(steps * batch_size) < n).reshape(steps, batch_size)
    return batches, mask.astype(jnp.float32)


def masked_sum(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Sum over the batch axis (0) of per-example values (B, ...), padding masked out."""
    return jnp.sum(values * mask.reshape(mask.shape + (1,) * (values.ndim - 1)), axis=0)


def make_evaluator(per_example: Callable, batch_size: int, runs: bool = False, mesh=None,
                   stream_batches: int = 64):
    """`evaluate(state, flat_data) -> means`: the mean over the N examples of (N, D) `data`
    of every per-example value `per_example(state, batch, key, mask)` returns (a dict of
    (B, ...) arrays; shape (R, ...) per value with `runs=True`).

    Batch i gets the key `stream_at(state.key, "eval", i)`, so evaluations repeat exactly.
    A device array is evaluated in one compiled scan; a host numpy array (streaming path) in
    groups of `stream_batches` batches sent to the device one after another.
    """
    if mesh is not None:
        check_divisible(mesh, eval_batch_size=batch_size)

    def sums(state, data, first_batch):
        batches, mask = padded_batches(data, batch_size)
        keys = jax.vmap(lambda i: rng.stream_at(state.key, "eval", i))(
            first_batch + jnp.arange(batches.shape[0]))

        def body(acc, inp):
            batch, m, key = inp
            values = per_example(state, shard_batch(batch, mesh), key, m)
            return jax.tree_util.tree_map(lambda s, v: s + masked_sum(v, m), acc, values), None

        shapes = jax.eval_shape(per_example, state, batches[0], keys[0], mask[0])
        zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape[1:], jnp.float32), shapes)
        return jax.lax.scan(body, zeros, (batches, mask, keys))[0]

    sums = jax.jit(jax.vmap(sums, in_axes=(0, None, None)) if runs else sums)
    sharding = None if mesh is None else replicated(mesh)

    def evaluate(state, data):
        n = data.shape[0]
        if not isinstance(data, np.ndarray):
            totals = sums(state, data, 0)
        else:
            group = stream_batches * batch_size
            totals = None
            for start in range(0, n, group):
                part = jax.device_put(data[start:start + group], sharding)
                totals = _add(totals, sums(state, part, start // batch_size))
        return jax.tree_util.tree_map(lambda s: s / n, totals)

    return evaluate
