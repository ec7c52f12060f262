"""Explicit randomness: one root key per run, named streams, `fold_in` of the epoch or step.

Every random number a run uses is a pure function of (seed, stream name, epoch or step), so a
resumed run draws exactly what the uninterrupted run drew: nothing comes from host state.
"""

from __future__ import annotations

import zlib

import jax

STREAMS = ("init", "shuffle", "noise", "sample", "eval", "dropout", "terms", "binarize")


def stream(key: jax.Array, name: str) -> jax.Array:
    """The sub-key of a named stream: `fold_in(key, crc32(name))`, stable across versions."""
    return jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


def stream_at(key: jax.Array, name: str, index) -> jax.Array:
    """The key of stream `name` at an epoch or step index (a Python int or a traced array)."""
    return jax.random.fold_in(stream(key, name), index)
