"""ae_jax: autoencoders, VAEs and GANs in JAX / Flax (linen), trained with jit-compiled,
on-device loops and Orbax checkpoints that resume exactly."""

__version__ = "0.1.0"
