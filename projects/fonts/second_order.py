"""Full-batch optimisers on the flattened parameters, for small problems (the font AE).

The parameters pytree is flattened to one vector theta of P numbers
(`jax.flatten_util.ravel_pytree`), and the objective is the mean training loss over the
whole training set (no mini-batches):

    f(theta) = (1 / N) sum_n loss(x_n; unravel(theta))

`f` and its gradient are jitted once; every method below sees the same f.

Methods (`METHODS`):
  bfgs        BFGS as an optax chain: `scale_by_bfgs` (dense P x P inverse-Hessian
              approximation, updated in O(P^2)) then optax's zoom line search; `maxiter`
              iterations in one jitted scan.
  jax_bfgs    jax.scipy.optimize.minimize(method="BFGS"): the same method as one jitted while
              loop, but its update costs O(P^3) (two P x P matrix products per iteration):
              about 60x slower per iteration than `bfgs` at P = 2,789 (the font AE:
              3.6 s against 0.06 s, measured on a loaded 2-core CPU).
  lbfgs       optax.lbfgs (memory 10, zoom line search): `maxiter` iterations in one jitted
              scan.
  scipy_bfgs  scipy.optimize.minimize BFGS, with the jitted value and gradient (O(P^3) per
              iteration, like jax_bfgs).
  cg          scipy's nonlinear conjugate gradient (Polak-Ribiere), jitted value and gradient.
  powell      scipy's modified Powell: derivative-free line searches along a set of
              directions (one per parameter at first), so each iteration costs O(P) line
              searches of the jitted loss. The course's choice (20 iterations).
  adam, sgd   optax first-order steps on the full batch in one jitted scan, for reference.

Times exclude compilation, which is reported apart.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.optimize
import numpy as np
import optax
import scipy.optimize
from jax.flatten_util import ravel_pytree


@dataclasses.dataclass
class FlatProblem:
    """f(theta) and its gradient over a flat parameter vector theta of shape (P,)."""

    theta0: jax.Array
    unravel: Callable
    loss: Callable            # jitted: theta (P,) -> f, a float32 scalar
    value_and_grad: Callable  # jitted: theta (P,) -> (f, grad (P,))


@dataclasses.dataclass
class Result:
    method: str
    theta: np.ndarray
    loss: float
    iterations: int
    evaluations: int | None   # loss (and gradient) evaluations, where the method reports them
    seconds: float            # optimisation wall time, compilation excluded
    compile_seconds: float
    history: list[float]      # f after each iteration (where available)


def flat_problem(loss_of_params: Callable, params) -> FlatProblem:
    """`loss_of_params(params) -> scalar` (the full-batch objective) over a flat vector."""
    theta0, unravel = ravel_pytree(params)

    def f(theta):
        return loss_of_params(unravel(theta))

    return FlatProblem(theta0, unravel, jax.jit(f), jax.jit(jax.value_and_grad(f)))


class BFGSState(NamedTuple):
    inv_hessian: jax.Array  # (P, P)
    prev_params: jax.Array  # (P,)
    prev_grad: jax.Array    # (P,)
    count: jax.Array


def scale_by_bfgs() -> optax.GradientTransformation:
    """The BFGS direction H g for a flat parameter vector, H approximating the inverse Hessian.

    With s = theta_k - theta_{k-1}, y = g_k - g_{k-1} and rho = 1 / (y^T s):

        H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T
           = H - rho (H y s^T + s y^T H) + (rho^2 y^T H y + rho) s s^T

    The second form costs O(P^2) (the first, as written in scipy and jax.scipy, O(P^3)).
    H starts as I, is rescaled to (y^T s / y^T y) I before the first update (Nocedal and
    Wright, eq. 6.20), and is left unchanged when y^T s <= 0. The first direction is g scaled
    to norm at most 1, as optax.lbfgs does. Chain with `optax.scale(-1.0)` and a line search.
    """

    def init(params):
        p = jnp.asarray(params)
        zeros = jnp.zeros_like(p)
        return BFGSState(jnp.eye(p.size, dtype=p.dtype), zeros, zeros, jnp.zeros([], jnp.int32))

    def update(grads, state, params):
        s, y = params - state.prev_params, grads - state.prev_grad
        sy, yy = s @ y, y @ y
        ok = (state.count > 0) & (sy > 1e-12)
        eye = jnp.eye(s.size, dtype=s.dtype)
        h = jnp.where(ok & (state.count == 1), (sy / jnp.where(ok, yy, 1.0)) * eye,
                      state.inv_hessian)
        hy = h @ y
        rho = 1.0 / jnp.where(ok, sy, 1.0)
        updated = (h - rho * (jnp.outer(hy, s) + jnp.outer(s, hy))
                   + (rho * rho * (y @ hy) + rho) * jnp.outer(s, s))
        h = jnp.where(ok, updated, h)
        first = grads * jnp.minimum(1.0, 1.0 / (jnp.linalg.norm(grads) + 1e-12))
        direction = jnp.where(state.count == 0, first, h @ grads)
        return direction, BFGSState(h, params, grads, state.count + 1)

    return optax.GradientTransformation(init, update)


def bfgs(max_linesearch_steps: int = 15) -> optax.GradientTransformationExtraArgs:
    """BFGS with optax's zoom line search (the structure of `optax.lbfgs`)."""
    return optax.chain(scale_by_bfgs(), optax.scale(-1.0),
                       optax.scale_by_zoom_linesearch(max_linesearch_steps,
                                                      initial_guess_strategy="one"))


