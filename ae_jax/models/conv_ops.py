"""Convolution, pooling and upsampling written for speed on XLA:CPU, with the maths of
`lax.conv_general_dilated`, `nn.max_pool` and nearest upsampling (NHWC, kernels HWIO).

Measured on the seeds' 32-32 conv denoising training step (batch 128, 2-core CPU, forward +
backward + Adam; `python benchmarks/conv_step.py --rounds 5`, interleaved medians,
2026-12-03): 140 ms with `nn.Conv` / `nn.max_pool` / `jnp.repeat`, 70 ms with these as one
compiled step, 46 ms per step inside the epoch's `lax.scan` (the plain layers: about 1.5 s
per step there); 39 ms with the sub-batches below (2026-12-07), and 32 ms after the
kernel-gradient dots and the pooled-resolution input layer below (the same command, later
that day; the whole batch at once 44.5 ms, the plain layers 126 ms). Where the time went (per-op
profiles of the step, `jax.profiler`) and what fixed it; the per-layer figures below are
one-off microbenchmarks of a layer's forward + backward (batch 128, the same CPU, medians of
5 x 20 calls; the scripts are not shipped), indicative only:

  * `nn.max_pool`'s gradient (select_and_scatter) was the largest single cost at 28x28x32;
    `max_pool_2x2` has a custom VJP that routes the gradient to the first maximum of each
    window (the same choice as select_and_scatter): the four window positions in order with
    a running "taken" mask, one fused pass (2.6x faster than a min-reduction of positions).
  * pooling before bias and activation: act(pool(conv(x)) + b) == pool(act(conv(x) + b)) for
    non-decreasing activations, with the elementwise passes at a quarter of the resolution.
  * XLA:CPU's kernel-gradient convolution is slow (14.5 ms for 14x14x32 -> 32 at batch 128,
    against 3.3 ms for the forward convolution) and far slower inside a while loop:
    `conv_shift_grad` keeps XLA's forward convolution (XLA:CPU sends it to its YNN library)
    and its input gradient, and computes dK as one matmul per kernel tap (5.7 ms). With it
    the step runs well inside `lax.scan`, so convolutions train with the scanned epoch.
    im2col (one matmul of the stacked shifts) was slower for 32 channels (17.9 ms forward),
    and so were the kernel gradient as a convolution over the batch, as one matmul of
    flattened shifted rows, and as a batched matmul of stacked shifts.
  * the kernel-gradient dots are written to contract their left operand's second axis
    (`_kernel_grad_by_shifts`): XLA:CPU sends x^T g, which contracts the first, to Eigen, and
    the (O, C) dot g^T x, with g^T materialized once behind an optimization barrier, to YNN.
    Per-op profiles of the scanned step on one core (`taskset -c 0`, one-off): the encoder's
    36 tap dots 12.1 -> 5.7 ms per step, the whole step 66.5 -> 58.5 ms.
  * the 1-channel input layer and its pool (`conv_pool_few_channels`): the convolution at
    each of the four positions of every 2x2 window as broadcast products that XLA fuses with
    the max, so the 28x28x32 output is never written, and a VJP that routes the gradient
    with a stored int8 index of each window's maximum. Its forward was 8 ms of im2col
    (concatenated shifts, a K=9 matmul, the pool) on one core and is now under 2 ms. The
    same forward tried earlier with autodiff's backward gave nothing measurable.
  In an in-process A/B of the previous formulations against these (one-off script, 11
  interleaved rounds of the scanned step, 2026-12-07), the step took 0.84 of the time on
  both cores (34.2 vs 39.2 ms) and 0.81 on one (61.4 vs 74.0 ms). Measured in the same way
  and dropped: XLA's forward convolution for the sub-pixel layer (a materialized pad, so
  YNN takes it) and a VALID input gradient for it, the sub-pixel layer as one (N, 128) x
  (128, 128) im2col matmul, the output layer's kernel gradient as an NN dot (all 0.97-1.07),
  the pooled input layer's kernel gradient as a fused reduction (1.19), and 2, 6 or 8
  sub-batches instead of 4 (1.03-1.15).
  * few output channels (the 32 -> 1 output layer): `conv_out_shift` multiplies first (C ->
    k*k*O channels) and sums k*k shifted slices; after a nearest upsampling it multiplies at
    the low resolution (`upsample_conv_out_shift`, 4x fewer multiply-adds).
  * a 3x3 convolution after a nearest upsampling: `upsample_conv_subpixel` computes the four
    output phases as one 2x2 convolution at the low resolution (16/36 of the multiply-adds,
    no upsampled copy): 6.5 ms forward + backward at 7 -> 14 x 32 -> 32 against 10.2 ms for
    upsample-then-conv_shift_grad and 18.3 ms for XLA's.
Tried and dropped: NCHW layouts and the XLA:CPU flags that exist in jaxlib 0.10.2 (xnn / ynn
/ onednn fusion types, fast math, Eigen threading) were slower or within noise; space-to-depth
for the input layer and its pool (one (16, 4*32) matmul per 2x2 block) was slower, 5.7 vs
4.5 ms forward + kernel gradient. Also dropped (2026-12-06, one-off scripts, same CPU):
Winograd F(2x2, 3x3) (16 batched (tiles, 32) x (32, 32) matmuls between the input and output
transforms, gradients by autodiff): 30.8 ms forward + backward at 14x14x32 -> 32 against
15.3 ms for conv_shift_grad; micro-batches run one after another: the scanned step costs the
same per 128 images at batch 16, 32, 64 and 128 (47.2, 44.7, 48.2, 47.6 ms). What did help
(2026-12-07) is sub-batches run side by side: one-off traces showed the executor idle
5.6-8.5 ms of a 40-48 ms step and two ops overlapping for only 8-10 ms, so the layers now
run on four sub-batches as independent chains (ae_jax/models/conv.py CPU_SUB_BATCHES; 39.4
vs 48.0 ms, `python benchmarks/conv_step.py --rounds 7`, variants cpu@scan8 and
cpu@scan8/whole; the overlap rose to 16-17 ms). Dropped the same day (one-off in-process
A/B): the kernel gradient with the width folded by 2 (six 64x64 matmuls per tap row), and
the input layer's conv and pool computed at the pooled resolution by broadcast products
(both within noise; the latter, with autodiff's backward, is now conv_pool_few_channels
with its own). Where the whole-batch step's time went (`python benchmarks/conv_step.py
--profile`: a jax.profiler trace of 8 scanned steps, ops summed by the layer in their HLO op
names; ops that run side by side are each counted in full; two runs, 2026-12-06, before the
sub-batches, 42-44 ms per step): half of it in the encoder's second convolution (14x14x32 ->
32, then pool), 6 ms forward (XLA's convolution) and 14-15 ms backward (its input gradient,
nine kernel-gradient taps, their shifted copies, the pool's gradient); the decoder's
sub-pixel convolution 5.5-5.6 ms, its 7x7 convolution 5.1-5.3 ms, the input layer 5.3-5.8 ms,
the output layer 2.1 ms, everything else (corruption, loss, Adam, pooling) about 3.5 ms.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

# Up to this many input channels a kernel gradient stacks the k*k taps' rows into one
# matmul (above it, one matmul per tap is faster), and a convolution followed by a 2x2 max
# pool is computed at the pooled resolution (conv_pool_few_channels).
FEW_CHANNELS = 4


def _pad_same(x, k: int):
    p = k // 2
    return jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))


def conv_lax(x, kernel, padding: str = "SAME"):
    """XLA's convolution, (B, H, W, C) * (k, k, C, O) -> (B, H', W', O)."""
    return lax.conv_general_dilated(x, kernel, (1, 1), padding,
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _shifts(xp, kh: int, kw: int, h: int, w: int):
    """The kh*kw windows of the padded xp, row-major in (dy, dx): xp[:, dy:dy+h, dx:dx+w]."""
    return [xp[:, dy:dy + h, dx:dx + w, :] for dy in range(kh) for dx in range(kw)]


def _tap_rows(windows):
    """(kh*kw*C, B*H*W): each window's channels as rows, tap-major then channel."""
    return jnp.concatenate([jnp.moveaxis(s, -1, 0).reshape(s.shape[-1], -1) for s in windows])


def _kernel_grad_by_shifts(xp, g, kh: int, kw: int):
    """dK of a 'VALID' convolution of the (already padded) input xp (B, H+kh-1, W+kw-1, C)
    with output gradient g (B, H, W, O), a sum over the B*H*W pixels per tap,
        dK[dy, dx] = shift(xp, dy, dx)^T g,   (C, O),
    written as dots that contract their left operand's second axis: XLA:CPU sends those to
    YNN, and dots that contract the first (x^T g as written above) to Eigen, at about half
    the speed. For C > FEW_CHANNELS, g^T is made once and kept as its own array by an
    optimization barrier (else XLA folds the transpose back into the dot), and
    dK[dy, dx]^T = g^T shift(xp, dy, dx), one (O, C) dot per tap; for few channels the
    taps' rows are stacked, (kh*kw*C, B*H*W), for one dot with g."""
    b, h, w, o = g.shape
    c = xp.shape[-1]
    g_rows = g.reshape(-1, o)  # (B, H, W, O) -> (B*H*W, O)
    shifts = _shifts(xp, kh, kw, h, w)
    if c <= FEW_CHANNELS:
        return jnp.dot(_tap_rows(shifts), g_rows).reshape(kh, kw, c, o)
    g_t = lax.optimization_barrier(g_rows.T)  # (O, B*H*W), materialized
    per_tap = [jnp.dot(g_t, s.reshape(-1, c)) for s in shifts]  # kh*kw x (O, C)
    return jnp.swapaxes(jnp.stack(per_tap), 1, 2).reshape(kh, kw, c, o)


def _padding_pairs(padding: str, kh: int, kw: int):
    """The (low, high) padding of each spatial side of a stride-1 'SAME' or 'VALID'
    convolution, as XLA pads: 'SAME' puts (k - 1) // 2 before and k // 2 after."""
    if padding == "VALID":
        return ((0, 0), (0, 0))
    return (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv_shift_grad(x, kernel, padding: str = "SAME"):
    """`conv_lax` ('SAME' or 'VALID', stride 1) with XLA's forward convolution and
    hand-written gradients: dX = conv(dY, K[::-1, ::-1]^T) with the transposed padding
    (k - 1 - low, k - 1 - high) (XLA's own transpose rule, which XLA:CPU runs fast), and dK by
    `_kernel_grad_by_shifts` (XLA:CPU's kernel-gradient convolution is 2.5x slower at
    14x14x32 -> 32, and 20x slower inside a while loop)."""
    return conv_lax(x, kernel, padding)


def _conv_shift_grad_fwd(x, kernel, padding):
    return conv_lax(x, kernel, padding), (x, kernel)


def _input_grad(g, kernel, padding):
    """dX of conv_lax(x, kernel, padding): conv(dY, K[::-1, ::-1]^T) with the transposed
    padding (k - 1 - low, k - 1 - high)."""
    kh, kw = kernel.shape[:2]
    pads = _padding_pairs(padding, kh, kw)
    flipped = jnp.transpose(kernel[::-1, ::-1], (0, 1, 3, 2))  # (kh, kw, O, C)
    transposed = [(k - 1 - lo, k - 1 - hi) for k, (lo, hi) in zip((kh, kw), pads, strict=True)]
    return conv_lax(g, flipped, transposed)


def _conv_shift_grad_bwd(padding, residuals, g):
    x, kernel = residuals
    kh, kw = kernel.shape[:2]
    xp = jnp.pad(x, ((0, 0), *_padding_pairs(padding, kh, kw), (0, 0)))
    return _input_grad(g, kernel, padding), _kernel_grad_by_shifts(xp, g, kh, kw)


conv_shift_grad.defvjp(_conv_shift_grad_fwd, _conv_shift_grad_bwd)


def fits_conv_pool(x_shape, kernel_shape) -> bool:
    """Whether conv_pool_few_channels computes this 'SAME' convolution and its 2x2 pool."""
    k, _, c, _ = kernel_shape
    return k % 2 == 1 and c <= FEW_CHANNELS and x_shape[1] % 2 == 0 == x_shape[2] % 2


def _pool_phases(x, k: int):
    """P[r][s][b, p, q, c] = pad(x)[b, 2p + r, 2q + s, c] for r, s < k + 1: the stride-2
    samples of the padded input that the 2x2 windows of the k x k convolution read."""
    h, w = x.shape[1:3]
    xp = _pad_same(x, k)
    return [[xp[:, r:r + h - 1:2, s:s + w - 1:2, :] for s in range(k + 1)] for r in range(k + 1)]


_WINDOW = ((0, 0), (0, 1), (1, 0), (1, 1))  # a 2x2 pool window's positions, row-major


def _window_outputs(phases, kernel):
    """The convolution at each position (a, a') of every 2x2 pool window,
    Y_aa'[b, p, q] = sum_(dy, dx, c) P[a + dy][a' + dx][b, p, q, c] K[dy, dx, c], as
    broadcast products that XLA fuses into one pass (no full-resolution output)."""
    k, _, c, _ = kernel.shape
    outs = []
    for a, a2 in _WINDOW:
        total = 0.0
        for dy in range(k):
            for dx in range(k):
                for ci in range(c):
                    total = total + phases[a + dy][a2 + dx][..., ci:ci + 1] * kernel[dy, dx, ci]
        outs.append(total)
    return outs


@jax.custom_vjp
def conv_pool_few_channels(x, kernel):
    """max_pool_2x2(conv_lax(x, kernel)) ('SAME', odd k, few input channels, H and W even)
    at the pooled resolution: the max of the four window outputs Y_aa' (_window_outputs),
    so the full-resolution convolution is never written. Its VJP routes the gradient to
    the first maximum of each window in row-major order (as max_pool_2x2) and gives
        dK[dy, dx, c] = sum_aa' sum_(b, p, q) P[a + dy][a' + dx][b, p, q, c] G_aa'[b, p, q],
    G_aa' = dY where the window's maximum is at (a, a'), else 0: a dot of the stacked phase
    rows with G_aa' per window position. dX is the full-resolution routed gradient through
    `_input_grad` (XLA drops it where nothing uses it, as for a network's input)."""
    return _conv_pool_value(x, kernel)[0]


def _conv_pool_value(x, kernel):
    outs = _window_outputs(_pool_phases(x, kernel.shape[0]), kernel)
    return functools.reduce(jnp.maximum, outs), outs


def _conv_pool_fwd(x, kernel):
    y, outs = _conv_pool_value(x, kernel)
    first = jnp.full(y.shape, len(outs) - 1, jnp.int8)  # where each window's maximum is
    for i in reversed(range(len(outs) - 1)):
        first = jnp.where(outs[i] == y, jnp.int8(i), first)
    return y, (x, kernel, first)


def _conv_pool_bwd(residuals, g):
    x, kernel, first = residuals
    k, _, c, o = kernel.shape
    phases = _pool_phases(x, k)
    routed = [jnp.where(first == i, g, 0.0).astype(g.dtype) for i in range(len(_WINDOW))]
    dk = sum(jnp.dot(_tap_rows([phases[a + dy][a2 + dx] for dy in range(k) for dx in range(k)]),
                     part.reshape(-1, o))  # (k*k*C, B*H/2*W/2) @ (B*H/2*W/2, O)
             for (a, a2), part in zip(_WINDOW, routed, strict=True)).reshape(k, k, c, o)
    b, hp, wp, _ = g.shape
    full = jnp.stack([jnp.stack(routed[2 * a:2 * a + 2], axis=3) for a in (0, 1)], axis=2)
    full = full.reshape(b, 2 * hp, 2 * wp, o)  # (B, H/2, 2, W/2, 2, O) -> (B, H, W, O)
    return _input_grad(full, kernel, "SAME"), dk


conv_pool_few_channels.defvjp(_conv_pool_fwd, _conv_pool_bwd)


# _SUBPIXEL_TAPS[a, t, y]: which rows y of a 3-row kernel act on low-resolution row offset
# t - 1 + a for output phase a (an even output row 2i reads upsampled rows 2i-1, 2i, 2i+1,
# i.e. x rows i-1, i, i; an odd one 2i+1 reads x rows i, i, i+1).
_SUBPIXEL_TAPS = np.array([[[1, 0, 0], [0, 1, 1]],
                           [[1, 1, 0], [0, 0, 1]]], np.float32)


def upsample_conv_subpixel(x, kernel):
    """conv_lax(upsample_2x(x), kernel) for a 3x3 'SAME' kernel, computed at the low
    resolution (sub-pixel convolution): each of the four output phases (a, b) is a 2x2
    convolution of x with the kernel's rows and columns summed as _SUBPIXEL_TAPS says, so one
    2x2 'VALID' convolution of pad(x) to 4*O channels gives them all,
        Y[b, p, q, (a, b', o)] = sum_(t, u) pad(x)[p + t, q + u] K'[t, u, :, (a, b', o)],
        out[2i + a, 2j + b'] = Y[i + a, j + b', (a, b')],
    with 16/36 of the multiply-adds and no upsampled copy of x."""
    b, h, w, c = x.shape
    o = kernel.shape[-1]
    taps = jnp.asarray(_SUBPIXEL_TAPS)
    phase_kernel = jnp.einsum("aty,buz,yzco->tucabo", taps, taps, kernel).reshape(
        2, 2, c, 4 * o)  # (t, u, C, (a, b', O))
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    y = conv_shift_grad(xp, phase_kernel, "VALID")  # (B, h+1, w+1, 4*O)
    y6 = y.reshape(b, h + 1, w + 1, 2, 2, o)  # (B, p, q, a, b', O)
    rows = [jnp.stack([y6[:, a:a + h, bb:bb + w, a, bb] for bb in (0, 1)], axis=3)
            for a in (0, 1)]  # 2 x (B, h, w, 2, O)
    return jnp.stack(rows, axis=2).reshape(b, 2 * h, 2 * w, o)  # (B, h, 2, w, 2, O) -> out


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
    if FEW_CHANNELS < c and o < c:
        return conv_out_shift(x, kernel)
    return conv_shift_grad(x, kernel)


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
    select_and_scatter, i.e. `nn.max_pool`'s gradient); the others get 0. The four window
    positions are visited in that order with a running "taken" mask, one fused pass."""
    x, y = residuals
    b, h, w, c = x.shape
    x6 = x.reshape(b, h // 2, 2, w // 2, 2, c)  # (B, H, W, C) -> (B, H/2, 2, W/2, 2, C)
    taken = jnp.zeros(y.shape, bool)
    parts = []
    for a in (0, 1):
        for bb in (0, 1):
            first = (x6[:, :, a, :, bb, :] == y) & ~taken
            taken = taken | first
            parts.append(jnp.where(first, g, 0.0).astype(x.dtype))
    rows = [jnp.stack(parts[2 * a:2 * a + 2], axis=3) for a in (0, 1)]  # 2 x (B, H/2, W/2, 2, C)
    return (jnp.stack(rows, axis=2).reshape(b, h, w, c),)  # (B, H/2, 2, W/2, 2, C) -> x's shape


max_pool_2x2.defvjp(_max_pool_fwd, _max_pool_bwd)
