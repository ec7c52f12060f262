"""The objective: reconstruction losses, weighted terms, clear errors."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ae_jax.objectives import TermInputs, bce_with_logits, make_objective
from tests.conftest import loss_config


def _t(x, logits, params=None):
    """The TermInputs of a batch x with the model's output logits (no aux)."""
    return TermInputs(x=x, inputs=x, logits=logits, aux={}, params=params)


def test_bce_matches_the_definition_and_is_stable():
    z = jnp.array([-30.0, -2.0, 0.0, 0.5, 15.0])
    y = jnp.array([0.0, 0.3, 1.0, 0.5, 0.9])
    s = 1 / (1 + np.exp(-np.asarray(z, np.float64)))
    expected = -(y * np.log(s) + (1 - y) * np.log1p(-s))
    np.testing.assert_allclose(bce_with_logits(z, y), expected, rtol=1e-5, atol=1e-6)
    assert np.isfinite(bce_with_logits(jnp.array([1e4, -1e4]), jnp.array([0.0, 1.0]))).all()


def test_reconstruction_reductions_per_example():
    x = jnp.array([[[[0.0], [1.0]]], [[[1.0], [1.0]]]])  # (2, 1, 2, 1)
    logits = jnp.zeros_like(x)
    mean = make_objective(loss_config(), "sigmoid")
    total, parts = mean(_t(x, logits), {})
    np.testing.assert_allclose(total, [np.log(2)] * 2, rtol=1e-6)
    summed = make_objective(loss_config(reduction="sum"), "sigmoid")
    np.testing.assert_allclose(summed(_t(x, logits), {})[0], [2 * np.log(2)] * 2, rtol=1e-6)
    mse = make_objective(loss_config(reconstruction="mse"), "relu")
    logits = jnp.array([[[[-1.0], [3.0]]], [[[1.0], [0.0]]]])
    # relu(x_hat) = [0, 3] vs [0, 1] -> (0 + 4) / 2 ; [1, 0] vs [1, 1] -> (0 + 1) / 2
    np.testing.assert_allclose(mse(_t(x, logits), {})[0], [2.0, 0.5])


def test_weighted_term_adds_to_the_total():
    terms = ml_collections.ConfigDict(dict(l2_weights=0.5))
    obj = make_objective(loss_config(terms=terms), "sigmoid")
    params = {"dense": {"kernel": jnp.array([[1.0, 2.0]]), "bias": jnp.array([10.0])}}
    x = jnp.zeros((3, 1, 1, 1))
    total, parts = obj(_t(x, jnp.zeros_like(x), params), {"l2_weights": jnp.float32(0.5)})
    np.testing.assert_allclose(parts["l2_weights"], [5.0] * 3)  # biases excluded
    np.testing.assert_allclose(total, np.log(2) + 0.5 * 5.0, rtol=1e-6)


def test_bad_objectives_are_clear_errors():
    with pytest.raises(ValueError, match="unknown reconstruction loss 'bse'"):
        make_objective(loss_config(reconstruction="bse"), "sigmoid")
    with pytest.raises(ValueError, match="needs a model with output_activation='sigmoid'"):
        make_objective(loss_config(), "relu")
    with pytest.raises(ValueError, match="unknown loss term"):
        make_objective(loss_config(terms=ml_collections.ConfigDict(dict(l1=1.0))), "sigmoid")


def test_bce_gradient_is_sigmoid_minus_target():
    z, y = jnp.array([0.3, -1.2]), jnp.array([1.0, 0.25])
    grad = jax.grad(lambda z: jnp.sum(bce_with_logits(z, y)))(z)
    np.testing.assert_allclose(grad, jax.nn.sigmoid(z) - y, rtol=1e-6)


@pytest.mark.parametrize("z", [0.0, 1e-30, -1e-30, 1.0, -1.0, 100.0, -100.0])
def test_bce_and_softplus_gradients_agree_with_references_at_the_kinks(z):
    """d bce / dz = s(z) - y and d softplus / dz = s(z), at z = 0 exactly too (where the
    -|z| form gave -y and 0)."""
    import optax

    from ae_jax.objectives.adversarial import softplus

    for y in (0.0, 0.3, 1.0):
        ours = jax.grad(lambda v, y=y: bce_with_logits(v, y))(jnp.float32(z))
        ref = jax.grad(lambda v, y=y: optax.sigmoid_binary_cross_entropy(v, y))(jnp.float32(z))
        assert float(ours) == pytest.approx(float(ref), abs=1e-7)
        assert float(bce_with_logits(jnp.float32(z), y)) == pytest.approx(
            float(optax.sigmoid_binary_cross_entropy(jnp.float32(z), y)), rel=1e-6, abs=1e-7)
    assert float(jax.grad(softplus)(jnp.float32(z))) == pytest.approx(
        float(jax.grad(jax.nn.softplus)(jnp.float32(z))), abs=1e-7)
    assert float(softplus(jnp.float32(z))) == pytest.approx(
        float(jax.nn.softplus(jnp.float32(z))), rel=1e-6)
