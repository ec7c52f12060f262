"""Parameter initialisers written so that a jitted `init` gives the bits an eager one does."""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.jit
def _multiply_add(x, scale, shift):
    return x * scale + shift  # one rounding (FMA) on XLA:CPU, called eagerly or inlined


def affine_draw(draw, scale: float, shift: float = 0.0):
    """The initialiser `shift + scale * draw(key, shape, dtype)`, with the same bits whether it
    runs eagerly or inside `jax.jit` (the families' `init` is jitted: ae_jax/runs.py).

    Inside one program XLA would fold `scale` into the draw's own constants, and it fuses a
    multiply and an add into one rounding (FMA); either changes the last bit of about half
    of the values, and with them every figure trained from that seed. The barrier keeps the
    draw apart from the scaling; the multiply-add is compiled on its own eagerly too, so it
    is fused the same way in both.
    """
    def init(key, shape, dtype=jnp.float32):
        x = jax.lax.optimization_barrier(draw(key, shape, dtype))
        if not shift:
            return x * jnp.asarray(scale, dtype)
        return _multiply_add(x, jnp.asarray(scale, dtype), jnp.asarray(shift, dtype))
    return init
