"""Adversarial families: GANs (family "gan": mlp_gan, dcgan) and the adversarial
autoencoder (family "aae"), each a pair of networks with an optimizer each.

One step updates the discriminator, then the generator against the updated discriminator,
with their own latent draws:

    key_D, key_G = streams "discriminator", "generator" of stream_at(key, "sample", step)

Batch norm (DCGAN, MLP generator): both networks run in training mode (batch statistics)
inside the step. The running averages kept are those of the update of the network itself:
D's from its forward passes on the real batch then the generated batch (real and generated
examples are normalised as separate batches, as in the DCGAN reference code); G's from its
forward pass in the generator update. Sampling uses G's running averages (train=False).
The costs are seed 000's (ae_jax/objectives/adversarial.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax import rng
from ae_jax.families import FAMILIES
from ae_jax.families.base import RECONSTRUCT, SAMPLE, Family
from ae_jax.forward import unflatten
from ae_jax.models.abilities import DECODE, ENCODE
from ae_jax.models.gan import (
    AAE_MODELS,
    GAN_MODELS,
    build_networks,
    images_from_logits,
    standard_normal_codes,
)
from ae_jax.objectives.adversarial import (
    discriminator_loss,
    generator_loss,
    probability,
    softplus,
)
from ae_jax.objectives.reconstruction import bce_with_logits, reduce_per_example
from ae_jax.optimizers import make_optimizer
from ae_jax.state import Net, State


def step_keys(state: State) -> tuple[jax.Array, jax.Array]:
    """(key of the discriminator update, key of the generator update) at `state.step`."""
    sample = rng.stream_at(state.key, "sample", state.step)
    return rng.stream(sample, "discriminator"), rng.stream(sample, "generator")


def train_apply(net: Net, params, *args):
    """(outputs, new collections): batch statistics from this batch, running averages
    updated (returned, not stored: the caller decides whether to keep them)."""
    out, updates = net.apply_fn(net.variables(params), *args, train=True,
                                mutable=["batch_stats"])
    return out, {**net.collections, **updates}


def eval_apply(net: Net, *args, **kwargs):
    """Outputs with the running averages (what sampling and evaluation use)."""
    return net.apply_fn(net.variables(), *args, **kwargs)


def discriminator_update(disc: Net, real, fake):
    """Gradient step of D on C_D(real, fake); returns (new D, C_D, real logits, fake
    logits)."""

    def loss_fn(params):
        real_logits, stats = train_apply(disc, params, real)  # (B,)
        fake_logits, stats = train_apply(disc.replace(collections=stats), params, fake)
        return discriminator_loss(real_logits, fake_logits), (stats, real_logits, fake_logits)

    (loss, (stats, real_logits, fake_logits)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(disc.params)
    return disc.apply_gradients(grads, stats), loss, real_logits, fake_logits


def adversarial_numbers(real_logits, fake_logits) -> dict:
    """Per-example C_D, C_G terms and D's probabilities, (B,) each: their means are the
    batch formulas of ae_jax/objectives/adversarial.py."""
    return {"d_loss": softplus(-real_logits) + softplus(fake_logits),
            "g_loss": softplus(-fake_logits), "d_real": jax.nn.sigmoid(real_logits),
            "d_fake": jax.nn.sigmoid(fake_logits)}


class Adversarial(Family):
    """Two networks, "optimizer" for the first and "discriminator_optimizer" for D."""

    progress_keys = ("d_loss", "g_loss", "d_real", "d_fake")
    curve_groups = {"loss_curves.png": ("d_loss", "g_loss", "loss"),
                    "discriminator.png": ("d_real", "d_fake")}
    # The state's init sub-streams, per network (the AAE's autoencoder plays the generator).
    init_streams = {"generator": "generator", "discriminator": "discriminator"}
    models = GAN_MODELS  # the model names this family builds (config.model.name)

    def __init__(self, config, example_shape, steps_per_epoch: int):
        super().__init__(config, example_shape, steps_per_epoch)
        if config.data.binarize == "dynamic":
            raise ValueError(f"data.binarize='dynamic' is for likelihood models; family "
                             f"{config.family!r} does not redraw pixels (use threshold)")
        gen, disc, g_shape, d_shape = build_networks(config.model, self.example_shape, self.models)
        self.networks = {self.main: gen, "discriminator": disc}
        self.input_shapes = {self.main: g_shape, "discriminator": d_shape}
        self.optimizer_fields = {self.main: "optimizer",
                                 "discriminator": "discriminator_optimizer"}
        epochs = max(1, config.num_epochs)
        self.txs = {name: make_optimizer(config[field], steps_per_epoch, epochs)
                    for name, field in self.optimizer_fields.items()}
        self.latent_dim = config.model.latent_dim

    def loss_weights(self) -> dict:
        return {}

    def init(self, seed) -> State:
        """Each network from its own sub-stream of the run's "init" stream."""
        key = jax.random.PRNGKey(seed)
        init = rng.stream(key, "init")
        nets = {}
        for name, module in self.networks.items():
            x = jnp.zeros((1, *self.input_shapes[name]), jnp.float32)
            variables = module.init(rng.stream(init, self.init_streams[name]), x)
            nets[name] = Net.create(module, self.txs[name], variables)
        return State.create(key, nets, self.loss_weights())

    def sample_codes(self, state: State, key, n: int):
        """z ~ N(0, I): the prior of the generator (of the AAE's codes)."""
        return standard_normal_codes(key, n, self.latent_dim)

    def abilities(self) -> frozenset[str]:
        return frozenset({DECODE, SAMPLE})


