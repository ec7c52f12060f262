"""The adversarial training step, its evaluation and sampling, for GANs and the AAE.

Each train step has the autoencoders' shape, `train_step(state, flat_batch) -> (state,
metrics)`, so `ae_jax.training.EpochRunner` runs it (scan or unrolled steps, donated state).
One step updates the discriminator, then the generator against the updated discriminator,
each with its own optimizer and its own latent draws:

    key_D, key_G = streams "discriminator", "generator" of fold_in(stream(key, "sample"), step)

Batch norm (DCGAN, MLP generator): both networks run in training mode (batch statistics)
inside the step. The running averages kept are those of the update of the network itself:
D's from its forward passes on the real batch then the generated batch (real and generated
examples are normalised as separate batches, as in the DCGAN reference code); G's from its
forward pass in the generator update. The generator's forward pass that makes D's negatives
and D's forward pass inside the generator update use batch statistics and leave the running
averages alone. Sampling uses G's running averages (train=False); see `make_gan_eval_fn`
for the test-split numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ae_jax import rng
from ae_jax.forward import unflatten
from ae_jax.gan.losses import discriminator_loss, generator_loss, probability
from ae_jax.gan.models import images_from_logits, standard_normal_codes
from ae_jax.objectives.reconstruction import bce_with_logits, reduce_per_example


def step_keys(state) -> tuple[jax.Array, jax.Array]:
    """(key of the discriminator update, key of the generator update) at `state.step`."""
    sample = rng.stream_at(state.key, "sample", state.step)
    return rng.stream(sample, "discriminator"), rng.stream(sample, "generator")


def _discriminator_update(disc, real, fake):
    """Gradient step of D on C_D(real, fake); returns (new D, real logits, fake logits)."""

    def loss_fn(params):
        real_logits, stats = disc.train_apply(params, real)  # (B,)
        fake_logits, stats = disc.replace(batch_stats=stats).train_apply(params, fake)
        return discriminator_loss(real_logits, fake_logits), (stats, real_logits, fake_logits)

    (loss, (stats, real_logits, fake_logits)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(disc.params)
    return disc.apply_gradients(grads, stats), loss, real_logits, fake_logits


def make_gan_train_step(example_shape, latent_dim: int):
    """One GAN step on a (B, D) uint8 batch of real images.

    Metrics: d_loss (C_D before D's update), g_loss (C_G after it), d_real = mean D(x),
    d_fake = mean D(G(z)) as D saw it before its update, d_fake_after = mean D(G(z')) in the
    generator update (after D's update, before G's).
    """

    def train_step(state, batch):
        x = unflatten(batch, example_shape)  # (B, D) -> (B, H, W, C) in [0, 1]
        b = x.shape[0]
        gen, disc = state.generator, state.discriminator
        key_d, key_g = step_keys(state)

        fake_logits_px, _ = gen.train_apply(gen.params, standard_normal_codes(key_d, b,
                                                                             latent_dim))
        fake = jax.lax.stop_gradient(images_from_logits(fake_logits_px))  # (B, H, W, C)
        disc, d_loss, real_logits, fake_logits = _discriminator_update(disc, x, fake)

        z_g = standard_normal_codes(key_g, b, latent_dim)  # (B, K)

        def g_loss_fn(params):
            logits_px, g_stats = gen.train_apply(params, z_g)
            logits, _ = disc.train_apply(disc.params, images_from_logits(logits_px))
            return generator_loss(logits), (g_stats, logits)

        (g_loss, (g_stats, after_logits)), g_grads = jax.value_and_grad(
            g_loss_fn, has_aux=True)(gen.params)
        gen = gen.apply_gradients(g_grads, g_stats)
        metrics = {"d_loss": d_loss, "g_loss": g_loss, "d_real": probability(real_logits),
                   "d_fake": probability(fake_logits),
                   "d_fake_after": probability(after_logits)}
        return state.replace(step=state.step + 1, generator=gen, discriminator=disc), metrics

    return train_step


def _reconstruction(logits, x):
    """Per-example BCE of sigmoid(logits) against x, mean over pixels: shape (B,)."""
    return reduce_per_example(bce_with_logits(logits, x), "mean")


def make_aae_train_step(example_shape, latent_dim: int, adversarial_weight: float):
    """One adversarial-autoencoder step (Makhzani et al., 2016) on a (B, D) batch.

    With encoder q (the "generator" of codes), decoder p and a discriminator D on codes:

      1. D update:  C_D with real = z ~ N(0, I) (the prior), fake = q(x)
      2. AE update: L = BCE(x, p(q(x))) + adversarial_weight * C_G(D(q(x)))

    The paper alternates a reconstruction phase and a regularisation phase with their own
    updates; here both are one gradient step of their weighted sum (the encoder sees both
    gradients in one update), which keeps one generator optimizer as for the GANs.
    Metrics: loss (the reconstruction BCE), d_loss, g_loss, d_real = mean D(z_prior),
    d_fake = mean D(q(x)).
    """

    def train_step(state, batch):
        x = unflatten(batch, example_shape)  # (B, H, W, C)
        ae, disc = state.generator, state.discriminator
        key_d, _ = step_keys(state)
        prior = standard_normal_codes(key_d, x.shape[0], latent_dim)  # (B, K)
        codes = jax.lax.stop_gradient(ae.apply_fn({"params": ae.params}, x, method="encode"))
        disc, d_loss, real_logits, fake_logits = _discriminator_update(disc, prior, codes)

        def ae_loss_fn(params):
            logits_px, aux = ae.apply_fn({"params": params}, x)
            logits, _ = disc.train_apply(disc.params, aux["code"])
            recon, adv = jnp.mean(_reconstruction(logits_px, x)), generator_loss(logits)
            return recon + adversarial_weight * adv, (recon, adv)

        (_, (recon, g_loss)), grads = jax.value_and_grad(ae_loss_fn, has_aux=True)(ae.params)
        ae = ae.apply_gradients(grads, ae.batch_stats)
        metrics = {"loss": recon, "d_loss": d_loss, "g_loss": g_loss,
                   "d_real": probability(real_logits), "d_fake": probability(fake_logits)}
        return state.replace(step=state.step + 1, generator=ae, discriminator=disc), metrics

    return train_step


def batched(fn: Callable, data: jax.Array, batch_size: int):
    """fn over (N, ...) in batches of `batch_size` (one `lax.map`): fn's outputs (a pytree)
    for the N examples. The last batch is padded with the first examples, not zeros, so a
    discriminator that normalises by batch statistics sees real rows only; the padding's
    outputs are dropped."""
    n = data.shape[0]
    batch_size = min(batch_size, n)
    steps = -(-n // batch_size)
    pad = steps * batch_size - n
    padded = jnp.concatenate([data, data[:pad]])  # (steps * B, ...), pad < B <= N
    out = jax.lax.map(fn, padded.reshape(steps, batch_size, *data.shape[1:]))  # (S, B, ...)
    return jax.tree_util.tree_map(
        lambda o: o.reshape(steps * batch_size, *o.shape[2:])[:n], out)  # (S, B, ...) -> (N, ...)


def gan_generate(state, z: jax.Array) -> jax.Array:
    """Images in [0, 1] of shape (M, H, W, C) from codes z (M, K), running averages."""
    return images_from_logits(state.generator.eval_apply(z))


def aae_generate(state, z: jax.Array) -> jax.Array:
    """The AAE's decoder on prior codes z (M, K): images in [0, 1]."""
    ae = state.generator
    return images_from_logits(ae.apply_fn({"params": ae.params}, z, method="decode"))


def _adversarial_numbers(real_logits, fake_logits) -> dict:
    return {"d_loss": discriminator_loss(real_logits, fake_logits),
            "g_loss": generator_loss(fake_logits), "d_real": probability(real_logits),
            "d_fake": probability(fake_logits)}


def make_gan_eval_fn(example_shape, batch_size: int):
    """`evaluate(state, flat_test_data, z_fixed) -> metrics`: D on every test image
    (d_real) and on the samples G(z_fixed) (d_fake), and C_D, C_G from them.

    D normalises each batch of `batch_size` real or generated images by its own statistics,
    as in training (its running averages mix real and generated batches and describe
    neither, so D in inference mode gave erratic numbers); nothing is updated. G uses its
    running averages: these are the samples the plots and the Frechet distance see.
    """

    def evaluate(state, data, z):
        disc = state.discriminator

        def d_logits(images):
            return disc.train_apply(disc.params, images)[0]  # (B,); stats update dropped

        real = batched(lambda b: d_logits(unflatten(b, example_shape)), data,
                       batch_size)  # (N,)
        fake = batched(lambda zb: d_logits(gan_generate(state, zb)), z, batch_size)
        return _adversarial_numbers(real, fake)

    return jax.jit(evaluate)


def make_aae_eval_fn(example_shape, batch_size: int):
    """`evaluate(state, flat_test_data, z_fixed) -> metrics`: the test reconstruction BCE
    (loss), D on prior codes z_fixed (d_real) and on the test codes (d_fake)."""

    def evaluate(state, data, z):
        ae, disc = state.generator, state.discriminator

        def per_batch(b):
            x = unflatten(b, example_shape)
            logits_px, aux = ae.apply_fn({"params": ae.params}, x)
            return _reconstruction(logits_px, x), disc.eval_apply(aux["code"])

        recon, fake = batched(per_batch, data, batch_size)  # (N,), (N,)
        real = batched(disc.eval_apply, z, batch_size)
        return {"loss": jnp.mean(recon), **_adversarial_numbers(real, fake)}

    return jax.jit(evaluate)


class Adversarial(NamedTuple):
    """What a GAN-family config trains and samples: its step, its test-split evaluation and
    its generator `generate(state, z) -> images`."""

    kind: str  # "gan" | "aae"
    train_step: Callable
    evaluate: Callable
    generate: Callable


def make_adversarial(config, example_shape) -> Adversarial:
    k = config.model.latent_dim
    eval_batch = config.get("eval_batch_size", 1000)
    if config.model.name == "aae":
        weight = config.gan.get("adversarial_weight", 1.0)
        return Adversarial("aae", make_aae_train_step(example_shape, k, weight),
                           make_aae_eval_fn(example_shape, eval_batch), aae_generate)
    return Adversarial("gan", make_gan_train_step(example_shape, k),
                       make_gan_eval_fn(example_shape, eval_batch), gan_generate)
