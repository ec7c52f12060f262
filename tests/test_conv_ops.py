"""The XLA:CPU formulations of ae_jax/models/conv_ops.py compute what XLA's ops compute."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.models import build_model
from ae_jax.models import conv as conv_module
from ae_jax.models.conv_ops import (
    conv_lax,
    conv_out_shift,
    conv_pool_few_channels,
    conv_same_cpu,
    conv_shift_grad,
    max_pool_2x2,
    upsample_2x,
    upsample_conv_out_shift,
    upsample_conv_subpixel,
)
from configs import default


def _rand(shape, seed=0):
    return jax.random.normal(jax.random.PRNGKey(seed), shape)


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("cin, cout", [(1, 8), (8, 2), (6, 6)])
def test_convolutions_equal_lax(k, cin, cout):
    x, kernel = _rand((2, 10, 12, cin)), _rand((k, k, cin, cout), 1)
    expected = conv_lax(x, kernel)
    for fn in (conv_same_cpu, conv_out_shift):
        np.testing.assert_allclose(fn(x, kernel), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(upsample_conv_out_shift(x, kernel),
                               conv_lax(upsample_2x(x), kernel), rtol=1e-5, atol=1e-5)


def _value_and_grads(conv, x, kernel, g):
    out, vjp = jax.vjp(conv, x, kernel)
    return (out, *vjp(g))


@pytest.mark.parametrize("padding, k", [("SAME", 3), ("SAME", 5), ("SAME", 2), ("SAME", 4),
                                        ("VALID", 3), ("VALID", 2)])
@pytest.mark.parametrize("cin", [2, 8])  # one im2col kernel gradient, one matmul per tap
def test_hand_written_conv_gradients_equal_xla(padding, k, cin):
    x, kernel = _rand((3, 9, 11, cin)), _rand((k, k, cin, 6), 1)
    g = _rand(conv_lax(x, kernel, padding).shape, 2)
    ours = _value_and_grads(lambda a, b: conv_shift_grad(a, b, padding), x, kernel, g)
    xla = _value_and_grads(lambda a, b: conv_lax(a, b, padding), x, kernel, g)
    for a, b in zip(ours, xla, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _conv_then_pool(x, kernel):
    return max_pool_2x2(conv_lax(x, kernel))


@pytest.mark.parametrize("k, cin, integers", [(3, 1, False), (3, 3, False), (5, 2, False),
                                              (3, 1, True)])
def test_conv_pool_at_the_pooled_resolution_equals_conv_then_pool_with_gradients(
        k, cin, integers):
    """Values and both gradients; with integer inputs every sum is exact, so windows hold
    exact ties and the gradient must go to the same (first) maximum as max_pool_2x2's."""
    x, kernel = _rand((3, 8, 10, cin)), _rand((k, k, cin, 6), 1)
    if integers:
        x, kernel = jnp.round(2 * x), jnp.round(kernel)
    g = _rand((3, 4, 5, 6), 2)
    ours = _value_and_grads(conv_pool_few_channels, x, kernel, g)
    xla = _value_and_grads(_conv_then_pool, x, kernel, g)
    if integers:  # some windows do hold a tie
        windows = conv_lax(x, kernel).reshape(3, 4, 2, 5, 2, 6)  # window axes 2 and 4
        at_max = windows == windows.max(axis=(2, 4), keepdims=True)
        assert int(jnp.sum(at_max.sum(axis=(2, 4)) > 1)) > 0
    for a, b in zip(ours, xla, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cin, ours, xla", [(1, conv_pool_few_channels, _conv_then_pool),
                                            (6, conv_shift_grad, conv_lax)])
def test_hand_written_gradients_hold_under_vmap_as_for_many_runs(cin, ours, xla):
    x, kernel = _rand((3, 2, 8, 8, cin)), _rand((3, 3, 3, cin, 5), 1)  # 3 runs

    def grads(conv):
        return jax.vmap(jax.grad(lambda a, b: jnp.sum(conv(a, b) ** 2), argnums=(0, 1)))(
            x, kernel)

    for a, b in zip(grads(ours), grads(xla), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(b))))


