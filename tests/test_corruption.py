"""Corruption functions (ae_jax/corruption.py) and their use in the compiled step: noisy
input, clean target."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ae_jax import corruption
from ae_jax.families import build_family
from ae_jax.loops import make_evaluator
from tests.conftest import digits_config

KEY = jax.random.PRNGKey(0)
SHAPE = (64, 16, 16, 1)  # 16,384 pixels: fractions are within about 0.01 of p


def _ramp():
    return jnp.linspace(0.0, 1.0, np.prod(SHAPE)).reshape(SHAPE)


def test_gaussian_adds_scaled_noise_and_clips():
    x = jnp.full(SHAPE, 0.5)
    small = corruption.gaussian(KEY, x, stddev=0.01)
    assert abs(float(jnp.std(small - x)) - 0.01) < 1e-3 and abs(float(jnp.mean(small)) - 0.5) < 1e-3
    big = corruption.gaussian(KEY, x, stddev=0.5)
    assert float(big.min()) == 0.0 and float(big.max()) == 1.0  # clipped to [0, 1]
    # the fraction clipped at each end is P(0.5 * N > 0.5) = P(N > 1) = 0.1587
    assert abs(float(jnp.mean(big == 1.0)) - 0.1587) < 0.01
    np.testing.assert_array_equal(big, corruption.gaussian(KEY, x, stddev=0.5))  # same key
    assert not np.array_equal(big, corruption.gaussian(jax.random.PRNGKey(1), x, stddev=0.5))


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_masking_zeroes_a_fraction_p_and_keeps_the_rest(p):
    x = 0.25 + 0.5 * _ramp()  # no zeros in x
    y = corruption.masking(KEY, x, probability=p)
    zeroed = y == 0.0
    assert abs(float(jnp.mean(zeroed)) - p) < 0.01
    np.testing.assert_array_equal(y[~zeroed], x[~zeroed])


def test_salt_and_pepper_sets_a_fraction_to_0_or_1_evenly():
    x = 0.25 + 0.5 * _ramp()
    y = corruption.salt_and_pepper(KEY, x, probability=0.2)
    hit = y != x
    assert abs(float(jnp.mean(hit)) - 0.2) < 0.01
    assert set(np.unique(np.asarray(y[hit]))) == {0.0, 1.0}
    assert abs(float(jnp.mean(y[hit])) - 0.5) < 0.03  # salt and pepper each half


def test_bit_flip_flips_a_fraction_of_binary_inputs():
    x = (jax.random.uniform(jax.random.PRNGKey(3), SHAPE) > 0.5).astype(jnp.float32)
    y = corruption.bit_flip(KEY, x, probability=0.1)
    assert set(np.unique(np.asarray(y))) <= {0.0, 1.0}
    assert abs(float(jnp.mean(y != x)) - 0.1) < 0.01
    np.testing.assert_array_equal(y[y != x], 1.0 - x[y != x])


def test_block_zeroes_one_square_per_image_at_varied_places():
    x = jnp.ones((32, 28, 28, 1))
    y = np.asarray(corruption.block(KEY, x, block_fraction=0.25))  # side round(7.0) = 7
    tops = set()
    for img in y[..., 0]:
        rows, cols = np.nonzero(img == 0.0)
        assert len(rows) == 49
        assert rows.max() - rows.min() == 6 and cols.max() - cols.min() == 6  # one 7x7 square
        tops.add((rows.min(), cols.min()))
    assert len(tops) > 20  # a fresh position per image
    ones = corruption.block(KEY, jnp.ones((4, 8, 8, 1)), block_fraction=1.0)
    assert float(jnp.max(ones)) == 0.0  # a full-size hole covers everything


def test_make_corruption_reads_the_config():
    cfg = ml_collections.ConfigDict(dict(name="none", stddev=0.5, probability=0.3,
                                         block_fraction=0.5))
    assert corruption.make_corruption(cfg) is None
    cfg.name, cfg.probability = "masking", 1.0
    assert float(jnp.max(corruption.make_corruption(cfg)(KEY, jnp.ones(SHAPE)))) == 0.0
    cfg.name, cfg.stddev = "gaussian", 0.0
    np.testing.assert_array_equal(corruption.make_corruption(cfg)(KEY, _ramp()), _ramp())
    cfg.name = "speckle"
    with pytest.raises(ValueError, match=r"unknown corruption 'speckle' \(corruption.name\); "
                                         "known: bit_flip, block, gaussian, masking, none"):
        corruption.make_corruption(cfg)


def test_step_feeds_the_noisy_input_and_scores_the_clean_target():
    # masking with p = 1 makes every input 0: the loss must be BCE(clean x, model(0)).
    config = digits_config(**{"model.latent_dim": 3, "model.hidden_sizes": (),
                              "corruption.name": "masking", "corruption.probability": 1.0,
                              "optimizer.name": "sgd", "optimizer.learning_rate": 0.1})
    family = build_family(config, (4, 4, 1), 1)
    state = family.init(0)
    data = jnp.asarray(np.arange(8 * 16).reshape(8, 16) % 256, jnp.uint8)  # (N, D) uint8
    logits, _ = family.model.apply({"params": state.nets["model"].params},
                                   jnp.zeros((8, 4, 4, 1)))
    x = (data.astype(jnp.float32) / 255.0).reshape(8, 4, 4, 1)
    expected = family.objective.reconstruction_loss(x, logits)
    metrics = family.finalize(make_evaluator(family.eval_step, 8)(state, data))
    np.testing.assert_allclose(metrics["loss"], jnp.mean(expected), rtol=1e-6)
    _, step_metrics = jax.jit(family.train_step)(state, data)
    np.testing.assert_allclose(step_metrics["bce"], jnp.mean(expected), rtol=1e-6)
