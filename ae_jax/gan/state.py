"""The adversarial train state: two networks, each with its parameters, batch-norm running
averages and optimizer state, plus the step and the run's root key.

    GANState(step, key, generator=Net(...), discriminator=Net(...))

It is one pytree, so `EpochRunner`, Orbax checkpoints and exact resume work on it as on the
autoencoders' TrainState (`EpochRunner` needs only `state.key`). For the adversarial
autoencoder the "generator" is the autoencoder (see `ae_jax.gan.models.build_networks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ae_jax import rng
from ae_jax.gan.models import build_networks
from ae_jax.optimizers import make_optimizer


class Net(struct.PyTreeNode):
    """One network: `params`, `batch_stats` ({} without batch norm), `opt_state`; the apply
    function and the optimizer are static."""

    params: Any
    batch_stats: Any
    opt_state: Any
    apply_fn: Callable = struct.field(pytree_node=False)
    tx: optax.GradientTransformation = struct.field(pytree_node=False)

    @classmethod
    def create(cls, module, tx, variables) -> Net:
        params = variables["params"]
        return cls(params=params, batch_stats=variables.get("batch_stats", {}),
                   opt_state=tx.init(params), apply_fn=module.apply, tx=tx)

    def apply_gradients(self, grads, batch_stats) -> Net:
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        return self.replace(params=optax.apply_updates(self.params, updates),
                            batch_stats=batch_stats, opt_state=opt_state)

    def train_apply(self, params, *args, **kwargs):
        """(outputs, new batch_stats): batch statistics from this batch, running averages
        updated (returned, not stored: the caller decides whether to keep them)."""
        out, updates = self.apply_fn({"params": params, "batch_stats": self.batch_stats},
                                     *args, train=True, mutable=["batch_stats"], **kwargs)
        return out, updates.get("batch_stats", {})

    def eval_apply(self, *args, **kwargs):
        """Outputs with the running averages (what sampling and evaluation use)."""
        return self.apply_fn({"params": self.params, "batch_stats": self.batch_stats},
                             *args, **kwargs)


class GANState(struct.PyTreeNode):
    step: jax.Array  # int32 scalar: steps taken (both networks step together)
    key: jax.Array  # uint32[2]: the run's root key
    generator: Net
    discriminator: Net


def create_gan_state(generator, discriminator, g_tx, d_tx, g_input_shape, d_input_shape,
                     seed) -> GANState:
    """Both networks initialised from the run's "init" stream, one sub-stream each."""
    key = jax.random.PRNGKey(seed)
    init = rng.stream(key, "init")
    g_vars = generator.init(rng.stream(init, "generator"),
                            jnp.zeros((1, *g_input_shape), jnp.float32))
    d_vars = discriminator.init(rng.stream(init, "discriminator"),
                                jnp.zeros((1, *d_input_shape), jnp.float32))
    return GANState(step=jnp.zeros((), jnp.int32), key=key,
                    generator=Net.create(generator, g_tx, g_vars),
                    discriminator=Net.create(discriminator, d_tx, d_vars))


def initial_gan_state(config, example_shape, steps_per_epoch: int):
    """(state, generator module, discriminator module, g input shape, d input shape) for a
    config: `config.optimizer` trains the generator (the autoencoder for the AAE),
    `config.discriminator_optimizer` the discriminator."""
    gen, disc, g_shape, d_shape = build_networks(config.model, example_shape)
    epochs = max(1, config.num_epochs)
    g_tx = make_optimizer(config.optimizer, steps_per_epoch, epochs)
    d_tx = make_optimizer(config.discriminator_optimizer, steps_per_epoch, epochs)
    state = create_gan_state(gen, disc, g_tx, d_tx, g_shape, d_shape, config.seed)
    return state, gen, disc, g_shape, d_shape
