"""VAE-GAN (family "vae_gan", ae_jax/families/vae_gan.py): the feature-space reconstruction
term and the other per-example values by hand, each network's gradient is that of its own
loss alone, D moves by its own update only, vmapped runs (with per-run gamma) equal separate
runs, and a short digits run lowers the feature-space reconstruction error."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax import rng
from ae_jax.engine import train_and_evaluate
from ae_jax.families import build_family
from ae_jax.forward import unflatten
from ae_jax.runs import set_run_hyperparams, set_run_loss_weights
from ae_jax.state import run_slice
from tests.conftest import digits_config, family_setup

SMALL = {"family": "vae_gan", "model.name": "vae_gan_mlp", "model.hidden_sizes": (32,),
         "model.discriminator_hidden_sizes": (32, 16), "num_plot_images": 0,
         "num_sample_images": 0}


def vae_gan_config(**overrides):
    """A VAE-GAN on sklearn's 8x8 digits: VAE 64-32-8, discriminator 64-32-16-1."""
    return digits_config(**{**SMALL, **overrides})


@pytest.fixture(scope="module")
def setup():
    """(dataset, family, fresh state, flat training split) of `vae_gan_config()`."""
    return family_setup(vae_gan_config())


def _np(tree):
    return [np.asarray(a, np.float64) for a in jax.tree_util.tree_leaves(tree)]


def _assert_trees_close(got, want, what, rtol=1e-4, atol=1e-6):
    a, b = _np(got), _np(want)
    assert len(a) == len(b) > 0, what
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=what)


def _params(state):
    return {name: net.params for name, net in state.nets.items()}


def _discriminator_by_hand(d, images, slope=0.2):
    """(logit (B,), hidden activations) of the dense discriminator, in float64 numpy."""
    h = 2.0 * np.asarray(images, np.float64).reshape(len(images), -1) - 1.0  # (B, H*W*C)
    hidden = []
    for i in range(len([k for k in d if k.startswith("dense_")])):
        h = h @ np.asarray(d[f"dense_{i}"]["kernel"]) + np.asarray(d[f"dense_{i}"]["bias"])
        h = np.where(h > 0, h, slope * h)
        hidden.append(h)
    logit = h @ np.asarray(d["output"]["kernel"]) + np.asarray(d["output"]["bias"])
    return logit[:, 0], hidden


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-np.asarray(a, np.float64)))


@pytest.mark.parametrize("layer", [0, -1])
def test_the_per_example_values_by_hand(setup, layer):
    """L_llike = 1/2 ||Dis_l(x) - Dis_l(x~)||^2 of layer l, KL, pixel BCE and the GAN costs,
    for fixed parameters, against a numpy forward pass of the discriminator."""
    ds, _, state, flat = setup
    family = build_family(vae_gan_config(**{"gan.feature_layer": layer}), ds.example_shape, 1)
    x = unflatten(flat[:16], ds.example_shape)  # (16, 8, 8, 1)
    keys = family.keys(jax.random.PRNGKey(3))
    got = family.per_example(state.nets, _params(state), x, keys)

    ae = state.nets["autoencoder"]
    logits, aux = ae.apply_fn(ae.variables(), x, rngs={"sample": keys["posterior"]})
    z_p = jax.random.normal(keys["prior"], (16, 8))  # z_p ~ N(0, I_8)
    recon, fake = _sigmoid(logits), _sigmoid(ae.apply_fn(ae.variables(), z_p, method="decode"))
    d = state.nets["discriminator"].params
    (l_real, h_real), (l_recon, h_recon) = (_discriminator_by_hand(d, a) for a in (x, recon))
    l_fake, _ = _discriminator_by_hand(d, fake)
    want_llike = 0.5 * np.sum((h_real[layer] - h_recon[layer]) ** 2, axis=1)
    assert want_llike.min() > 0
    np.testing.assert_allclose(got["llike"], want_llike, rtol=1e-4)

    m, v = (np.asarray(aux[k], np.float64) for k in ("mean", "logvar"))
    np.testing.assert_allclose(got["kl"], 0.5 * np.sum(np.exp(v) + m**2 - 1 - v, axis=1),
                               rtol=1e-4, atol=1e-6)
    xs = np.asarray(x, np.float64).reshape(16, -1)  # (16, 8, 8, 1) -> (16, 64)
    r = recon.reshape(16, -1)  # (16, 8, 8, 1) -> (16, 64)
    bce = -np.sum(xs * np.log(r) + (1 - xs) * np.log(1 - r), axis=1)
    np.testing.assert_allclose(got["bce"], bce, rtol=1e-4)
    s = _sigmoid
    np.testing.assert_allclose(got["d_loss"], -np.log(s(l_real)) - np.log(1 - s(l_recon))
                               - np.log(1 - s(l_fake)), rtol=1e-4)
    np.testing.assert_allclose(got["g_loss"], -np.log(s(l_recon)) - np.log(s(l_fake)),
                               rtol=1e-4)
    for name, logit in (("d_real", l_real), ("d_recon", l_recon), ("d_fake", l_fake)):
        np.testing.assert_allclose(got[name], s(logit), rtol=1e-4)


