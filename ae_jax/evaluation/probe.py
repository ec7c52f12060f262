"""The linear probe fitted on the device: multinomial logistic regression by L-BFGS (optax).

The features are standardised with the training rows' mean and std (a constant feature, std
0, keeps std 1 and so stays 0), x <- (x - mu) / sigma, and the probe is p(y | x) =
softmax(x W + b) with W (D, K) and b (K,) for K classes. It minimises scikit-learn's
objective of `LogisticRegression(C=C)` (multinomial, L2, intercept not penalised):

    sklearn:  C * sum_i CE_i(W, b) + 0.5 ||W||^2,     CE_i = -log softmax(x_i W + b)_{y_i}

which divided by C N has the same minimiser and is what is minimised here (and what
scikit-learn's lbfgs solver itself minimises, its loss scaled by the number of examples):

    f(W, b) = (1/N) sum_i CE_i(W, b) + ||W||^2 / (2 C N)

(scikit-learn's lbfgs path sets l2_reg_strength = 1 / (C N) on the per-example mean loss.)
f is convex, strictly in W, so both solvers reach the same optimum up to their tolerance (b
only up to a common shift of all K biases, which changes no probability).

Full-batch L-BFGS (`optax.lbfgs`, zoom line search, memory 10) runs inside one jitted
`jax.lax.while_loop` from W = 0, b = 0 until max_j |df/dtheta_j| <= tol (scikit-learn's
gtol, default 1e-4, on the same f), or the line search stops decreasing f (the float32
precision floor), or `max_iter` iterations. float32 throughout (the device's precision);
`logistic_objective` evaluates f in float64 on the host to compare solutions.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu


def standardiser(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of the (N, D) training rows, std 1 where a feature is constant."""
    train = np.asarray(train, np.float64)
    mean, std = train.mean(0), train.std(0)
    return mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


def _objective(params, x, y, l2):
    """f of the module docstring on standardised x (N, D), labels y (N,); l2 = 1/(2 C N)."""
    logits = x @ params["w"] + params["b"]  # (N, K)
    ce = -jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)[:, 0]  # (N,)
    return jnp.mean(ce) + l2 * jnp.sum(params["w"] ** 2)


@functools.partial(jax.jit, static_argnames=("num_classes", "max_iter", "memory_size"))
def _fit(x, y, l2, tol, num_classes: int, max_iter: int, memory_size: int):
    """L-BFGS on f from zero weights: (params, iterations, max |grad|, f)."""
    params = {"w": jnp.zeros((x.shape[1], num_classes), x.dtype),
              "b": jnp.zeros((num_classes,), x.dtype)}
    fun = functools.partial(_objective, x=x, y=y, l2=l2)
    opt = optax.lbfgs(memory_size=memory_size)
    value_and_grad = optax.value_and_grad_from_state(fun)

    def step(carry):
        params, state, _ = carry
        value, grad = value_and_grad(params, state=state)  # f at params (the state's)
        updates, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(params, updates), state, value

    def gradient_max(state):
        return otu.tree_max(jax.tree_util.tree_map(jnp.abs, otu.tree_get(state, "grad")))

    def going_on(carry):
        _, state, value_before = carry
        count = otu.tree_get(state, "count")
        # the line search stores f and grad at the accepted point: stop at tol, at max_iter,
        # or when the last step did not decrease f (float32 cannot resolve further progress)
        stalled = otu.tree_get(state, "value") >= value_before
        return (count == 0) | ((count < max_iter) & (gradient_max(state) > tol) & ~stalled)

    params, state, _ = jax.lax.while_loop(going_on, step, (params, opt.init(params),
                                                           jnp.asarray(jnp.inf, x.dtype)))
    return params, otu.tree_get(state, "count"), gradient_max(state), fun(params)


@dataclasses.dataclass(frozen=True)
class LogisticProbe:
    """A fitted probe: weights (D, K), bias (K,), the standardiser, and how the fit ended."""

    w: np.ndarray
    b: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    iterations: int
    grad_max: float  # max |df/dtheta| at the end (float32)
    converged: bool  # grad_max <= tol

    def logits(self, x) -> np.ndarray:
        z = (jnp.asarray(x, jnp.float32) - self.mean) / self.std
        return np.asarray(z @ self.w + self.b)  # (N, K)

    def predict(self, x) -> np.ndarray:
        return np.argmax(self.logits(x), axis=1)

    def score(self, x, y) -> float:
        """Accuracy: mean [prediction == label]."""
        return float(np.mean(self.predict(x) == np.asarray(y)))


def fit_logistic_regression(train, labels, c: float = 1.0, max_iter: int = 1000,
                            tol: float = 1e-4, num_classes: int | None = None,
                            memory_size: int = 10) -> LogisticProbe:
    """The probe of the module docstring fitted on (N, D) rows `train` with labels (N,)."""
    mean, std = standardiser(train)
    x = (jnp.asarray(train, jnp.float32) - mean) / std
    labels = np.asarray(labels).astype(np.int32)
    k = int(num_classes or labels.max() + 1)
    params, count, grad_max, _ = _fit(x, jnp.asarray(labels), jnp.float32(1.0 / (2 * c * len(x))),
                                      jnp.float32(tol), num_classes=k, max_iter=int(max_iter),
                                      memory_size=int(memory_size))
    grad_max = float(grad_max)
    return LogisticProbe(np.asarray(params["w"]), np.asarray(params["b"]), mean, std,
                         int(count), grad_max, grad_max <= tol)


def logistic_objective(w, b, train, labels, c: float, mean=None, std=None) -> float:
    """f(W, b) of the module docstring in float64 on the host, W (D, K), b (K,), on `train`
    standardised with (mean, std) (default: its own)."""
    if mean is None:
        mean, std = standardiser(train)
    x = (np.asarray(train, np.float64) - mean) / std
    logits = x @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
    top = logits.max(1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(1))
    ce = log_norm - logits[np.arange(len(x)), np.asarray(labels)]
    return float(ce.mean() + np.sum(np.asarray(w, np.float64) ** 2) / (2 * c * len(x)))
