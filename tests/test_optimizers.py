import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.optimizers import make_optimizer
from configs import default


def _cfg(**kw):
    cfg = default.get_config().optimizer
    cfg.update(dict(name="sgd", learning_rate=0.1, momentum=0.0, nesterov=False,
                    schedule="constant", decay=0.0))
    cfg.update(kw)
    return cfg


def _updates(cfg, steps):
    tx = make_optimizer(cfg, steps_per_epoch=10, num_epochs=10)
    params = {"w": jnp.zeros(())}
    state = tx.init(params)
    out = []
    for _ in range(steps):
        u, state = tx.update({"w": jnp.ones(())}, state, params)
        out.append(float(u["w"]))
    return out


def test_inverse_time_decay_is_keras_decay():
    got = _updates(_cfg(schedule="inverse_time", decay=0.5), 4)
    np.testing.assert_allclose(got, [-0.1 / (1 + 0.5 * t) for t in range(4)], rtol=1e-6)


def test_momentum_and_nesterov():
    # heavy ball: v_t = m v_{t-1} + g; update = -lr v_t
    np.testing.assert_allclose(_updates(_cfg(momentum=0.9), 3), [-0.1, -0.19, -0.271],
                               rtol=1e-6)
    # nesterov: update = -lr (g + m v_t)
    np.testing.assert_allclose(_updates(_cfg(momentum=0.9, nesterov=True), 2),
                               [-0.19, -0.271], rtol=1e-6)


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "adadelta", "sgd"])
def test_every_optimizer_descends(name):
    got = _updates(_cfg(name=name, learning_rate=0.01), 2)
    assert all(u < 0 for u in got)


def test_learning_rate_is_an_injected_array():
    tx = make_optimizer(_cfg(name="adam"), 10, 1)
    state = tx.init({"w": jnp.zeros(())})
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.1)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'adma'"):
        make_optimizer(_cfg(name="adma"), 10, 1)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        make_optimizer(_cfg(schedule="linear"), 10, 1)