@functools.partial(jax.jit, static_argnums=0)
def _reference_grads(family, state, x, keys, gamma, pixel):
    """The gradients of each network's loss as its own scalar function (jax.grad; no vjp, no
    routing), and of L_llike with respect to D's parameters."""
    def means(ae_params, d_params):
        values = family.per_example(
            state.nets, {"autoencoder": ae_params, "discriminator": d_params}, x, keys)
        return {k: jnp.mean(v) for k, v in values.items()}

    ae_p, d_p = _params(state)["autoencoder"], _params(state)["discriminator"]
    enc = jax.grad(lambda a: (lambda m: m["kl"] + m["llike"] + pixel * m["bce"])(
        means(a, d_p)))(ae_p)
    dec = jax.grad(lambda a: (lambda m: gamma * m["llike"] + m["g_loss"] + pixel * m["bce"])(
        means(a, d_p)))(ae_p)
    dis = jax.grad(lambda d: means(ae_p, d)["d_loss"])(d_p)
    llike_d = jax.grad(lambda d: means(ae_p, d)["llike"])(d_p)
    return enc, dec, dis, llike_d


def test_each_network_gets_the_gradient_of_its_own_loss_alone(setup):
    """The routed gradients (one forward pass, three pullbacks) equal jax.grad of encoder:
    L_prior + L_llike + w BCE, decoder: gamma L_llike + C_G + w BCE, D: -L_GAN, each
    computed on its own; gamma and w come from the state's (per-run) loss weights."""
    ds, family, state, flat = setup
    state = set_run_loss_weights(state, llike=0.3, pixel=0.02)
    x = unflatten(flat[:64], ds.example_shape)  # the batch size: one compiled reference
    keys = family.keys(jax.random.PRNGKey(1))
    ae_grads, d_grads, _ = jax.jit(family.gradients)(state, x, keys)
    enc, dec, dis, llike_d = _reference_grads(family, state, x, keys, gamma=0.3, pixel=0.02)
    assert set(ae_grads) == {"encoder", "decoder"}
    _assert_trees_close(ae_grads["encoder"], enc["encoder"], "encoder")
    _assert_trees_close(ae_grads["decoder"], dec["decoder"], "decoder")
    _assert_trees_close(d_grads, dis, "discriminator")
    # The routing matters: the decoder's loss has an encoder gradient too (through x~),
    # and L_llike has one for D; neither is used.
    for a, b in zip(_np(dec["encoder"]), _np(enc["encoder"]), strict=True):
        assert not np.allclose(a, b, rtol=1e-2)
    assert np.abs(_np(llike_d["dense_0"])[0]).max() > 0


def test_the_discriminator_moves_by_its_own_update_only(setup):
    """One step = each optimizer on its own network's gradient; with D's learning rate 0 the
    VAE still moves and D's parameters do not (the VAE's losses, which read D, never
    update it)."""
    ds, family, state, flat = setup
    batch = flat[:64]
    step = jax.jit(family.train_step)
    after, metrics = step(state, batch)
    x = unflatten(batch, ds.example_shape)
    keys = family.keys(rng.stream_at(state.key, "sample", state.step))
    enc, dec, dis, _ = _reference_grads(family, state, x, keys, gamma=1.0, pixel=0.0)
    ae, disc = state.nets["autoencoder"], state.nets["discriminator"]
    want_ae = ae.apply_gradients({"encoder": enc["encoder"], "decoder": dec["decoder"]})
    want_d = disc.apply_gradients(dis)
    _assert_trees_close(after.nets["autoencoder"].params, want_ae.params, "VAE step", 1e-4,
                        1e-6)
    _assert_trees_close(after.nets["discriminator"].params, want_d.params, "D step", 1e-4,
                        1e-6)
    assert set(metrics) == {"loss", "kl", "llike", "bce", "d_loss", "g_loss", "d_real",
                            "d_recon", "d_fake"}
    assert float(metrics["loss"]) == pytest.approx(
        float(metrics["kl"]) + float(metrics["llike"]), rel=1e-6)

    frozen, _ = step(set_run_hyperparams(state, ["discriminator"], learning_rate=0.0), batch)
    for a, b in zip(_np(frozen.nets["discriminator"].params), _np(disc.params), strict=True):
        assert np.array_equal(a, b)
    _assert_trees_close(frozen.nets["autoencoder"].params, want_ae.params, "VAE, D frozen")
    assert not np.allclose(_np(frozen.nets["autoencoder"].params)[0], _np(ae.params)[0])


