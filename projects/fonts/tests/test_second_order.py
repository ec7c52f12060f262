"""Full-batch optimisers on ravelled parameters: the flat problem, BFGS's update, every method."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from projects.fonts import second_order

A = jnp.array([[4.0, 1.0, 0.0, 0.0], [1.0, 3.0, 0.5, 0.0], [0.0, 0.5, 2.0, 0.3],
               [0.0, 0.0, 0.3, 1.0]])
B = jnp.array([1.0, -2.0, 0.5, 3.0])
X_STAR = np.linalg.solve(np.asarray(A), np.asarray(B))


def quadratic(params):
    """f = 1/2 x^T A x - b^T x over a pytree holding x in two pieces; minimum at A^-1 b."""
    x = jnp.concatenate([params["a"].ravel(), params["b"]])
    return 0.5 * x @ A @ x - B @ x


PARAMS = {"a": jnp.zeros((1, 3)), "b": jnp.zeros((1,))}  # ravelled as [a, b]


def test_flat_problem_ravels_the_pytree():
    p = second_order.flat_problem(quadratic, PARAMS)
    assert p.theta0.shape == (4,)
    theta = jnp.arange(4.0)
    np.testing.assert_allclose(p.unravel(theta)["a"], [[0.0, 1.0, 2.0]])
    value, grad = p.value_and_grad(theta)
    np.testing.assert_allclose(value, quadratic(p.unravel(theta)), rtol=1e-6)
    np.testing.assert_allclose(grad, A @ theta - B, rtol=1e-6)


def test_bfgs_update_is_the_textbook_update():
    """The O(P^2) form equals (I - rho s y^T) H (I - rho y s^T) + rho s s^T."""
    tx = second_order.scale_by_bfgs()
    rng = np.random.default_rng(0)
    x0, x1 = jnp.asarray(rng.normal(size=4)), jnp.asarray(rng.normal(size=4))
    g = lambda x: A @ x - B  # noqa: E731
    update = jax.jit(tx.update)
    state = tx.init(x0)
    _, state = update(g(x0), state, x0)
    h0 = np.eye(4) * 3.0
    state = state._replace(count=jnp.asarray(2), inv_hessian=jnp.asarray(h0, jnp.float32))
    _, state = update(g(x1), state, x1)
    s, y = np.asarray(x1 - x0), np.asarray(g(x1) - g(x0))
    rho = 1.0 / (y @ s)
    i = np.eye(4)
    expected = (i - rho * np.outer(s, y)) @ h0 @ (i - rho * np.outer(y, s)) + rho * np.outer(s, s)
    np.testing.assert_allclose(state.inv_hessian, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(state.inv_hessian @ y, s, rtol=1e-4, atol=1e-5)  # secant


@pytest.mark.parametrize("method, maxiter", [
    ("bfgs", 20), ("jax_bfgs", 20), ("lbfgs", 20), ("scipy_bfgs", 20), ("cg", 20),
    ("powell", 10), ("adam", 2000), ("sgd", 300)])
def test_every_method_finds_the_quadratic_minimum(method, maxiter):
    p = second_order.flat_problem(quadratic, PARAMS)
    result = second_order.minimize(p, method, maxiter)
    assert result.method == method
    np.testing.assert_allclose(result.theta, X_STAR, atol=2e-3)
    assert result.loss == pytest.approx(float(quadratic(p.unravel(jnp.asarray(X_STAR)))),
                                        abs=1e-4)
    assert result.seconds >= 0 and result.compile_seconds >= 0


def test_unknown_method_is_a_clear_error():
    p = second_order.flat_problem(quadratic, PARAMS)
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        second_order.minimize(p, "newton", 1)
    assert jax.tree_util.tree_structure(p.unravel(p.theta0)) == \
        jax.tree_util.tree_structure(PARAMS)
