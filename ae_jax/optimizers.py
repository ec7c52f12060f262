"""Optimizers and learning-rate schedules by name, through optax.

The learning rate (and momentum where it applies) are injected hyperparameters: they live in
the optimizer state as arrays, so runs with different learning rates can be vmapped in one
compiled program. A schedule multiplies the injected base rate by a factor of the step.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax

from ae_jax.registry import Registry

# name -> fn(optimizer_config) -> optax.GradientTransformation
OPTIMIZERS: Registry = Registry("optimizer", field="optimizer.name")
# name -> fn(optimizer_config, steps_per_epoch, num_epochs) -> factor of the step
SCHEDULES: Registry = Registry("schedule", field="optimizer.schedule")


def _sgd(learning_rate, momentum=0.0, nesterov=False):
    # A trace even at momentum 0 (v = 0 * v + g is plain SGD): one state structure for every
    # momentum, so runs with and without momentum can share a vmapped program.
    return optax.sgd(learning_rate, momentum=momentum, nesterov=nesterov)


def _injected(optimizer, static_args=(), **fields):
    """A builder cfg -> `optax.inject_hyperparams(optimizer)(arg=cfg.<field>, ...)` for the
    `arg=field` pairs given."""
    def build(cfg):
        values = {arg: cfg[field] for arg, field in fields.items()}
        return optax.inject_hyperparams(optimizer, static_args=static_args)(**values)

    return build


LR = "learning_rate"
OPTIMIZERS.add("adam", _injected(optax.adam, learning_rate=LR, b1="beta1", b2="beta2", eps="eps"))
OPTIMIZERS.add("adamw", _injected(optax.adamw, learning_rate=LR, weight_decay="weight_decay",
                                  eps="eps"))
OPTIMIZERS.add("sgd", _injected(_sgd, ("nesterov",), learning_rate=LR, momentum="momentum",
                                nesterov="nesterov"))
OPTIMIZERS.add("rmsprop", _injected(optax.rmsprop, learning_rate=LR, decay="rho", eps="eps",
                                    momentum="momentum"))
# Keras' Adadelta (the seeds' choice) uses rho 0.95 and eps 1e-7; its default learning rate
# is 0.001 in Keras 3 (1.0 in Keras 2, where the seeds were written).
OPTIMIZERS.add("adadelta", _injected(optax.adadelta, learning_rate=LR, rho="rho", eps="eps"))


@SCHEDULES.register("constant")
def _constant(cfg, steps_per_epoch: int, num_epochs: int):
    return optax.constant_schedule(1.0)


@SCHEDULES.register("inverse_time")
def _inverse_time(cfg, steps_per_epoch: int, num_epochs: int):
    decay = cfg.decay
    return lambda step: 1.0 / (1.0 + decay * step)


@SCHEDULES.register("cosine")
def _cosine(cfg, steps_per_epoch: int, num_epochs: int):
    return optax.cosine_decay_schedule(1.0, max(1, steps_per_epoch * num_epochs))


@SCHEDULES.register("warmup_cosine")
def _warmup_cosine(cfg, steps_per_epoch: int, num_epochs: int):
    total = max(1, steps_per_epoch * num_epochs)
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    return optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup, max(total, warmup + 1))


def schedule_factor(cfg, steps_per_epoch: int, num_epochs: int):
    """The multiplier of the base learning rate as a function of the step.

    constant:      1
    inverse_time:  1 / (1 + decay * step)   (Keras' legacy `decay`, the seeds' SGD(decay=1e-6))
    cosine:        cosine decay from 1 to 0 over the whole run
    warmup_cosine: linear warm-up over `warmup_epochs`, then cosine decay to 0
    """
    return SCHEDULES.get(cfg.schedule)(cfg, steps_per_epoch, num_epochs)


def make_optimizer(cfg, steps_per_epoch: int, num_epochs: int) -> optax.GradientTransformation:
    """The optimizer named by `cfg.name`, its schedule and optional gradient clipping.
    `cfg` is `config.optimizer` (or, for GANs, `config.discriminator_optimizer`)."""
    optimizer = OPTIMIZERS.get(cfg.name)(cfg)
    schedule = schedule_factor(cfg, steps_per_epoch, num_epochs)
    parts = [optax.clip_by_global_norm(cfg.grad_clip_norm)] if cfg.grad_clip_norm else []
    parts.append(optimizer)
    if cfg.schedule != "constant":
        parts.append(optax.scale_by_schedule(schedule))
    return optax.chain(*parts) if len(parts) > 1 else parts[0]


def injected_hyperparams(opt_state) -> dict:
    """The optimizer's injected hyperparameters {name: array} (optax.inject_hyperparams's
    `hyperparams`, found by optax.tree_utils.tree_get; {} when there are none)."""
    return optax.tree_utils.tree_get(opt_state, "hyperparams", default={})


def set_hyperparams(opt_state, **values):
    """`opt_state` with injected hyperparameters replaced (optax.tree_utils.tree_set); each
    value is broadcast to the stored value's shape and dtype (one per run for vmapped runs).
    An unknown name is a ValueError listing the optimizer's hyperparameters."""
    hyperparams = dict(injected_hyperparams(opt_state))
    for name, value in values.items():
        if name not in hyperparams:
            raise ValueError(f"the optimizer has no hyperparameter {name!r}; it has "
                             f"{sorted(hyperparams)}")
        old = hyperparams[name]
        hyperparams[name] = jnp.broadcast_to(jnp.asarray(value, old.dtype), old.shape)
    return optax.tree_utils.tree_set(opt_state, hyperparams=hyperparams) if values else opt_state


def with_hyperparams_of(opt_state, source_opt_state):
    """`opt_state` with the injected hyperparameters (learning rate, momentum, ...) taken from
    `source_opt_state`: a resumed run uses the learning rate of the command that resumes it,
    not the one stored in the checkpoint."""
    return set_hyperparams(opt_state, **injected_hyperparams(source_opt_state))
