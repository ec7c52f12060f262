"""A jitted `init` (ae_jax/runs.py) gives the parameters an eager one does, bit for bit: the
figures of every config were trained from eager initialisations."""

import jax
import numpy as np
import pytest

from ae_jax.models.initializers import affine_draw
from ae_jax.runs import initial_state
from tests.test_zoo import _small_config


@pytest.mark.parametrize("draw", [jax.random.uniform, jax.random.normal])
@pytest.mark.parametrize("shift", [0.0, -0.3])
def test_affine_draw_is_the_same_eager_and_jitted(draw, shift):
    init = affine_draw(draw, 0.7, shift)
    key = jax.random.PRNGKey(5)
    eager = np.asarray(init(key, (64, 33)))
    jitted = np.asarray(jax.jit(init, static_argnums=1)(key, (64, 33)))
    np.testing.assert_array_equal(eager, jitted)
    # and it is the affine map of the draw, to one rounding
    expected = np.asarray(draw(key, (64, 33)), np.float64) * np.float32(0.7) + np.float32(shift)
    np.testing.assert_allclose(eager, expected, rtol=0, atol=2e-7)


@pytest.mark.parametrize("name", [pytest.param("dcgan", marks=pytest.mark.slow), "vq_vae_ema",
                                  pytest.param("vampprior", marks=pytest.mark.slow), "vae"])
def test_jitted_initial_state_equals_the_eager_init(name):
    """The models whose initialisers XLA would otherwise fuse (DCGAN's N(0, 0.02) kernels,
    the uniform codebook, the pseudo-inputs), and a plain one; one run and two vmapped."""
    from ae_jax.data import load_dataset
    from ae_jax.families import build_family

    config = _small_config(name)
    family = build_family(config, load_dataset(config.data).example_shape, 4)
    eager = jax.tree_util.tree_leaves(family.init(0))
    jitted = jax.tree_util.tree_leaves(initial_state(family, 1, 0))
    runs = jax.tree_util.tree_leaves(initial_state(family, 2, 0))
    assert len(eager) == len(jitted) == len(runs) > 0
    for x, y, r in zip(eager, jitted, runs, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        np.testing.assert_array_equal(np.asarray(x), np.asarray(r)[0])
