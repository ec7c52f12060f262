"""Convolution, pooling and upsampling written for speed on XLA:CPU, with the maths of
`lax.conv_general_dilated`, `nn.max_pool` and nearest upsampling (NHWC, kernels HWIO).

Measured on the seeds' 32-32 conv denoising training step (batch 128, 2-core CPU, forward +
backward + Adam; `python benchmarks/conv_step.py`, interleaved medians): 139 ms with `nn.Conv` /
`nn.max_pool` / `jnp.repeat`, 80 ms with these. Where the time went (a per-op profile of the
plain step) and what fixed it:

  * `nn.max_pool`'s gradient (select_and_scatter) was the largest single cost at 28x28x32;
    `max_pool_2x2` has a custom VJP that routes the gradient to the first maximum of each
    window (the same choice as select_and_scatter) in one cheap fused loop.
  * pooling before bias and activation: act(pool(conv(x)) + b) == pool(act(conv(x) + b)) for
    non-decreasing activations, with the elementwise passes at a quarter of the resolution.
  * XLA's kernel gradient for a 1-channel input is slow: `conv_im2col` (k*k shifted slices,
    one matmul) for inputs of few channels; 32 -> 32 stays `lax.conv_general_dilated`
    (XLA:CPU sends it to its YNN library), which beat im2col there.
  * few output channels (the 32 -> 1 output layer): `conv_out_shift` multiplies first (C ->
    k*k*O channels) and sums k*k shifted slices; after a nearest upsampling it multiplies at
    the low resolution (`upsample_conv_out_shift`, 4x fewer multiply-adds).
NCHW layouts and the XLA:CPU flags that exist in jaxlib 0.10.2 (xnn / ynn / onednn fusion
types, fast math, Eigen threading) were slower or within noise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _pad_same(x, k: int):
    p = k // 2
    return jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))


def conv_lax(x, kernel, padding: str = "SAME"):
    """XLA's convolution, (B, H, W, C) * (k, k, C, O) -> (B, H', W', O)."""
    return lax.conv_general_dilated(x, kernel, (1, 1), padding,
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def conv_im2col(x, kernel):
    """'SAME' convolution (odd k) as one matmul of the k*k shifted copies of x:
    patches[b, i, j, (dy, dx, c)] = pad(x)[b, i + dy, j + dx, c], out = patches @ K."""
    b, h, w, c = x.shape
    k = kernel.shape[0]
    xp = _pad_same(x, k)
    patches = jnp.concatenate(
        [xp[:, dy:dy + h, dx:dx + w, :] for dy in range(k) for dx in range(k)], axis=-1)
    flat = patches.reshape(-1, k * k * c)  # (B, H, W, k*k*C) -> (B*H*W, k*k*C)
    return jnp.dot(flat, kernel.reshape(k * k * c, -1)).reshape(b, h, w, -1)


def _shift_sum(y, k: int, out: int, h: int, w: int):
    """sum over (dy, dx) of pad(y)[:, dy:dy+h, dx:dx+w, slot (dy, dx)] for y (B, h, w, k*k*O)."""
    yp = _pad_same(y, k)
    total = 0.0
    for dy in range(k):
        for dx in range(k):
            i = k * dy + dx
            total = total + yp[:, dy:dy + h, dx:dx + w, i * out:(i + 1) * out]
    return total


def _out_shift_kernel(kernel):
    k, _, c, o = kernel.shape
    return jnp.transpose(kernel, (2, 0, 1, 3)).reshape(c, k * k * o)  # (C, (dy, dx, o))


def conv_out_shift(x, kernel):
    """'SAME' convolution (odd k) for few output channels: Y = x @ K' with K' (C, k*k*O),
    then out[b, i, j] = sum_(dy,dx) pad(Y)[b, i + dy, j + dx, (dy, dx, :)]."""
    b, h, w, c = x.shape
    k, o = kernel.shape[0], kernel.shape[-1]
    y = jnp.dot(x.reshape(-1, c), _out_shift_kernel(kernel)).reshape(b, h, w, k * k * o)
    return _shift_sum(y, k, o, h, w)


def upsample_2x(x):
    """Nearest-neighbour 2x upsampling (Keras UpSampling2D): (B, H, W, C) -> (B, 2H, 2W, C)."""
    b, h, w, c = x.shape
    return jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, c)).reshape(
        b, 2 * h, 2 * w, c)


def upsample_conv_out_shift(x, kernel):
    """conv_out_shift(upsample_2x(x), kernel) with the matmul at the low resolution (the
    upsampling copies pixels, so it commutes with the per-pixel matmul)."""
    b, h, w, c = x.shape
    k, o = kernel.shape[0], kernel.shape[-1]
    y = jnp.dot(x.reshape(-1, c), _out_shift_kernel(kernel)).reshape(b, h, w, k * k * o)
    return _shift_sum(upsample_2x(y), k, o, 2 * h, 2 * w)


def conv_same_cpu(x, kernel):
    """'SAME' convolution (odd k), the formulation measured fastest on XLA:CPU for its
    channel counts (see the module docstring)."""
    c, o = kernel.shape[-2:]
    if c <= 4:
        return conv_im2col(x, kernel)
    if o < c:
        return conv_out_shift(x, kernel)
    return conv_lax(x, kernel)


@jax.custom_vjp
def max_pool_2x2(x):
    """2x2 max pooling with stride 2 of (B, H, W, C), H and W even."""
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))  # windows on axes 2 and 4


def _max_pool_fwd(x):
    y = max_pool_2x2(x)
    return y, (x, y)


def _max_pool_bwd(residuals, g):
    """The gradient goes to the first maximum of each window in row-major order (as
    select_and_scatter, i.e. `nn.max_pool`'s gradient); the others get 0."""
    x, y = residuals
    b, h, w, c = x.shape
    x6 = x.reshape(b, h // 2, 2, w // 2, 2, c)  # (B, H, W, C) -> (B, H/2, 2, W/2, 2, C)
    shape = (1, 1, 2, 1, 2, 1)
    position = 2 * lax.broadcasted_iota(jnp.int32, shape, 2) + lax.broadcasted_iota(
        jnp.int32, shape, 4)  # 0..3 within the window
    is_max = x6 == y[:, :, None, :, None, :]
    first = jnp.min(jnp.where(is_max, position, 4), axis=(2, 4), keepdims=True)
    grad = jnp.where(position == first, g[:, :, None, :, None, :], 0.0)
    return (grad.astype(x.dtype).reshape(b, h, w, c),)


max_pool_2x2.defvjp(_max_pool_fwd, _max_pool_bwd)
