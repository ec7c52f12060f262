"""Sparse autoencoders: penalties on the activations of one layer (seed 004).

Both terms read the layer named by `loss.activity_layer`: None (the default) is the code,
`aux["code"]`; an integer i is `aux["hidden"][i]` (the encoder's activations, input side
first; for the dense models `aux["hidden"][-1]` is the code too).

Batch masks: the batch statistics of `kl_sparsity` are taken over the real examples of the
term's `mask` only (evaluation pads its last batch).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax.objectives.terms import TERMS, PerExample, TermInputs


def activity(aux, loss_config) -> jax.Array:
    """The activations the sparsity terms penalise, flattened to (B, units), in float32."""
    layer = loss_config.activity_layer
    if layer is None:
        a = aux["code"]
    else:
        hidden = aux.get("hidden", ())
        if not -len(hidden) <= layer < len(hidden):
            raise ValueError(
                f"loss.activity_layer={layer} but the model reports {len(hidden)} hidden "
                "layers in aux['hidden']; use None for the code"
            )
        a = hidden[layer]
    return a.reshape((a.shape[0], -1)).astype(jnp.float32)  # (B, ...) -> (B, units)


@TERMS.register("l1_activity")
def l1_activity(t: TermInputs) -> PerExample:
    """L1 activity penalty: sum_i |a_i| over the units of the chosen layer, per example.

    With weight lambda the trainer adds lambda * mean_b sum_i |a_bi|: Keras'
    `activity_regularizer=l1(lambda)` (summed over units, averaged over the batch).
    """
    return jnp.sum(jnp.abs(activity(t.aux, t.config)), axis=1)


def bernoulli_kl(rho, rho_hat):
    """KL(rho || rho_hat) = rho log(rho / rho_hat) + (1 - rho) log((1 - rho) / (1 - rho_hat))."""
    return rho * jnp.log(rho / rho_hat) + (1.0 - rho) * jnp.log((1.0 - rho) / (1.0 - rho_hat))


def _check_unit_interval(lo, hi):
    """Host-side check (runs through `jax.debug.callback` inside compiled code)."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    if np.any(lo < 0.0) or np.any(hi > 1.0):
        raise ValueError(
            "kl_sparsity needs activations in (0, 1) (a sigmoid layer), but the chosen layer "
            f"has values in [{lo.min():.4g}, {hi.max():.4g}]; set the layer's activation to "
            "'sigmoid' (e.g. --config.model.latent_activation=sigmoid) or use l1_activity"
        )


@TERMS.register("kl_sparsity")
def kl_sparsity(t: TermInputs) -> PerExample:
    """KL sparsity: sum_j KL(rho || rho_hat_j) over the units j of a sigmoid layer.

        rho_hat_j = (1/B) sum_b a_bj        (the batch-mean activation of unit j)
        KL(rho || r) = rho log(rho / r) + (1 - rho) log((1 - rho) / (1 - r))

    rho is `loss.sparsity_target`. The penalty is a batch-level quantity: the
    same value is returned for every example, so the batch mean of the (B,) result is exactly
    sum_j KL(rho || rho_hat_j), and its gradient flows through rho_hat into every example.
    (It is therefore not a per-example anomaly score.) rho_hat is clipped to [1e-6, 1 - 1e-6]
    so a saturated unit gives a large finite penalty rather than inf.

    Raises ValueError (inside compiled code: a runtime error carrying the same message) when
    the layer has values outside [0, 1], e.g. a relu layer.
    """
    a = activity(t.aux, t.config)  # (B, units)
    lo, hi = jnp.min(a), jnp.max(a)
    if isinstance(a, jax.core.Tracer):  # call the host only when the check fails (no cost)
        jax.lax.cond((lo < 0.0) | (hi > 1.0),
                     lambda: jax.debug.callback(_check_unit_interval, lo, hi), lambda: None)
    else:
        _check_unit_interval(lo, hi)
    rho = t.config.sparsity_target
    if not 0.0 < rho < 1.0:
        raise ValueError(f"loss.sparsity_target must be in (0, 1), got {rho}")
    if t.mask is None:
        rho_hat = jnp.mean(a, axis=0)  # (units,)
    else:
        m = t.real()[:, None]  # (B,) -> (B, 1)
        rho_hat = jnp.sum(a * m, axis=0) / jnp.maximum(jnp.sum(m), 1.0)
    rho_hat = jnp.clip(rho_hat, 1e-6, 1.0 - 1e-6)
    penalty = jnp.sum(bernoulli_kl(rho, rho_hat))
    return jnp.broadcast_to(penalty, (a.shape[0],))
