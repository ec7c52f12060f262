"""Convolutional autoencoders described by a small layer language.

Layers are strings, input side first:

    "conv16"        3x3 (kernel_size) convolution to 16 channels, 'same' padding, activation
    "conv16_valid"  the same with 'valid' padding (the seeds' 16 -> 14 layer)
    "pool"          2x2 max pooling, 'same' padding (so 7 -> 4, as Keras)
    "up"            2x nearest-neighbour upsampling (Keras UpSampling2D)

The decoder ends with a convolution to the input's channel count whose output is the logits.
The seeds' 4,385-parameter model is

    encoder_layers = ("conv16", "pool", "conv8", "pool", "conv8", "pool")      # 28 -> 4x4x8
    decoder_layers = ("conv8", "up", "conv8", "up", "conv16_valid", "up")       # 4 -> 28

With `latent_dim` set, the feature map is flattened and a dense layer makes a vector code
(and the decoder starts with the inverse dense layer and reshape).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.abilities import DECODE, ENCODE
from ae_jax.models.activations import get_activation, get_dtype, get_kernel_init
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.conv_ops import (
    conv_lax,
    conv_pool_few_channels,
    conv_same_cpu,
    conv_shift_grad,
    fits_conv_pool,
    max_pool_2x2,
    upsample_2x,
    upsample_conv_out_shift,
    upsample_conv_subpixel,
)

_CONV = re.compile(r"^conv(\d+)(_valid)?$")


def parse_layer(spec: str):
    """('conv', channels, padding) | ('pool',) | ('up',); ValueError for anything else."""
    m = _CONV.match(spec)
    if m:
        return ("conv", int(m.group(1)), "VALID" if m.group(2) else "SAME")
    if spec in ("pool", "up"):
        return (spec,)
    raise ValueError(
        f"unknown conv layer {spec!r}: use 'conv<channels>', 'conv<channels>_valid', "
        "'pool' or 'up'"
    )


def feature_shape(input_shape: Sequence[int], layers: Sequence[str], kernel_size: int):
    """(H, W, C) after `layers`, by the output-size rule O = (W - F + 2P) / S + 1."""
    h, w, c = input_shape
    for spec in layers:
        layer = parse_layer(spec)
        if layer[0] == "conv":
            c = layer[1]
            if layer[2] == "VALID":
                h, w = h - kernel_size + 1, w - kernel_size + 1
        elif layer[0] == "pool":
            h, w = -(-h // 2), -(-w // 2)
        else:
            h, w = 2 * h, 2 * w
    return (h, w, c)


# act(pool(y) + b) == pool(act(y + b)) holds for these (non-decreasing) activations, so a
# conv followed by "pool" pools first and adds bias and activation at a quarter of the size.
MONOTONE_ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear", "elu", "selu", "softplus",
                        "leaky_relu")


def resolve_impl(impl: str) -> str:
    """`conv_impl`: "lax" (XLA's convolution, nn.max_pool) | "cpu" (ae_jax/models/conv_ops.py
    formulations, 1.7x faster per step on XLA:CPU: benchmarks/conv_step.py) | "auto" ("cpu"
    on the CPU backend)."""
    if impl == "auto":
        return "cpu" if jax.default_backend() == "cpu" else "lax"
    if impl not in ("lax", "cpu"):
        raise ValueError(f"unknown conv_impl {impl!r}: use auto, lax or cpu")
    return impl


def max_pool(x, impl: str):
    """2x2 max pooling, 'same' padding (7 -> 4, as Keras)."""
    if impl == "cpu" and x.shape[1] % 2 == 0 and x.shape[2] % 2 == 0:
        return max_pool_2x2(x)
    return nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")


def conv_cpu(x, kernel, padding: str):
    """The "cpu" formulation of a stride-1 convolution: conv_same_cpu for odd 'SAME'
    kernels, conv_shift_grad (XLA's forward, hand-written gradients) otherwise."""
    if padding == "SAME" and kernel.shape[0] % 2 == 1:
        return conv_same_cpu(x, kernel)
    return conv_shift_grad(x, kernel, padding)


class Conv(nn.Module):
    """A convolution with `nn.Conv`'s parameters (kernel (k, k, C, O), by default
    LeCun-normal as nn.Conv, `kernel_init="glorot_uniform"` as Keras's Conv2D with fan-in
    k*k*C and fan-out k*k*O; bias zeros; same names) computed by `impl`. Returns conv(x) + b,
    `pool(conv(x)) + b` with pool=True, and conv(upsample_2x(x)) + b with upsampled=True."""

    features: int
    kernel_size: int = 3
    padding: str = "SAME"
    impl: str = "lax"
    dtype: jnp.dtype = jnp.float32
    kernel_init: str = "lecun_normal"

    @nn.compact
    def __call__(self, x, pool: bool = False, upsampled: bool = False):
        k = self.kernel_size
        kernel = self.param("kernel", get_kernel_init(self.kernel_init),
                            (k, k, x.shape[-1], self.features), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
        x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
        fast = self.impl == "cpu" and self.padding == "SAME" and k % 2 == 1  # odd 'SAME'
        if pool and fast and not upsampled and fits_conv_pool(x.shape, kernel.shape):
            return conv_pool_few_channels(x, kernel) + bias
        if upsampled and fast and self.features < x.shape[-1]:
            y = upsample_conv_out_shift(x, kernel)
        elif upsampled and fast and k == 3:
            y = upsample_conv_subpixel(x, kernel)
        else:
            x = upsample_2x(x) if upsampled else x
            y = conv_cpu(x, kernel, self.padding) if self.impl == "cpu" else conv_lax(
                x, kernel, self.padding)
        if pool:
            y = max_pool(y, self.impl)
        return y + bias


def _apply_layers(x, layers, kernel_size, activation: str, dtype, impl: str = "lax",
                  output_channels: int = 0, kernel_init: str = "lecun_normal"):
    """Run the layer language inside a compact module; returns the output and every conv
    layer's activation (after its pool when a "pool" follows it: the two are computed
    together). `output_channels` > 0 appends the decoder's linear 'same' output conv (its
    logits are the output). With impl "cpu" the batch runs as sub-batches through the same
    layers (shared parameters), see `_sub_batches`."""
    ops = _layer_ops(layers, kernel_size, activation, dtype, impl, output_channels,
                     kernel_init)
    parts = [_run_layer_ops(ops, part) for part in _sub_batches(x, impl)]
    if len(parts) == 1:
        return parts[0]
    outs, hiddens = zip(*parts, strict=True)
    return jnp.concatenate(outs), [jnp.concatenate(h) for h in zip(*hiddens, strict=True)]


# impl "cpu" runs the layers on this many sub-batches, independent chains of ops that
# XLA:CPU's executor runs side by side. The seeds' 32-32 denoising step (batch 128, 2 cores,
# 2026-12-07): 39.4 ms per scanned step against 48.0 ms for the whole batch, and 32.0 vs
# 44.5 ms after that day's conv_ops changes (`python benchmarks/conv_step.py --rounds 7`,
# variants cpu@scan8 and cpu@scan8/whole); a one-off in-process A/B (11 interleaved rounds)
# gave 0.87 of the whole-batch time with 4 pieces of 32, 0.88 with 8 of 16 and 0.93 with 2
# of 64. Every example's values are the whole batch's; only the order of the gradient sums
# changes.
CPU_SUB_BATCHES = 4


def _sub_batches(x, impl: str) -> list:
    """x split along the batch into CPU_SUB_BATCHES pieces of near-equal size for impl
    "cpu" (fewer for a smaller batch); [x] otherwise."""
    n = min(CPU_SUB_BATCHES, x.shape[0]) if impl == "cpu" else 1
    return _split_rows(x, tuple(x.shape[0] * i // n for i in range(n + 1)))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _split_rows(x, edges):
    """[x[lo:hi] for consecutive edges], whose VJP concatenates the pieces' gradients. (The
    transpose of each slice alone is a zero pad, and a sum of padded pieces hides from XLA
    that the encoder's pieces of the code gradient are the decoder's: every piece's
    backward pass through the encoder then waited for all of the decoder's.)"""
    return [x[lo:hi] for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def _split_rows_fwd(x, edges):
    return _split_rows(x, edges), None


def _split_rows_bwd(edges, _, grads):
    return (jnp.concatenate(grads),)


_split_rows.defvjp(_split_rows_fwd, _split_rows_bwd)


def _layer_ops(layers, kernel_size, activation, dtype, impl, output_channels, kernel_init):
    """The layer language as a list of (kind, fn), each fn a batch -> batch map (its modules
    built once, so every sub-batch shares their parameters); kind "hidden" marks a conv
    layer's activation, which is returned too."""
    act = get_activation(activation)
    ops = [parse_layer(spec) for spec in layers]
    if output_channels:
        ops.append(("conv", output_channels, "SAME"))
    out, conv_index, upsampled, i = [], 0, False, 0
    while i < len(ops):
        op, following = ops[i], (ops[i + 1] if i + 1 < len(ops) else ("end",))
        if op[0] == "up" and following[0] == "conv":
            upsampled = True  # the next conv reads upsample_2x(x); it may multiply first
        elif op[0] == "up":
            out.append(("op", upsample_2x))
        elif op[0] == "pool":
            out.append(("op", lambda h: max_pool(h, impl)))
        else:
            is_output = bool(output_channels) and i == len(ops) - 1
            pool = following[0] == "pool" and activation in MONOTONE_ACTIVATIONS
            conv = Conv(op[1], kernel_size, op[2], impl, dtype, kernel_init,
                        name="output" if is_output else f"conv_{conv_index}")
            out.append(("op", lambda h, conv=conv, pool=pool, up=upsampled: conv(
                h, pool=pool, upsampled=up)))
            upsampled, i = False, i + pool  # a fused pool is consumed here
            if not is_output:
                out.append(("hidden", act))
                conv_index += 1
        i += 1
    return out


def _run_layer_ops(ops, x):
    hidden = []
    for kind, fn in ops:
        x = fn(x)
        if kind == "hidden":
            hidden.append(x)
    return x, hidden


class ConvStack(nn.Module):
    """What a conv encoder and decoder share: `layers` in the layer language (input side
    first), the kernel side in pixels, the activation, the dense code size (None or 0: the
    feature map is the code), the computation dtype, `conv_impl` (see resolve_impl) and the
    kernel initialiser of every conv and dense layer (ae_jax/models/activations.py)."""

    layers: Sequence[str]
    kernel_size: int = 3
    activation: str = "relu"
    latent_dim: int | None = None
    dtype: jnp.dtype = jnp.float32
    conv_impl: str = "auto"
    kernel_init: str = "lecun_normal"


class ConvEncoder(ConvStack):
    """x -> conv layers [-> flatten -> Dense(latent_dim)]. Returns (code, activations)."""

    @nn.compact
    def __call__(self, x):
        h, hidden = _apply_layers(x, self.layers, self.kernel_size, self.activation,
                                  self.dtype, resolve_impl(self.conv_impl),
                                  kernel_init=self.kernel_init)
        if self.latent_dim:
            flat = h.reshape((h.shape[0], -1))  # (B, h, w, c) -> (B, h*w*c)
            h = nn.Dense(self.latent_dim, dtype=self.dtype, name="latent",
                         kernel_init=get_kernel_init(self.kernel_init))(flat)
            hidden.append(h)
        return h, tuple(hidden)


class ConvDecoder(ConvStack):
    """[Dense(latent_dim -> code_shape) ->] conv layers -> output conv: logits of shape
    (B, *output_shape)."""

    output_shape: Sequence[int] = ()  # (H, W, C) of one example
    code_shape: Sequence[int] = ()  # (h, w, c) of the feature map the decoder starts from

    @nn.compact
    def __call__(self, z):
        act = get_activation(self.activation)
        if self.latent_dim:
            z = act(nn.Dense(math.prod(self.code_shape), dtype=self.dtype, name="from_latent",
                             kernel_init=get_kernel_init(self.kernel_init))(z))
            z = z.reshape((z.shape[0], *self.code_shape))  # (B, h*w*c) -> (B, h, w, c)
        logits, _ = _apply_layers(z, self.layers, self.kernel_size, self.activation,
                                  self.dtype, resolve_impl(self.conv_impl),
                                  output_channels=self.output_shape[-1],
                                  kernel_init=self.kernel_init)
        if logits.shape[1:] != tuple(self.output_shape):
            raise ValueError(
                f"decoder layers {tuple(self.layers)} produce {logits.shape[1:]}, "
                f"not the input shape {tuple(self.output_shape)}"
            )
        return logits


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder; see the module docstring for the layer language.
    `compute_dtype`: "float32" or "bfloat16" (mixed precision; parameters stay float32)."""

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE})

    output_shape: Sequence[int]
    encoder_layers: Sequence[str]
    decoder_layers: Sequence[str]
    kernel_size: int = 3
    activation: str = "relu"
    latent_dim: int | None = None
    output_activation: str = "sigmoid"
    compute_dtype: str = "float32"
    conv_impl: str = "auto"  # see resolve_impl
    kernel_init: str = "lecun_normal"  # lecun_normal (Flax) | glorot_uniform (Keras) | ...

    @property
    def xla_conv_gradients(self) -> bool:
        return resolve_impl(self.conv_impl) == "lax"

    def setup(self):
        code_shape = feature_shape(self.output_shape, self.encoder_layers, self.kernel_size)
        shared = dict(kernel_size=self.kernel_size, activation=self.activation,
                      latent_dim=self.latent_dim, dtype=get_dtype(self.compute_dtype),
                      conv_impl=self.conv_impl, kernel_init=self.kernel_init)
        self.encoder = ConvEncoder(self.encoder_layers, **shared)
        self.decoder = ConvDecoder(self.decoder_layers, output_shape=tuple(self.output_shape),
                                   code_shape=code_shape, **shared)

    def encode(self, x: jax.Array) -> jax.Array:
        return self.encoder(x)[0]

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def __call__(self, x):
        code, hidden = self.encoder(x)
        return self.decoder(code), {"code": code, "hidden": hidden}


@MODELS.register("conv")
def build_conv(model_config, example_shape) -> ConvAutoencoder:
    """model.name="conv": every ConvAutoencoder field from `model_config`; latent_dim 0
    keeps the feature map as the code."""
    return module_from_config(ConvAutoencoder, model_config, output_shape=example_shape,
                              latent_dim=model_config.latent_dim or None)