@FAMILIES.register("gan")
class GAN(Adversarial):
    """Generator G: z -> image logits, discriminator D: image -> logit (seed 000)."""

    name = "gan"
    main = "generator"

    def train_step(self, state: State, batch):
        """Metrics: d_loss (C_D before D's update), g_loss (C_G after it), d_real = mean D(x),
        d_fake = mean D(G(z)) as D saw it before its update, d_fake_after = mean D(G(z')) in
        the generator update (after D's update, before G's)."""
        x = unflatten(batch, self.example_shape)  # (B, D) -> (B, H, W, C) in [0, 1]
        b = x.shape[0]
        gen, disc = state.nets["generator"], state.nets["discriminator"]
        key_d, key_g = step_keys(state)
        fake_logits_px, _ = train_apply(gen, gen.params,
                                        standard_normal_codes(key_d, b, self.latent_dim))
        fake = jax.lax.stop_gradient(images_from_logits(fake_logits_px))  # (B, H, W, C)
        disc, d_loss, real_logits, fake_logits = discriminator_update(disc, x, fake)
        z_g = standard_normal_codes(key_g, b, self.latent_dim)  # (B, K)

        def g_loss_fn(params):
            logits_px, g_stats = train_apply(gen, params, z_g)
            logits, _ = train_apply(disc, disc.params, images_from_logits(logits_px))
            return generator_loss(logits), (g_stats, logits)

        (g_loss, (g_stats, after_logits)), g_grads = jax.value_and_grad(
            g_loss_fn, has_aux=True)(gen.params)
        gen = gen.apply_gradients(g_grads, g_stats)
        metrics = {"d_loss": d_loss, "g_loss": g_loss, "d_real": probability(real_logits),
                   "d_fake": probability(fake_logits),
                   "d_fake_after": probability(after_logits)}
        nets = {"generator": gen, "discriminator": disc}
        return state.replace(step=state.step + 1, nets=nets), metrics

    def eval_step(self, state: State, batch, key, mask) -> dict:
        """D on each test image (d_real) and on one sample G(z) per test image (d_fake, z
        from the batch's eval key), and the C_D, C_G terms from them. D normalises each
        batch of real or generated images by its own statistics, as in training (its
        running averages mix real and generated batches and describe neither); nothing is
        updated. G uses its running averages: the samples the plots and Frechet see."""
        disc = state.nets["discriminator"]
        real = train_apply(disc, disc.params, unflatten(batch, self.example_shape))[0]
        z = standard_normal_codes(rng.stream(key, "generator"), batch.shape[0],
                                  self.latent_dim)
        fake = train_apply(disc, disc.params, self.decode(state, z))[0]
        return adversarial_numbers(real, fake)

    def decode(self, state: State, z):
        """Images in [0, 1] of shape (M, H, W, C) from codes z (M, K), running averages."""
        return images_from_logits(eval_apply(state.nets["generator"], z))


