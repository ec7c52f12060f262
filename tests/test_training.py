"""The compiled step, epoch and evaluation, on real data (scikit-learn's digits)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.data import load_dataset, to_float
from ae_jax.models import build_model
from ae_jax.objectives import make_objective
from ae_jax.optimizers import make_optimizer
from ae_jax.train_state import create_train_state
from ae_jax.training import EpochRunner, choose_loop, epoch_indices, make_eval_fn, make_train_step
from tests.conftest import digits_config


def _setup(config):
    ds = load_dataset(config.data)
    model = build_model(config.model, ds.example_shape)
    objective = make_objective(config.loss, model.output_activation)
    tx = make_optimizer(config.optimizer, len(ds.train) // config.batch_size, config.num_epochs)
    state = create_train_state(model, tx, ds.example_shape, config.seed, {})
    flat = jnp.asarray(ds.train.reshape(len(ds.train), -1))
    return ds, model, objective, state, flat


def test_epoch_indices_are_a_permutation_of_the_epoch():
    key = jax.random.PRNGKey(0)
    idx = epoch_indices(key, 3, 100, 32)
    assert idx.shape == (3, 32) and len(np.unique(idx)) == 96
    assert not np.array_equal(idx, epoch_indices(key, 4, 100, 32))
    np.testing.assert_array_equal(idx, epoch_indices(key, 3, 100, 32))


def test_scan_and_unrolled_steps_agree():
    config = digits_config()
    ds, _, objective, state, flat = _setup(config)
    step = make_train_step(objective, ds.example_shape)
    scan = EpochRunner(step, len(flat), 64, "scan")
    chunks = EpochRunner(step, len(flat), 64, "steps", steps_per_call=4)  # 22 = 5*4 + 2
    s1, m1 = scan(jax.tree_util.tree_map(jnp.copy, state), flat, 1)
    s2, m2 = chunks(jax.tree_util.tree_map(jnp.copy, state), flat, 1)
    assert int(s1.step) == int(s2.step) == len(flat) // 64
    for a, b in zip(jax.tree_util.tree_leaves(s1.params), jax.tree_util.tree_leaves(s2.params),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(m1["loss"], m2["loss"], rtol=1e-5)


def test_evaluation_counts_the_last_partial_batch_once():
    config = digits_config()
    ds, model, objective, state, _ = _setup(config)
    test = jnp.asarray(ds.test.reshape(len(ds.test), -1))
    metrics = make_eval_fn(objective, ds.example_shape, batch_size=50)(state, test)  # 359 = 7*50+9
    logits, aux = model.apply({"params": state.params}, to_float(jnp.asarray(ds.test)))
    per_example, _ = objective(to_float(jnp.asarray(ds.test)), logits, aux, state.params, {})
    np.testing.assert_allclose(metrics["loss"], np.mean(per_example), rtol=1e-5)


def test_training_lowers_test_loss_on_digits():
    config = digits_config()
    ds, _, objective, state, flat = _setup(config)
    runner = EpochRunner(make_train_step(objective, ds.example_shape), len(flat), 64, "scan")
    evaluate = make_eval_fn(objective, ds.example_shape, 1000)
    test = jnp.asarray(ds.test.reshape(len(ds.test), -1))
    before = float(evaluate(state, test)["loss"])
    for epoch in range(1, 6):
        state, _ = runner(state, flat, epoch)
    after = float(evaluate(state, test)["loss"])
    assert after < 0.8 * before, (before, after)


def test_choose_loop():
    assert choose_loop("auto", "conv", "cpu") == "steps"
    assert choose_loop("auto", "mlp", "cpu") == "scan"
    assert choose_loop("auto", "conv", "gpu") == "scan"
    assert choose_loop("steps", "mlp", "gpu") == "steps"


def test_batch_larger_than_data_is_an_error():
    config = digits_config()
    ds, _, objective, _, flat = _setup(config)
    with pytest.raises(ValueError, match="larger than the 1438 training examples"):
        EpochRunner(make_train_step(objective, ds.example_shape), len(flat), 5000)


def test_bfloat16_compute_keeps_float32_params_and_matches_loss():
    results = {}
    for dtype in ("float32", "bfloat16"):
        config = digits_config(**{"model.compute_dtype": dtype})
        ds, model, objective, state, flat = _setup(config)
        runner = EpochRunner(make_train_step(objective, ds.example_shape), len(flat), 64, "scan")
        for epoch in range(1, 4):
            state, metrics = runner(state, flat, epoch)
        assert all(p.dtype == jnp.float32 for p in jax.tree_util.tree_leaves(state.params))
        results[dtype] = float(metrics["loss"])
    assert results["bfloat16"] == pytest.approx(results["float32"], rel=0.03)