def _timed_compile(fn, *args):
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def _jax_bfgs(p: FlatProblem, maxiter: int, tol: float) -> Result:
    def solve(theta):
        return jax.scipy.optimize.minimize(p.loss, theta, method="BFGS", tol=tol,
                                           options={"maxiter": maxiter})

    solve, compile_s = _timed_compile(solve, p.theta0)
    t0 = time.perf_counter()
    res = jax.block_until_ready(solve(p.theta0))
    seconds = time.perf_counter() - t0
    return Result("jax_bfgs", np.asarray(res.x), float(res.fun), int(res.nit), int(res.nfev),
                  seconds, compile_s, [])


def _optax_scan(name: str, tx: optax.GradientTransformation, p: FlatProblem, maxiter: int,
                line_search: bool) -> Result:
    value_and_grad = optax.value_and_grad_from_state(p.loss) if line_search else None

    def run(theta):
        def step(carry, _):
            theta, state = carry
            if line_search:
                value, grad = value_and_grad(theta, state=state)
                updates, state = tx.update(grad, state, theta, value=value, grad=grad,
                                           value_fn=p.loss)
            else:
                value, grad = jax.value_and_grad(p.loss)(theta)
                updates, state = tx.update(grad, state, theta)
            return (optax.apply_updates(theta, updates), state), value

        (theta, _), values = jax.lax.scan(step, (theta, tx.init(theta)), length=maxiter)
        return theta, values

    run, compile_s = _timed_compile(run, p.theta0)
    t0 = time.perf_counter()
    theta, values = jax.block_until_ready(run(p.theta0))
    seconds = time.perf_counter() - t0
    history = np.asarray(values[1:]).tolist() + [float(p.loss(theta))]  # f after each step
    return Result(name, np.asarray(theta), history[-1], maxiter, None, seconds, compile_s,
                  history)


def _scipy(method: str, name: str, p: FlatProblem, maxiter: int, tol: float) -> Result:
    def fun(theta64):
        return float(p.loss(np.asarray(theta64, np.float32)))

    def fun_and_grad(theta64):
        value, grad = p.value_and_grad(np.asarray(theta64, np.float32))
        return float(value), np.asarray(grad, np.float64)

    t0 = time.perf_counter()
    jax.block_until_ready(p.value_and_grad(p.theta0))  # compile f and its gradient
    jax.block_until_ready(p.loss(p.theta0))
    compile_s = time.perf_counter() - t0
    history: list[float] = []
    uses_grad = method != "Powell"
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(
        fun_and_grad if uses_grad else fun, np.asarray(p.theta0, np.float64),
        jac=uses_grad or None, method=method, tol=tol, options={"maxiter": maxiter},
        callback=lambda xk: history.append(fun(xk)))
    seconds = time.perf_counter() - t0
    return Result(name, res.x.astype(np.float32), float(res.fun), int(res.nit), int(res.nfev),
                  seconds, compile_s, history)


METHODS: dict[str, Callable[..., Result]] = {
    "bfgs": lambda p, maxiter, tol: _optax_scan("bfgs", bfgs(), p, maxiter, True),
    "jax_bfgs": lambda p, maxiter, tol: _jax_bfgs(p, maxiter, tol),
    "lbfgs": lambda p, maxiter, tol: _optax_scan("lbfgs", optax.lbfgs(), p, maxiter, True),
    "scipy_bfgs": lambda p, maxiter, tol: _scipy("BFGS", "scipy_bfgs", p, maxiter, tol),
    "cg": lambda p, maxiter, tol: _scipy("CG", "cg", p, maxiter, tol),
    "powell": lambda p, maxiter, tol: _scipy("Powell", "powell", p, maxiter, tol),
    "adam": lambda p, maxiter, tol: _optax_scan("adam", optax.adam(1e-2), p, maxiter, False),
    "sgd": lambda p, maxiter, tol: _optax_scan("sgd", optax.sgd(0.5, momentum=0.9), p,
                                               maxiter, False),
}


def minimize(problem: FlatProblem, method: str, maxiter: int, tol: float = 1e-8) -> Result:
    """Minimise f from problem.theta0 with `method` for at most `maxiter` iterations."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {sorted(METHODS)}")
    return METHODS[method](problem, maxiter, tol)