@FAMILIES.register("aae")
class AdversarialAutoencoder(Adversarial):
    """The adversarial autoencoder (Makhzani et al., 2016): encoder q (the generator of
    codes), decoder p, and a discriminator D on codes.

      1. D update:  C_D with real = z ~ N(0, I) (the prior), fake = q(x)
      2. AE update: L = BCE(x, p(q(x))) + w * C_G(D(q(x))),  w = gan.adversarial_weight

    The paper alternates a reconstruction phase and a regularisation phase with their own
    updates; here both are one gradient step of their weighted sum (the encoder sees both
    gradients in one update), which keeps one optimizer for the autoencoder.
    """

    name = "aae"
    main = "autoencoder"
    progress_keys = ("loss", "d_loss", "g_loss", "d_real", "d_fake")
    init_streams = {"autoencoder": "generator", "discriminator": "discriminator"}
    models = AAE_MODELS

    def loss_weights(self) -> dict:
        return {"adversarial": self.config.gan.adversarial_weight}

    def _reconstruction(self, logits, x):
        """Per-example BCE of sigmoid(logits) against x, mean over pixels: shape (B,)."""
        return reduce_per_example(bce_with_logits(logits, x), "mean")

    def train_step(self, state: State, batch):
        """Metrics: loss (the reconstruction BCE), d_loss, g_loss, d_real = mean
        D(z_prior), d_fake = mean D(q(x))."""
        x = unflatten(batch, self.example_shape)  # (B, H, W, C)
        ae, disc = state.nets["autoencoder"], state.nets["discriminator"]
        key_d, _ = step_keys(state)
        prior = standard_normal_codes(key_d, x.shape[0], self.latent_dim)  # (B, K)
        codes = jax.lax.stop_gradient(eval_apply(ae, x, method="encode"))
        disc, d_loss, real_logits, fake_logits = discriminator_update(disc, prior, codes)
        weight = state.loss_weights["adversarial"]

        def ae_loss_fn(params):
            logits_px, aux = ae.apply_fn(ae.variables(params), x)
            logits, _ = train_apply(disc, disc.params, aux["code"])
            recon = jnp.mean(self._reconstruction(logits_px, x))
            adv = generator_loss(logits)
            return recon + weight * adv, (recon, adv)

        (_, (recon, g_loss)), grads = jax.value_and_grad(ae_loss_fn, has_aux=True)(ae.params)
        ae = ae.apply_gradients(grads)
        metrics = {"loss": recon, "d_loss": d_loss, "g_loss": g_loss,
                   "d_real": probability(real_logits), "d_fake": probability(fake_logits)}
        nets = {"autoencoder": ae, "discriminator": disc}
        return state.replace(step=state.step + 1, nets=nets), metrics

    def eval_step(self, state: State, batch, key, mask) -> dict:
        """The test reconstruction BCE (loss), D on prior codes (d_real, one per test
        image from the batch's eval key) and on the test codes (d_fake)."""
        ae, disc = state.nets["autoencoder"], state.nets["discriminator"]
        x = unflatten(batch, self.example_shape)
        logits_px, aux = eval_apply(ae, x)
        prior = standard_normal_codes(rng.stream(key, "generator"), x.shape[0],
                                      self.latent_dim)
        numbers = adversarial_numbers(eval_apply(disc, prior), eval_apply(disc, aux["code"]))
        return {"loss": self._reconstruction(logits_px, x), **numbers}

    def abilities(self) -> frozenset[str]:
        return frozenset({ENCODE, DECODE, RECONSTRUCT, SAMPLE})

    def encode(self, state: State, x):
        return eval_apply(state.nets["autoencoder"], x, method="encode")

    def decode(self, state: State, z):
        """The decoder on codes z (M, K): images in [0, 1]."""
        return images_from_logits(eval_apply(state.nets["autoencoder"], z, method="decode"))

    def reconstruct(self, state: State, x, key):
        return images_from_logits(eval_apply(state.nets["autoencoder"], x)[0])