def test_subpixel_convolution_equals_upsample_then_conv_with_its_gradients():
    x, kernel = _rand((2, 5, 7, 6)), _rand((3, 3, 6, 4), 1)
    g = _rand((2, 10, 14, 4), 2)
    ours = _value_and_grads(upsample_conv_subpixel, x, kernel, g)
    xla = _value_and_grads(lambda a, b: conv_lax(upsample_2x(a), b), x, kernel, g)
    for a, b in zip(ours, xla, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_upsample_is_keras_nearest():
    x = _rand((2, 3, 4, 5))
    np.testing.assert_array_equal(upsample_2x(x), jnp.repeat(jnp.repeat(x, 2, 1), 2, 2))


def test_max_pool_and_its_gradient_equal_flax_including_ties():
    x = jnp.round(_rand((2, 6, 8, 3)))  # many ties within windows
    g = _rand((2, 3, 4, 3), 1)

    def flax_pool(x):
        return nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")

    np.testing.assert_array_equal(max_pool_2x2(x), flax_pool(x))
    grad_ours = jax.vjp(max_pool_2x2, x)[1](g)[0]
    grad_flax = jax.vjp(flax_pool, x)[1](g)[0]
    np.testing.assert_array_equal(grad_ours, grad_flax)


def _conv_config(encoder, decoder, latent_dim=0, activation="relu"):
    cfg = default.get_config().model
    cfg.name, cfg.latent_dim, cfg.activation = "conv", latent_dim, activation
    cfg.encoder_layers, cfg.decoder_layers = encoder, decoder
    return cfg


@pytest.mark.parametrize("cfg", [
    _conv_config(("conv32", "pool", "conv32", "pool"), ("conv32", "up", "conv32", "up")),
    _conv_config(("conv16", "pool", "conv8", "pool", "conv8", "pool"),   # 28 -> 4 and the
                 ("conv8", "up", "conv8", "up", "conv16_valid", "up")),  # 'valid' 16 -> 14
    _conv_config(("conv8", "pool"), ("conv8", "up"), latent_dim=5, activation="gelu"),
], ids=["denoising-32-32", "seeds-4385", "latent-gelu"])
def test_cpu_formulation_equals_lax(cfg):
    """Same parameters (names, shapes, initial values), same logits and gradients (6
    examples: "cpu" runs them as sub-batches of 1, 2, 1 and 2)."""
    x = jax.random.uniform(jax.random.PRNGKey(0), (6, 28, 28, 1))
    models = {}
    for impl in ("lax", "cpu"):
        cfg.conv_impl = impl
        models[impl] = build_model(cfg, (28, 28, 1))
    params = jax.jit(models["lax"].init)(jax.random.PRNGKey(1), x)["params"]
    params_cpu = jax.jit(models["cpu"].init)(jax.random.PRNGKey(1), x)["params"]
    jax.tree_util.tree_map(np.testing.assert_array_equal, params, params_cpu)

    def loss(params, model):
        logits, aux = model.apply({"params": params}, x)
        return jnp.sum(jnp.square(logits)), logits

    grad = jax.jit(jax.value_and_grad(loss, has_aux=True), static_argnums=1)
    (_, lax_logits), lax_grads = grad(params, models["lax"])
    (_, cpu_logits), cpu_grads = grad(params, models["cpu"])
    np.testing.assert_allclose(cpu_logits, lax_logits, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(cpu_grads), jax.tree_util.tree_leaves(lax_grads),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(b))))


def test_cpu_sub_batches_compute_what_the_whole_batch_computes(monkeypatch):
    """conv_impl "cpu" runs the layers on CPU_SUB_BATCHES pieces of the batch with shared
    parameters: the same logits, code, hidden activations and gradients as one piece, and
    each XLA convolution of the compiled step once per piece."""
    cfg = _conv_config(("conv32", "pool", "conv32", "pool"), ("conv32", "up", "conv32", "up"))
    cfg.conv_impl = "cpu"
    model = build_model(cfg, (28, 28, 1))
    x = jax.random.uniform(jax.random.PRNGKey(0), (10, 28, 28, 1))
    params = model.init(jax.random.PRNGKey(1), x[:1])["params"]

    def make_loss():  # a new function each time: JAX caches traces by function
        def loss(params):
            logits, aux = model.apply({"params": params}, x)
            return jnp.sum(jnp.square(logits)), (logits, aux["code"], aux["hidden"])
        return loss

    results, convs = {}, {}
    for pieces in (1, 4):
        monkeypatch.setattr(conv_module, "CPU_SUB_BATCHES", pieces)
        loss = make_loss()
        hlo = jax.jit(loss).lower(params).compile().as_text()
        convs[pieces] = hlo.count(" convolution(")
        results[pieces] = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
        monkeypatch.undo()
    assert convs[4] == 4 * convs[1] > 0
    (_, whole), whole_grads = results[1]
    (_, split), split_grads = results[4]
    assert len(jax.tree_util.tree_leaves(whole)) == len(jax.tree_util.tree_leaves(split)) == 4
    for a, b in zip(jax.tree_util.tree_leaves(split), jax.tree_util.tree_leaves(whole),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    for a, b in zip(jax.tree_util.tree_leaves(split_grads),
                    jax.tree_util.tree_leaves(whole_grads), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(jnp.max(jnp.abs(b))))


def _reference_dae(params, x):
    """The 32-32 denoising model written with nn.Conv / nn.max_pool / jnp.repeat, relu after
    every bias (no pooling before bias), as Keras computes it."""
    def conv(p, x):
        return nn.Conv(p["kernel"].shape[-1], (3, 3), padding="SAME").apply({"params": p}, x)

    def pool(x):
        return nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")

    def up(x):
        return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)

    enc, dec = params["encoder"], params["decoder"]
    h = pool(nn.relu(conv(enc["conv_0"], x)))
    h = pool(nn.relu(conv(enc["conv_1"], h)))
    h = up(nn.relu(conv(dec["conv_0"], h)))
    h = up(nn.relu(conv(dec["conv_1"], h)))
    return conv(dec["output"], h)


@pytest.mark.parametrize("impl", ["lax", "cpu"])
def test_denoising_model_equals_the_plain_keras_computation(impl):
    cfg = _conv_config(("conv32", "pool", "conv32", "pool"), ("conv32", "up", "conv32", "up"))
    cfg.conv_impl = impl
    model = build_model(cfg, (28, 28, 1))
    x = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1))
    params = model.init(jax.random.PRNGKey(1), x)["params"]
    np.testing.assert_allclose(model.apply({"params": params}, x)[0],
                               _reference_dae(params, x), rtol=1e-5, atol=1e-5)


def test_unknown_conv_impl_is_a_clear_error():
    cfg = _conv_config(("conv8", "pool"), ("conv8", "up"))
    cfg.conv_impl = "fast"
    model = build_model(cfg, (28, 28, 1))
    with pytest.raises(ValueError, match="unknown conv_impl 'fast'"):
        model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
