"""The compiled step (the autoencoder family's), the epoch loop and the evaluation loop
(ae_jax/loops.py), on real data (scikit-learn's digits)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.data import to_float
from ae_jax.families import prefers_steps_on_cpu
from ae_jax.loops import EpochRunner, choose_loop, epoch_indices, make_evaluator
from ae_jax.models import build_model
from tests.conftest import digits_config, family_setup, term_inputs


def _params(state):
    return jax.tree_util.tree_leaves(state.nets["model"].params)


def _evaluator(family, batch_size, **kwargs):
    """Test metrics of a state on flat (N, D) data, as the trainer computes them."""
    means = make_evaluator(family.eval_step, batch_size, **kwargs)
    return lambda state, data: family.finalize(means(state, data))


def test_epoch_indices_are_a_permutation_of_the_epoch():
    key = jax.random.PRNGKey(0)
    idx = epoch_indices(key, 3, 100, 32)
    assert idx.shape == (3, 32) and len(np.unique(idx)) == 96
    assert not np.array_equal(idx, epoch_indices(key, 4, 100, 32))
    np.testing.assert_array_equal(idx, epoch_indices(key, 3, 100, 32))


def test_scan_and_unrolled_steps_agree():
    config = digits_config()
    _, family, state, flat = family_setup(config)
    scan = EpochRunner(family.train_step, len(flat), 64, "scan")
    chunks = EpochRunner(family.train_step, len(flat), 64, "steps",
                         steps_per_call=4)  # 22 = 5*4 + 2
    s1, m1 = scan(jax.tree_util.tree_map(jnp.copy, state), flat, 1)
    s2, m2 = chunks(jax.tree_util.tree_map(jnp.copy, state), flat, 1)
    assert int(s1.step) == int(s2.step) == len(flat) // 64
    for a, b in zip(_params(s1), _params(s2), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(m1["loss"], m2["loss"], rtol=1e-5)


def test_scan_unroll_puts_k_steps_in_each_loop_iteration():
    """The compiled epoch holds k copies of the step in its loop body, plus one per step of
    the remainder (22 = 5*4 + 2 steps): (4 + 2) times the matmuls of one step."""
    config = digits_config()
    _, family, state, flat = family_setup(config)

    def dots(unroll):
        runner = EpochRunner(family.train_step, len(flat), 64, "scan", scan_unroll=unroll)
        compiled = runner._whole_epoch.lower(state, flat, 1, None).compile()
        return compiled.as_text().count(" dot(")

    steps = len(flat) // 64
    assert steps == 22 and dots(1) > 0 and dots(4) == (4 + steps % 4) * dots(1)


def test_steps_loop_reports_progress_every_few_steps_and_changes_no_bit():
    config = digits_config()
    _, family, state, flat = family_setup(config)
    runner = EpochRunner(family.train_step, len(flat), 16, "steps")  # 1437 // 16 = 89 steps
    seen = []
    plain, _ = runner(jax.tree_util.tree_map(jnp.copy, state), flat, 1)
    told, _ = runner(jax.tree_util.tree_map(jnp.copy, state), flat, 1, progress=seen.append)
    assert seen == list(range(4, 89, 4))  # 89 // 20 = every 4 steps
    for a, b in zip(_params(plain), _params(told), strict=True):
        np.testing.assert_array_equal(a, b)


def test_evaluation_counts_the_last_partial_batch_once():
    config = digits_config()
    ds, family, state, _ = family_setup(config)
    test = jnp.asarray(ds.test.reshape(len(ds.test), -1))
    metrics = _evaluator(family, batch_size=50)(state, test)  # 359 = 7*50 + 9
    x = to_float(jnp.asarray(ds.test))
    t = term_inputs(family.model, state.nets["model"].params, x)
    per_example, _ = family.objective(t, {})
    np.testing.assert_allclose(metrics["loss"], np.mean(per_example), rtol=1e-5)


def test_training_lowers_test_loss_on_digits():
    config = digits_config()
    ds, family, state, flat = family_setup(config)
    runner = EpochRunner(family.train_step, len(flat), 64, "scan")
    evaluate = _evaluator(family, 1000)
    test = jnp.asarray(ds.test.reshape(len(ds.test), -1))
    before = float(evaluate(state, test)["loss"])
    for epoch in range(1, 6):
        state, _ = runner(state, flat, epoch)
    after = float(evaluate(state, test)["loss"])
    assert after < 0.8 * before, (before, after)


def test_choose_loop():
    assert choose_loop("auto", True, "cpu") == "steps"
    assert choose_loop("auto", False, "cpu") == "scan"
    assert choose_loop("auto", True, "gpu") == "scan"
    assert choose_loop("steps", False, "gpu") == "steps"
    with pytest.raises(ValueError, match="unknown loop 'fast'"):
        choose_loop("fast", False)
    # what "auto" is told comes from the networks' declarations, not from model names
    conv = digits_config(**{"model.name": "conv", "model.encoder_layers": ("conv4", "pool"),
                            "model.decoder_layers": ("conv4", "up"), "model.latent_dim": 0,
                            "model.conv_impl": "lax"})
    assert prefers_steps_on_cpu({"model": build_model(conv.model, (8, 8, 1))})
    conv.model.conv_impl = "cpu"  # the conv_ops gradients run well inside a scan
    assert not prefers_steps_on_cpu({"model": build_model(conv.model, (8, 8, 1))})
    assert not prefers_steps_on_cpu({"model": build_model(digits_config().model, (8, 8, 1))})


def test_batch_larger_than_data_is_an_error():
    config = digits_config()
    _, family, _, flat = family_setup(config)
    with pytest.raises(ValueError, match="larger than the 1438 training examples"):
        EpochRunner(family.train_step, len(flat), 5000)


def test_bfloat16_compute_keeps_float32_params_and_matches_loss():
    results = {}
    for dtype in ("float32", "bfloat16"):
        config = digits_config(**{"model.compute_dtype": dtype})
        _, family, state, flat = family_setup(config)
        runner = EpochRunner(family.train_step, len(flat), 64, "scan")
        for epoch in range(1, 4):
            state, metrics = runner(state, flat, epoch)
        assert all(p.dtype == jnp.float32 for p in _params(state))
        results[dtype] = float(metrics["loss"])
    assert results["bfloat16"] == pytest.approx(results["float32"], rel=0.03)


def test_step_progress_logs_a_line_per_interval_without_a_bar(monkeypatch, caplog):
    import logging

    from ae_jax.engine import epoch_loop

    monkeypatch.setattr(epoch_loop, "STEP_LOG_SECONDS", 0.0)
    steps = epoch_loop.StepProgress(epoch=3, total_steps=10, use_bar=False)
    with caplog.at_level(logging.INFO):
        for done in (4, 8, 10):
            steps(done)
    steps.close()
    assert [r.getMessage() for r in caplog.records] == ["epoch 3: step 4/10", "epoch 3: step 8/10"]
