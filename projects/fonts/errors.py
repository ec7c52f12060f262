"""The course's error measures for binary bitmaps, over one run or a stack of runs.

For a character x in {0, 1}^35 and its reconstruction x_hat in [0, 1]^35:

  mean reconstruction loss   the training loss of the config, e.g. binary cross-entropy
                             averaged over the 35 pixels,
                             L(x, x_hat) = -(1/35) sum_j [x_j log x_hat_j
                                                          + (1 - x_j) log(1 - x_hat_j)]
  wrong pixels               after thresholding at 0.5,
                             e(x, x_hat) = sum_j [ 1(x_hat_j >= 0.5) != 1(x_j >= 0.5) ]
                             reported as its max and mean over the characters; "every
                             character has at most one wrong pixel" is max_n e_n <= 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax.data import to_float
from ae_jax.models.activations import get_activation
from projects.fonts.engine_api import example_losses, model_params


def wrong_pixels(x, x_hat, threshold: float = 0.5) -> np.ndarray:
    """e_n = number of pixels of character n on the wrong side of the threshold; (..., N).

    x, x_hat: (..., N, D) or images (..., N, H, W, C), values in [0, 1].
    """
    x, x_hat = np.asarray(x), np.asarray(x_hat)
    n_axes = x_hat.ndim - x.ndim  # leading run axes of x_hat
    x = np.broadcast_to(x, x_hat.shape)
    flat = x_hat.shape[: n_axes + 1] + (-1,)  # (..., N, H, W, C) -> (..., N, D)
    return np.sum((x_hat.reshape(flat) >= threshold) != (x.reshape(flat) >= threshold), -1)


def pixel_summary(errors: np.ndarray) -> dict[str, float]:
    """max and mean of e_n over the characters, the fraction of characters with e_n <= 1, and
    whether all of them have (1.0) or not (0.0)."""
    errors = np.asarray(errors)
    return {"max_wrong_pixels": float(errors.max()), "mean_wrong_pixels": float(errors.mean()),
            "frac_at_most_one_wrong": float(np.mean(errors <= 1)),
            "all_at_most_one": float(errors.max() <= 1)}


def make_run_functions(model, objective):
    """Jitted functions over a stacked state's params (leading run axis R) and float data:

      reconstruct(params, x) -> x_hat (R, N, H, W, C) in [0, 1]
      encode(params, x) -> codes (R, N, K)
      losses(params, weights, inputs, targets) -> per-example training loss (R, N) of the
        reconstruction of `inputs` against `targets` (the same array, or clean targets of
        noisy inputs)
      decode(params, z) -> x_hat (R, M, H, W, C) for codes z (M, K)
    """
    act = get_activation(model.output_activation)

    def reconstruct(params, x):
        return act(model.apply({"params": params}, x)[0])

    def encode(params, x):
        return model.apply({"params": params}, x, method="encode").reshape(len(x), -1)

    def losses(params, weights, inputs, targets):
        return example_losses(model, objective, params, weights, inputs, targets)

    def decode(params, z):
        return act(model.apply({"params": params}, z, method="decode"))

    return (jax.jit(jax.vmap(reconstruct, (0, None))), jax.jit(jax.vmap(encode, (0, None))),
            jax.jit(jax.vmap(losses, (0, 0, None, None))), jax.jit(jax.vmap(decode, (0, None))))


def per_run_errors(state, model, objective, x, fonts: np.ndarray | None = None,
                   prefix: str = "") -> dict[str, list[float]]:
    """Per-run error measures of a stacked state on uint8 or float examples x (N, H, W, C):
    `<prefix>loss` (the training loss), max / mean wrong pixels, the fraction with at most one
    wrong pixel, and with `fonts` (N,) the mean loss and wrong pixels of each font."""
    reconstruct, _, losses, _ = make_run_functions(model, objective)
    xf = to_float(jnp.asarray(x))
    params = model_params(state)
    x_hat = np.asarray(reconstruct(params, xf))
    loss = np.asarray(losses(params, state.loss_weights, xf, xf))  # (R, N)
    errors = wrong_pixels(np.asarray(xf), x_hat)  # (R, N)
    out: dict[str, list[float]] = {f"{prefix}loss": loss.mean(1).tolist()}
    for r in range(len(errors)):
        for k, v in pixel_summary(errors[r]).items():
            out.setdefault(prefix + k, []).append(v)
    if fonts is not None:
        for f in np.unique(fonts):
            out[f"{prefix}loss_font{f}"] = loss[:, fonts == f].mean(1).tolist()
            out[f"{prefix}mean_wrong_pixels_font{f}"] = errors[:, fonts == f].mean(1).tolist()
    return out
