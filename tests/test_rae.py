"""RAE terms (Ghosh et al. 2020): the decoder's Jacobian penalty against jax.jacfwd, decoder-only
weight decay by hand, the code's norm in closed form, and a short RAE on digits whose
ex-post Gaussian mixture generates and models held-out codes better than N(0, I)."""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.evaluation.samplers import SAMPLERS, training_codes
from ae_jax.models import MLPAutoencoder
from ae_jax.objectives import TERMS
from tests.conftest import digits_config, term_inputs


@pytest.fixture(scope="module")
def mlp():
    """(model, params, x): a small RAE-shaped MLP (linear code 4) on random 8x8 images."""
    model = MLPAutoencoder(output_shape=(8, 8, 1), latent_dim=4, hidden_sizes=(16,),
                           decoder_hidden_sizes=(12, 20), latent_activation="linear",
                           activation="tanh")
    x = jax.random.uniform(jax.random.PRNGKey(1), (5, 8, 8, 1))
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    return model, params, x


def test_gradient_penalty_equals_the_brute_force_jacobian(mlp):
    model, params, x = mlp
    t = term_inputs(model, params, x)
    got = np.asarray(TERMS.get("decoder_gradient_penalty")(t))

    def decode_one(z):  # (K,) -> (8, 8, 1) logits
        return model.apply({"params": params}, z[None], method="decode")[0]

    jacobian = jax.jit(jax.jacfwd(decode_one))  # (K,) -> (8, 8, 1, K)
    want = [float(jnp.sum(jnp.square(jacobian(z)))) for z in t.aux["code"]]
    assert got.shape == (5,) and min(want) > 0.1
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_decoder_l2_sums_only_the_decoder_kernels(mlp):
    model, params, x = mlp
    t = term_inputs(model, params, x)
    got = np.asarray(TERMS.get("decoder_l2_weights")(t))
    dec, enc = params["decoder"], params["encoder"]
    want = sum(float(np.sum(np.square(dec[layer]["kernel"])))
               for layer in ("dense_0", "dense_1", "output"))
    encoder = sum(float(np.sum(np.square(enc[layer]["kernel"]))) for layer in ("dense_0",
                                                                                 "latent"))
    assert set(dec) == {"dense_0", "dense_1", "output"} and encoder > 1.0
    np.testing.assert_allclose(got, np.full(5, want), rtol=1e-6)
    # every kernel of the model is the decoder's plus the encoder's: those are left out
    everything = np.asarray(TERMS.get("l2_weights")(t))
    np.testing.assert_allclose(everything - got, encoder, rtol=1e-5)


def test_decoder_l2_needs_a_decoder_subtree(mlp):
    model, params, x = mlp
    t = term_inputs(model, params, x)
    with pytest.raises(ValueError, match="decoder"):
        TERMS.get("decoder_l2_weights")(dataclasses.replace(t, params={"net": params}))


def test_code_l2_is_half_the_squared_norm_of_the_code(mlp):
    model, params, x = mlp
    t = term_inputs(model, params, x)
    code = np.asarray(model.apply({"params": params}, x, method="encode"))  # (5, 4)
    np.testing.assert_allclose(np.asarray(TERMS.get("code_l2")(t)),
                               0.5 * np.sum(code ** 2, axis=1), rtol=1e-6)


def rae_config(**terms):
    return digits_config(**{"model.latent_activation": "linear", "loss.reconstruction": "mse",
                            "loss.reduction": "sum", "num_epochs": 10, "loss.terms": terms})


def _rows(workdir, split):
    return [r for r in map(json.loads, open(os.path.join(workdir, "metrics.jsonl")))
            if r["split"] == split]


def test_an_rae_trains_on_digits_and_its_gmm_beats_the_standard_normal(tmp_path):
    """RAE-L2 on digits (code 8): the loss falls; `generate` with the "gmm" sampler decodes 16
    samples; and a mixture fitted like that sampler's (10 full-covariance components) gives
    held-out test codes a higher mean log-likelihood than N(0, I) does (-3.7 against -20.0
    nats when written)."""
    from sklearn.mixture import GaussianMixture

    workdir = str(tmp_path / "rae")
    train_and_evaluate(rae_config(code_l2=1e-2, decoder_l2_weights=1e-4), workdir)
    train = _rows(workdir, "train")
    assert train[-1]["mse"] < 0.6 * train[0]["mse"]
    run = ae_jax.load(workdir)
    result = get_task("generate")(run, str(tmp_path / "eval"), {"sampler": "gmm",
                                                                 "num_samples": 16})
    assert result["sampler"] == "gmm" and result["num_samples"] == 16
    assert os.path.getsize(tmp_path / "eval" / "generate_gmm.png") > 1000

    codes = training_codes(run, SAMPLERS.get("gmm").resolve({}))  # the sampler's defaults
    test_codes = run.encode(run.dataset.test).astype(np.float64)
    mixture = GaussianMixture(10, covariance_type="full", reg_covar=1e-5,
                              random_state=0).fit(codes)
    gmm_ll = float(np.mean(mixture.score_samples(test_codes)))
    normal_ll = float(np.mean(-0.5 * np.sum(test_codes ** 2 + np.log(2 * np.pi), axis=1)))
    assert gmm_ll > normal_ll + 1.0, (gmm_ll, normal_ll)


@pytest.mark.slow
def test_the_gradient_penalty_flattens_the_decoder_on_digits(tmp_path):
    """RAE-GP against the same RAE with the penalty at weight 0: a smaller test ||J||_F^2
    (35 against 73 when written)."""
    penalty = {}
    for name, weight in (("plain", 0.0), ("gp", 1e-2)):
        workdir = str(tmp_path / name)
        train_and_evaluate(rae_config(code_l2=1e-2, decoder_gradient_penalty=weight), workdir)
        penalty[name] = _rows(workdir, "test")[-1]["decoder_gradient_penalty"]
    assert penalty["gp"] < 0.7 * penalty["plain"], penalty
