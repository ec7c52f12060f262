"""data.binarize: thresholded and dynamically binarised pixels (the binarised-MNIST
protocol), checked on the bundled digits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax import rng
from ae_jax.data import load_dataset
from ae_jax.data.binarize import dynamic_binarize
from ae_jax.families import build_family
from ae_jax.forward import unflatten
from ae_jax.objectives import model_term_inputs
from tests.conftest import digits_config


def test_threshold_binarises_both_splits_at_one_half():
    grey = load_dataset(digits_config().data)
    binary = load_dataset(digits_config(**{"data.binarize": "threshold"}).data)
    for g, b in ((grey.train, binary.train), (grey.test, binary.test)):
        assert set(np.unique(b)) <= {0, 255}
        np.testing.assert_array_equal(b == 255, g > 127)


def test_dynamic_draws_the_test_split_once_and_keeps_training_pixels_grey():
    grey = load_dataset(digits_config().data)
    first = load_dataset(digits_config(**{"data.binarize": "dynamic"}).data)
    again = load_dataset(digits_config(**{"data.binarize": "dynamic"}).data)
    np.testing.assert_array_equal(first.test, again.test)  # repeatable evaluations
    np.testing.assert_array_equal(first.train, grey.train)  # redrawn inside each step
    assert set(np.unique(first.test)) <= {0, 255}
    # E[Bernoulli(p)] = p: the mean grey level survives (10^5 pixels: sd 0.0016)
    assert abs(first.test.mean() / 255 - grey.test.mean() / 255) < 0.01


def test_dynamic_binarize_is_bernoulli_of_the_grey_level():
    p = jnp.linspace(0.0, 1.0, 11)
    draws = jax.vmap(lambda k: dynamic_binarize(k, p))(jax.random.split(jax.random.PRNGKey(0),
                                                                        20000))
    assert set(np.unique(np.asarray(draws))) <= {0.0, 1.0}
    np.testing.assert_allclose(draws.mean(0), p, atol=0.015)


def test_each_training_step_sees_pixels_drawn_from_its_own_key():
    """The step's BCE is that of x ~ Bernoulli(grey) drawn from the step's "binarize"
    key, computed here by hand."""
    config = digits_config(**{"data.binarize": "dynamic"})
    ds = load_dataset(config.data)
    family = build_family(config, ds.example_shape, 10)
    state = family.init(0)
    batch = jnp.asarray(ds.train[:64].reshape(64, -1))  # (B, H, W, C) -> (B, D)
    _, metrics = family.train_step(state, batch)
    x = dynamic_binarize(rng.stream_at(state.key, "binarize", state.step),
                         unflatten(batch, ds.example_shape))
    net = state.nets["model"]
    t, _ = model_term_inputs(net.apply_fn, net.variables(), x)
    want = jnp.mean(family.objective(t, state.loss_weights)[0])
    assert float(metrics["bce"]) == pytest.approx(float(want), rel=1e-6)
    grey = build_family(digits_config(), ds.example_shape, 10).train_step(state, batch)[1]
    assert abs(float(grey["bce"]) - float(want)) > 1e-3  # binary targets, another loss


def test_a_gan_refuses_dynamic_binarisation_in_one_line():
    from configs import gan_mlp

    config = gan_mlp.get_config()
    config.data.binarize = "dynamic"
    with pytest.raises(ValueError, match="use threshold") as err:
        build_family(config, (8, 8, 1), 10)
    assert "\n" not in str(err.value)
