"""Optimizers and learning-rate schedules by name, through optax.

The learning rate (and momentum where it applies) are injected hyperparameters: they live in
the optimizer state as arrays, so runs with different learning rates can be vmapped in one
compiled program. A schedule multiplies the injected base rate by a factor of the step.
"""

from __future__ import annotations

import jax
import optax


def _sgd(learning_rate, momentum=0.0, nesterov=False):
    # A trace even at momentum 0 (v = 0 * v + g is plain SGD): one state structure for every
    # momentum, so runs with and without momentum can share a vmapped program.
    return optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov)


_OPTIMIZERS = {
    "adam": lambda cfg: optax.inject_hyperparams(optax.adam)(
        learning_rate=cfg.learning_rate, b1=cfg.get("beta1", 0.9), b2=cfg.get("beta2", 0.999),
        eps=cfg.get("eps", 1e-7),
    ),
    "adamw": lambda cfg: optax.inject_hyperparams(optax.adamw)(
        learning_rate=cfg.learning_rate, weight_decay=cfg.get("weight_decay", 1e-4),
        eps=cfg.get("eps", 1e-7),
    ),
    "sgd": lambda cfg: optax.inject_hyperparams(_sgd, static_args=("nesterov",))(
        learning_rate=cfg.learning_rate, momentum=cfg.get("momentum", 0.0),
        nesterov=cfg.get("nesterov", False),
    ),
    "rmsprop": lambda cfg: optax.inject_hyperparams(optax.rmsprop)(
        learning_rate=cfg.learning_rate, decay=cfg.get("rho", 0.9), eps=cfg.get("eps", 1e-7),
        momentum=cfg.get("momentum", 0.0),
    ),
    # Keras' Adadelta (the seeds' choice) uses rho 0.95 and eps 1e-7; its default learning
    # rate is 0.001 in Keras 3 (1.0 in Keras 2, where the seeds were written).
    "adadelta": lambda cfg: optax.inject_hyperparams(optax.adadelta)(
        learning_rate=cfg.learning_rate, rho=cfg.get("rho", 0.95), eps=cfg.get("eps", 1e-7),
    ),
}


def schedule_factor(cfg, steps_per_epoch: int, num_epochs: int):
    """The multiplier of the base learning rate as a function of the step.

    constant:      1
    inverse_time:  1 / (1 + decay * step)   (Keras' legacy `decay`, the seeds' SGD(decay=1e-6))
    cosine:        cosine decay from 1 to 0 over the whole run
    warmup_cosine: linear warm-up over `warmup_epochs`, then cosine decay to 0
    """
    name = cfg.get("schedule", "constant")
    total = max(1, steps_per_epoch * num_epochs)
    if name == "constant":
        return optax.constant_schedule(1.0)
    if name == "inverse_time":
        decay = cfg.get("decay", 0.0)
        return lambda step: 1.0 / (1.0 + decay * step)
    if name == "cosine":
        return optax.cosine_decay_schedule(1.0, total)
    if name == "warmup_cosine":
        warmup = int(cfg.get("warmup_epochs", 1) * steps_per_epoch)
        return optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup, max(total, warmup + 1))
    raise ValueError(
        f"unknown schedule {name!r}; known: constant, inverse_time, cosine, warmup_cosine"
    )


def make_optimizer(cfg, steps_per_epoch: int, num_epochs: int) -> optax.GradientTransformation:
    """The optimizer named by `cfg.name`, its schedule and optional gradient clipping."""
    if cfg.name not in _OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.name!r}; known: {sorted(_OPTIMIZERS)}")
    parts = []
    if cfg.get("grad_clip_norm"):
        parts.append(optax.clip_by_global_norm(cfg.grad_clip_norm))
    parts.append(_OPTIMIZERS[cfg.name](cfg))
    if cfg.get("schedule", "constant") != "constant":
        parts.append(optax.scale_by_schedule(schedule_factor(cfg, steps_per_epoch, num_epochs)))
    return optax.chain(*parts) if len(parts) > 1 else parts[0]


def is_injected_state(node) -> bool:
    return hasattr(node, "hyperparams") and hasattr(node, "inner_state")


def with_hyperparams_of(opt_state, source_opt_state):
    """`opt_state` with the injected hyperparameters (learning rate, momentum, ...) taken from
    `source_opt_state`: a resumed run uses the learning rate of the command that resumes it,
    not the one stored in the checkpoint."""

    def take(node, source):
        if is_injected_state(node):
            return node._replace(hyperparams=source.hyperparams)
        return node

    return jax.tree_util.tree_map(take, opt_state, source_opt_state, is_leaf=is_injected_state)