@pytest.mark.slow
def test_two_vmapped_runs_with_their_own_gamma_equal_separate_runs(tmp_path):
    """num_runs=2 with loss.terms.llike = [1, 0.25] per run == seed 0 with gamma 1 and seed
    1 with gamma 0.25 trained alone (pattern of tests/test_engine.py)."""
    small = {"data.train_limit": 256, "data.test_limit": 128, "eval_batch_size": 128,
             "num_epochs": 1}  # 4 steps
    gammas = (1.0, 0.25)
    both = train_and_evaluate(vae_gan_config(num_runs=2, **small), str(tmp_path / "both"),
                              run_hparams={"loss.terms.llike": list(gammas)})
    for r, gamma in enumerate(gammas):
        config = vae_gan_config(seed=r, **{**small, "gan.llike_weight": gamma})
        alone = train_and_evaluate(config, str(tmp_path / f"seed{r}"))
        _assert_trees_close(run_slice(both, r), alone, f"run {r}", rtol=2e-4, atol=2e-5)
    first = _np(both.nets["autoencoder"].params)[0]
    assert not np.allclose(first[0], first[1])


def _feature_error(family, state, ae_params, d_params, x, keys, order=None):
    """Mean L_llike on x with the given parameters; `order` pairs x_i with the
    reconstruction of x_order[i] (a mismatched pairing)."""
    nets, params = state.nets, {"autoencoder": ae_params, "discriminator": d_params}
    if order is None:
        return float(jnp.mean(family.per_example(nets, params, x, keys)["llike"]))
    ae, disc = nets["autoencoder"], nets["discriminator"]
    logits, _ = ae.apply_fn(ae.variables(ae_params), x[order], rngs={"sample": keys["posterior"]})
    h_real = disc.apply_fn(disc.variables(d_params), x)[1][family.feature_layer]
    h_recon = disc.apply_fn(disc.variables(d_params), jax.nn.sigmoid(logits))[1][
        family.feature_layer]
    return float(jnp.mean(0.5 * jnp.sum(jnp.square(h_real - h_recon), axis=-1)))


def test_a_short_digits_run_lowers_the_feature_space_reconstruction_error():
    """Measured in the trained discriminator's features (D's own features move while it
    trains, so the logged llike is not comparable across epochs): the trained VAE's test
    reconstructions are far closer to their inputs than the initial VAE's, and closer
    than reconstructions of other test images."""
    config = vae_gan_config(**{"model.hidden_sizes": (64,),
                               "model.discriminator_hidden_sizes": (64, 32),
                               "optimizer.learning_rate": 1e-3,
                               "discriminator_optimizer.learning_rate": 1e-3})
    ds, family, start, flat = family_setup(config)
    step = jax.jit(family.train_step)
    state, order = start, np.random.default_rng(0)
    for _ in range(10):  # epochs
        rows = order.permutation(len(flat))[:len(flat) // 64 * 64]
        for batch in rows.reshape(-1, 64):  # (S * 64,) -> (S, 64): one epoch's batches
            state, metrics = step(state, flat[batch])
    assert all(np.isfinite(float(v)) for v in metrics.values())
    test = jnp.asarray(ds.test.reshape(len(ds.test), -1))  # (N, 8, 8, 1) -> (N, 64)
    x = unflatten(test, ds.example_shape)
    keys = family.keys(jax.random.PRNGKey(5))
    ae0, ae1 = (s.nets["autoencoder"].params for s in (start, state))
    d1 = state.nets["discriminator"].params
    initial = _feature_error(family, state, ae0, d1, x, keys)
    trained = _feature_error(family, state, ae1, d1, x, keys)
    shuffled = _feature_error(family, state, ae1, d1, x, keys,
                              order=np.roll(np.arange(len(x)), 1))
    assert trained < 0.5 * initial
    assert trained < 0.9 * shuffled
