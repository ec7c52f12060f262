"""beta-TCVAE's total-correlation term: the batch estimate against the closed form of a
Gaussian aggregate posterior, the mask, and a short training run on real data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.engine import train_and_evaluate
from ae_jax.objectives import TERMS, TermInputs
from ae_jax.objectives.total_correlation import (
    pairwise_log_density,
    total_correlation_estimate,
)
from tests.conftest import digits_config


def gaussian_batch(cov, n=3000, sigma=0.3, seed=0):
    """Posteriors q(z|x_j) = N(mu_j, sigma^2 I) with mu_j ~ N(0, cov), and z_j ~ q(z|x_j):
    the aggregate posterior is N(0, cov + sigma^2 I)."""
    rng = np.random.default_rng(seed)
    mean = rng.multivariate_normal(np.zeros(len(cov)), cov, size=n)
    z = mean + sigma * rng.standard_normal(mean.shape)
    logvar = np.full_like(mean, 2 * np.log(sigma))
    return (jnp.asarray(a, jnp.float32) for a in (z, mean, logvar))


def gaussian_tc(cov) -> float:
    """TC of N(0, S) = 1/2 (sum_d log S_dd - log det S)."""
    return 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])


def test_pairwise_log_density_is_the_normal_density():
    z, mean, logvar = (jnp.asarray(np.random.default_rng(1).normal(size=(3, 2)), jnp.float32)
                       for _ in range(3))
    got = pairwise_log_density(z, mean, logvar)  # (3, 3, 2)
    i, j, d = 2, 0, 1
    var = np.exp(float(logvar[j, d]))
    want = -0.5 * np.log(2 * np.pi * var) - (float(z[i, d]) - float(mean[j, d])) ** 2 / (2 * var)
    assert float(got[i, j, d]) == pytest.approx(want, rel=1e-5)


def test_tc_is_about_zero_for_a_factorised_aggregate():
    z, mean, logvar = gaussian_batch(np.diag([1.0, 0.5, 2.0]))
    tc = float(jnp.mean(total_correlation_estimate(z, mean, logvar, jnp.ones(len(z)))))
    assert abs(tc) < 0.05


def test_tc_matches_the_closed_form_of_a_correlated_aggregate():
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    z, mean, logvar = gaussian_batch(cov)
    tc = float(jnp.mean(total_correlation_estimate(z, mean, logvar, jnp.ones(len(z)))))
    want = gaussian_tc(cov + 0.3 ** 2 * np.eye(2))  # 0.37 nats
    assert want > 0.3
    assert tc == pytest.approx(want, abs=0.05)


def test_padding_is_left_out_of_the_batch_sample():
    z, mean, logvar = gaussian_batch(np.eye(2), n=40)
    aux = {"z": z, "mean": mean, "logvar": logvar}
    full = TERMS.get("total_correlation")(TermInputs(x=z, inputs=z, logits=z, aux=aux))
    # the same 40 examples plus 8 padded rows of garbage, masked out
    pad = {k: jnp.concatenate([v, 50.0 + jnp.zeros((8, 2))]) for k, v in aux.items()}
    mask = jnp.concatenate([jnp.ones(40), jnp.zeros(8)])
    padded = TERMS.get("total_correlation")(
        TermInputs(x=pad["z"], inputs=pad["z"], logits=pad["z"], aux=pad, mask=mask))
    np.testing.assert_allclose(padded[:40], full, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_a_beta_tcvae_trains_on_digits_and_lowers_the_tc(tmp_path):
    """The term is one module and one config: it trains through the engine as is."""
    base = {"model.name": "vae_mlp", "model.latent_dim": 4, "loss.reduction": "sum",
            "num_epochs": 8, "batch_size": 128}
    plain = digits_config(**base, **{"loss.terms": {"kl": 1.0, "total_correlation": 0.0}})
    tcvae = digits_config(**base, **{"loss.terms": {"kl": 1.0, "total_correlation": 9.0}})
    tc = {}
    for name, config in (("plain", plain), ("tcvae", tcvae)):
        state = train_and_evaluate(config, str(tmp_path / name))
        assert jax.tree_util.tree_leaves(state.nets["model"].params)
        rows = [r for r in _read(tmp_path / name) if r["split"] == "test"]
        tc[name] = rows[-1]["total_correlation"]
    assert tc["tcvae"] < tc["plain"]


def _read(workdir):
    import json

    return [json.loads(line) for line in open(workdir / "metrics.jsonl")]
