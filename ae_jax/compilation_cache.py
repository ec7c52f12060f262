"""JAX's persistent compilation cache for the command-line entry points: a rerun (a resume, an
evaluation, the next run of a sweep with the same shapes) loads its compiled programs from
disk instead of compiling them again. XLA:CPU, GPU and TPU programs are cached alike; a key
covers the program, the devices, the flags and the JAX version, so a stale entry is never
used, and a cached program is the one that would have been compiled (results are unchanged,
bit for bit).

Where: `AE_JAX_CACHE_DIR` if set (`off` turns the cache off), else JAX's own
`JAX_COMPILATION_CACHE_DIR` if set, else `~/.cache/ae_jax/jax` (`$XDG_CACHE_HOME` honoured).
Programs that compiled in under `min_compile_seconds` are not worth a file and are skipped.

Several processes may share the folder (the runs of a sweep started side by side, the test
suite's subprocesses): the size limit `MAX_BYTES` turns on JAX's least-recently-used
eviction, and with it its file lock (the `filelock` package) around every read and write, so
that no process reads an entry another is still writing. Without a limit JAX writes entries
unlocked.
"""

from __future__ import annotations

import logging
import os

ENV = "AE_JAX_CACHE_DIR"
MAX_BYTES = 4 * 2**30  # the oldest entries go once the folder would pass 4 GiB
# (jax is imported in `enable`, so that tests/conftest.py reads MAX_BYTES before jax starts)


def default_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ae_jax", "jax")


def enable(min_compile_seconds: float = 0.5) -> str | None:
    """Turn the cache on (see the module docstring); returns its folder, or None when off."""
    import jax

    folder = os.environ.get(ENV) or os.environ.get("JAX_COMPILATION_CACHE_DIR") or default_dir()
    if folder.lower() == "off":
        return None
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:  # a read-only home: run without the cache rather than fail
        logging.warning("compilation cache off: cannot create %s (%s)", folder, e.strerror)
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_seconds)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return folder
