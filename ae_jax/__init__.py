"""ae_jax: autoencoders, VAEs and GANs in JAX / Flax (linen), trained with jit-compiled,
on-device loops and Orbax checkpoints that resume exactly.

The public entry points (imported on first use, so `import ae_jax.models` stays light):

    ae_jax.train_and_evaluate(config, workdir)   train (or resume) a config in a workdir
    ae_jax.load(workdir) -> ae_jax.Run            a trained workdir: encode, decode, sample...
"""

__version__ = "0.1.0"

_LAZY = {"train_and_evaluate": "ae_jax.engine", "load": "ae_jax.run", "Run": "ae_jax.run"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ae_jax' has no attribute {name!r}")
