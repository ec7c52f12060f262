"""FactorVAE (family "factor_vae", ae_jax/families/factor_vae.py): the permutation and D's
loss by hand, each network moved by its own update only, gamma = 0 is the autoencoder
family's VAE, vmapped runs (seeds and gammas) equal separate runs, kill -9 resume, and a
short digits run whose TC falls with gamma."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.engine import train_and_evaluate
from ae_jax.families import build_family
from ae_jax.families.factor_vae import (
    discriminator_accuracy,
    discriminator_cross_entropy,
    permute_dims,
)
from ae_jax.runs import set_run_hyperparams, set_run_loss_weights
from ae_jax.state import run_slice
from tests.conftest import digits_config, family_setup

FACTOR = {"family": "factor_vae", "model.name": "vae_mlp", "model.latent_dim": 4,
          "loss.reduction": "sum", "loss.terms": {"kl": 1.0, "tc": 5.0},
          "model.discriminator_hidden_sizes": (32, 32), "discriminator_optimizer.beta1": 0.5,
          "discriminator_optimizer.beta2": 0.9}


def factor_config(**overrides):
    return digits_config(**{**FACTOR, **overrides})


@pytest.fixture(scope="module")
def factor():
    """(family, fresh state, flat training rows) of `factor_config()`, built once."""
    _, family, state, flat = family_setup(factor_config())
    return family, state, flat


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b), strict=True))


def _all_differ(a, b) -> bool:
    return all(not np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b), strict=True))


# -- the permutation and D's loss by hand --------------------------------------------------
def test_permute_dims_keeps_each_column_and_breaks_the_rows():
    b, dims = 16, 3
    z = 100.0 * jnp.arange(b)[:, None] + jnp.arange(dims)[None, :]  # z[i, d] = 100 i + d
    out = np.asarray(permute_dims(jax.random.PRNGKey(0), z))
    src = (out - np.arange(dims)) / 100.0  # the source row of every entry
    for d in range(dims):
        np.testing.assert_array_equal(out[:, d] % 100, d)  # column d's values stay in d
        np.testing.assert_array_equal(np.sort(src[:, d]), np.arange(b))  # a permutation
    assert not np.array_equal(src[:, 0], src[:, 1]), "each column has its own permutation"
    rows = {tuple(r) for r in np.asarray(z)}
    assert sum(tuple(r) in rows for r in out) <= 2, "the rows of z are broken up"


def test_permute_dims_permutes_real_rows_only_and_leaves_padding_in_place():
    z = 100.0 * jnp.arange(10)[:, None] + jnp.arange(2)[None, :]  # (10, 2)
    mask = jnp.asarray([1.0] * 7 + [0.0] * 3)
    out = np.asarray(permute_dims(jax.random.PRNGKey(3), z, mask))
    np.testing.assert_array_equal(out[7:], np.asarray(z)[7:])
    for d in range(2):
        np.testing.assert_array_equal(np.sort(out[:7, d]), np.asarray(z)[:7, d])


def test_the_discriminator_loss_is_the_cross_entropy_by_hand():
    real = np.array([2.0, -1.0, 0.5, 30.0])
    fake = np.array([-0.3, 2.0, -4.0, -95.0])  # 30 and -95: where log(sigmoid) underflows
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    # -1/(2h) sum [log D(z_i) + log(1 - D(z~_i))], with log(1 - s(l)) = log s(-l)
    want = -(np.sum(np.log(sig(real))) + np.sum(np.log(sig(-fake)))) / (2 * len(real))
    got = float(discriminator_cross_entropy(jnp.asarray(real), jnp.asarray(fake)))
    assert got == pytest.approx(want, rel=1e-6)
    np.testing.assert_array_equal(discriminator_accuracy(jnp.asarray(real), jnp.asarray(fake)),
                                  [1.0, 0.0, 1.0, 1.0])


def test_the_discriminator_step_reports_the_cross_entropy_of_its_real_and_permuted_codes(
        factor):
    family, state, _ = factor
    z = jax.random.normal(jax.random.PRNGKey(1), (10, 4))
    key = jax.random.PRNGKey(2)
    disc = state.nets["discriminator"]
    _, metrics = jax.jit(family.discriminator_step)(disc, z, key)
    logit = lambda c: np.asarray(disc.apply_fn(disc.variables(), c), np.float64)  # noqa: E731
    real, fake = logit(z[:5]), logit(permute_dims(key, z[5:]))
    want = 0.5 * (np.mean(np.log1p(np.exp(-real))) + np.mean(np.log1p(np.exp(fake))))
    assert float(metrics["d_loss"]) == pytest.approx(want, rel=1e-5)
    assert float(metrics["d_accuracy"]) == pytest.approx(
        0.5 * (np.mean(real > 0) + np.mean(fake <= 0)))


# -- one step: two networks, two optimizers ------------------------------------------------
def test_one_step_moves_each_network_by_its_own_update_only(factor):
    family, state, flat = factor
    state = set_run_hyperparams(state, ["discriminator"], learning_rate=3e-4)  # VAE: 1e-3
    step = jax.jit(family.train_step)
    batch = flat[:64]
    new, _ = step(state, batch)
    params = {n: net.params for n, net in new.nets.items()}
    for name in ("model", "discriminator"):
        assert _all_differ(params[name], state.nets[name].params), name
    # D frozen (learning rate 0): D stays put, the VAE takes the very same step (it used D
    # as it was before D's update); the VAE frozen: D takes the very same step
    no_d, _ = step(set_run_hyperparams(state, ["discriminator"], learning_rate=0.0), batch)
    assert _same(no_d.nets["discriminator"].params, state.nets["discriminator"].params)
    assert _same(no_d.nets["model"].params, params["model"])
    no_vae, _ = step(set_run_hyperparams(state, ["model"], learning_rate=0.0), batch)
    assert _same(no_vae.nets["model"].params, state.nets["model"].params)
    assert _same(no_vae.nets["discriminator"].params, params["discriminator"])
    # the VAE's gamma * TC term moves the encoder (z's parameters), never the decoder or D
    g0, _ = step(set_run_loss_weights(state, tc=0.0), batch)
    g20, _ = step(set_run_loss_weights(state, tc=20.0), batch)
    assert _same(g0.nets["discriminator"].params, g20.nets["discriminator"].params)
    vae0, vae20 = g0.nets["model"].params, g20.nets["model"].params
    assert _all_differ(vae0["encoder"], vae20["encoder"])
    assert _same(vae0["decoder"], vae20["decoder"])
    # each optimizer state is its own: its network's tree, its learning rate, one step
    for name, lr in (("model", 1e-3), ("discriminator", 3e-4)):
        opt = new.nets[name].opt_state
        assert float(opt.hyperparams["learning_rate"]) == pytest.approx(lr)
        mu = opt.inner_state[0].mu
        assert (jax.tree_util.tree_structure(mu)
                == jax.tree_util.tree_structure(new.nets[name].params))
        assert int(opt.inner_state[0].count) == 1


def test_gamma_zero_trains_the_autoencoder_familys_vae_exactly(factor):
    """With gamma = 0 the VAE's steps and test numbers are those of the same VAE in the
    autoencoder family (same init stream, keys and objective): D only watches."""
    fam_f, state_f, flat = factor
    state_f = set_run_loss_weights(state_f, tc=0.0)
    plain = factor_config(**{"family": "autoencoder", "loss.terms": {"kl": 1.0}})
    _, fam_p, state_p, _ = family_setup(plain)
    step_f, step_p = jax.jit(fam_f.train_step), jax.jit(fam_p.train_step)
    for i in range(5):
        batch = flat[64 * i:64 * (i + 1)]
        (state_f, m_f), (state_p, m_p) = step_f(state_f, batch), step_p(state_p, batch)
        assert float(m_f["loss"]) == float(m_p["loss"])
    assert _same(state_f.nets["model"].params, state_p.nets["model"].params)
    key, mask = jax.random.PRNGKey(5), jnp.ones((64,))
    ev_f = fam_f.eval_step(state_f, flat[:64], key, mask)
    ev_p = fam_p.eval_step(state_p, flat[:64], key, mask)
    for name in ("loss", "bce", "kl"):
        np.testing.assert_array_equal(ev_f[name], ev_p[name])
    assert {"tc", "d_loss", "d_accuracy"} <= set(ev_f)


def test_a_config_without_the_tc_weight_is_refused():
    config = factor_config(**{"loss.terms": {"kl": 1.0}})
    with pytest.raises(ValueError, match="loss.terms.tc"):
        build_family(config, (8, 8, 1), 10)


# -- the engine: vmapped runs, resume ------------------------------------------------------
@pytest.mark.slow
def test_vmapped_seeds_and_gammas_equal_separate_runs(tmp_path):
    """num_runs = 2 with seeds (0, 1) and gammas (0, 8) as one program == each alone."""
    base = {"num_epochs": 1, "data.train_limit": 256, "num_plot_images": 0,
            "num_sample_images": 0}
    both = train_and_evaluate(factor_config(**base, num_runs=2), str(tmp_path / "both"),
                              {"seed": [0, 1], "loss.terms.tc": [0.0, 8.0]})
    for r, gamma in enumerate((0.0, 8.0)):
        alone = train_and_evaluate(
            factor_config(**base, seed=r, **{"loss.terms": {"kl": 1.0, "tc": gamma}}),
            str(tmp_path / f"alone{r}"))
        a, b = run_slice(both, r), alone
        assert float(a.loss_weights["tc"]) == gamma
        for x, y in zip(_leaves({n: v.params for n, v in a.nets.items()}),
                        _leaves({n: v.params for n, v in b.nets.items()}), strict=True):
            np.testing.assert_allclose(x, y, rtol=2e-4, atol=2e-5)
    first = _leaves(both.nets["discriminator"].params)[0]
    assert not np.allclose(first[0], first[1]), "the runs differ"


# -- it learns what it is for --------------------------------------------------------------
@pytest.mark.slow
def test_gamma_lowers_the_total_correlation_of_a_short_digits_run(tmp_path):
    """The same VAE objective with gamma 0 (D only watches) and gamma 30. With the
    factorising pressure the TC of beta-TCVAE's batch estimator, which does not use D, falls
    (so the VAE did not merely fool the discriminator), and so do D's TC estimate and its
    accuracy (means over the last 5 epochs: D's numbers move from epoch to epoch).

    KL weight 0.25: with weight 1, the 64-pixel digits leave a near-prior posterior (KL
    about 3 nats, batch TC about 0.2) with little TC for either estimator to see; at 0.25
    the plain VAE's batch TC is about 1 nat."""
    numbers = {}
    for gamma in (0.0, 30.0):
        config = factor_config(**{
            "num_epochs": 15, "model.hidden_sizes": (64,), "optimizer.learning_rate": 3e-3,
            "discriminator_optimizer.learning_rate": 3e-3,
            "model.discriminator_hidden_sizes": (64, 64),
            "loss.terms": {"kl": 0.25, "tc": gamma, "total_correlation": 0.0},
            "num_plot_images": 0, "num_sample_images": 0})
        workdir = tmp_path / f"gamma{gamma:g}"
        train_and_evaluate(config, str(workdir))
        rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
        test = [r for r in rows if r["split"] == "test"]
        assert test[-1]["bce"] < test[0]["bce"] - 1.0, "the reconstruction improves"
        numbers[gamma] = {"batch_tc": test[-1]["total_correlation"],
                          **{k: np.mean([r[k] for r in test[-5:]])
                             for k in ("tc", "d_accuracy")}}
    plain, factor = numbers[0.0], numbers[30.0]
    assert plain["batch_tc"] > 0.5, numbers
    assert factor["batch_tc"] < plain["batch_tc"] / 4, numbers
    assert plain["tc"] > factor["tc"] + 0.1, numbers
    assert plain["d_accuracy"] > factor["d_accuracy"] + 0.05, numbers
