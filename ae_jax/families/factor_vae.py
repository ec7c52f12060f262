"""FactorVAE (Kim & Mnih, ICML 2018, "Disentangling by Factorising"): a VAE whose loss adds
gamma times the total correlation of the aggregate posterior q(z) = E_x q(z | x),

    L_VAE(x) = ELBO terms (reconstruction + KL, the config's objective) + gamma * TC(z),
    TC(z)    = KL(q(z) || q_bar(z)),   q_bar(z) = prod_d q(z_d),

with TC estimated by a discriminator D(z) = s(l(z)) (s the logistic sigmoid, l the logit its
MLP outputs) trained to tell samples of q(z) (label 1) from samples of q_bar(z) (label 0):
at D's optimum D(z) / (1 - D(z)) = q(z) / q_bar(z), so (the density-ratio trick)

    TC(z) ~= E_q(z) [ log D(z) / (1 - D(z)) ] = E_q(z) [ l(z) ]      (nats)

Samples of q_bar come from permuting each latent dimension across a batch of codes z ~ q(z)
(`permute_dims`, the paper's Algorithm 1). The discriminator's loss is the binary
cross-entropy over the 2h labelled codes,

    L_D = -1/(2h) sum_i [ log D(z_i) + log(1 - D(z~_i)) ]
        =  1/(2h) sum_i [ softplus(-l(z_i)) + softplus(l(z~_i)) ].

One training step, with the run's named streams at the step (ae_jax/rng.py):

    1. VAE update on the whole batch of B:  mean_b [ L_objective(x_b) + gamma * l(z_b) ],
       z_b ~ q(z | x_b) (the model's aux["z"], "sample" key), D's parameters held fixed
    2. D update on the codes of that forward pass (stop_gradient, D as it was in 1):
       real z_1..z_h (the first half, h = B // 2), fake z~ = permute_dims(z_(h+1)..z_(2h))
       ("permute" key), one Adam step on L_D (D's own optimizer, `discriminator_optimizer`)

The paper draws a second minibatch for the permuted codes; splitting the step's one batch
in two halves gives D independent real and permuted samples as well (the halves hold
different examples), while the VAE update keeps the whole batch like every other VAE of the
zoo, at no extra encoder pass.

gamma is `loss.terms.tc`: a name of `loss.terms` that this family takes out of the
objective's terms (it needs D, which a loss term does not see) and keeps, like every term
weight, as an array in the state (`state.loss_weights["tc"]`), so it is per run under vmap
and a `loss.terms.tc` sweep axis is vmapped (ae_jax/sweeps.py). The test metrics add, per
example: "tc" (l(z), z ~ q(z | x) with the batch's eval key; its mean is the TC estimate),
and D's cross-entropy "d_loss" and accuracy "d_accuracy" against the test batch's own
permuted codes. "loss" is the training objective, gamma * tc included (also `score`).
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp

from ae_jax import rng
from ae_jax.families import FAMILIES
from ae_jax.families.autoencoder import Autoencoder
from ae_jax.models.build import module_from_config
from ae_jax.models.gan import MLPDiscriminator
from ae_jax.objectives.adversarial import softplus
from ae_jax.optimizers import make_optimizer
from ae_jax.state import Net, State

TC = "tc"  # the name of gamma in loss.terms and state.loss_weights, and of D's TC metric


def permute_dims(key: jax.Array, z: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """Samples of prod_d q(z_d) from samples z (B, L) of q(z): column d of z reordered by a
    random permutation of the rows of its own (Kim & Mnih 2018, Algorithm 1), so each column
    keeps its values and the rows are broken up. With a mask (B,), the real rows (mask 1)
    are permuted among themselves and the padding rows keep their place.

    The permutations sort uniform draws (ties, of probability about B^2 / 2^24 per column,
    keep their order: a valid, very nearly uniform permutation)."""
    n, dims = z.shape
    real = jnp.ones((n,), bool) if mask is None else mask > 0
    draws = jax.random.uniform(key, (dims, n))  # (L, B)
    src = jnp.argsort(jnp.where(real[None], draws, 2.0), axis=1)  # (L, B): real rows, shuffled
    dst = jnp.argsort(jnp.where(real, 0, 1), stable=True)  # (B,): real positions, in order
    gathered = jnp.take_along_axis(z, src.T, axis=0)  # (B, L): row k of column d is z[src[d, k]]
    return jnp.zeros_like(z).at[dst].set(gathered)


def discriminator_cross_entropy(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """L_D = 1/(2h) sum_i [softplus(-l(z_i)) + softplus(l(z~_i))]: the mean binary
    cross-entropy of label 1 on the h codes of q(z) and label 0 on the h permuted ones."""
    return 0.5 * (jnp.mean(softplus(-real_logits)) + jnp.mean(softplus(fake_logits)))


def discriminator_accuracy(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """Per pair (i, i), (B,): the share of {z_i called real (l > 0), z~_i called permuted
    (l <= 0)} that D gets right, 0, 0.5 or 1."""
    return 0.5 * ((real_logits > 0).astype(jnp.float32) + (fake_logits <= 0).astype(jnp.float32))


def sampled_codes(aux) -> jax.Array:
    """z ~ q(z | x) of the forward pass (a VAE's aux["z"]), float32 (B, L)."""
    if "z" not in aux:
        raise ValueError("family factor_vae needs a model whose aux holds its posterior "
                         "sample z (a VAE: model.name vae_mlp or vae_conv)")
    return aux["z"].astype(jnp.float32)


def build_discriminator(model_config) -> MLPDiscriminator:
    """D: z (B, L) -> [Dense -> leaky ReLU] x model.discriminator_hidden_sizes -> Dense(1):
    one logit per code (model.leaky_slope); codes are not centred as images are."""
    return module_from_config(MLPDiscriminator, model_config, prefix="discriminator_",
                              center=False)


def _without_tc(config):
    """A copy of `config` whose loss.terms lack "tc" (what the VAE's objective is built
    from: every other name of loss.terms is a registered loss term)."""
    if TC not in config.loss.terms:
        raise ValueError("family factor_vae needs loss.terms.tc = gamma, the weight of the "
                         "discriminator's TC estimate (0 trains a plain VAE beside D)")
    if TC in config.loss.warmup_epochs:
        raise ValueError("family factor_vae: loss.warmup_epochs.tc is not supported")
    if config.batch_size < 2:
        raise ValueError("family factor_vae needs batch_size >= 2 (D trains on two halves)")
    out = copy.deepcopy(config)
    with out.unlocked():
        del out.loss.terms[TC]
    return out


@FAMILIES.register("factor_vae")
class FactorVAE(Autoencoder):
    """The VAE ("model", every ability of the autoencoder family) and its discriminator on
    codes ("discriminator", its own optimizer): see the module docstring."""

    name = "factor_vae"
    main = "model"
    progress_keys = ("loss", TC, "d_loss", "d_accuracy")
    curve_groups = {"loss_curves.png": ("loss",),
                    "discriminator.png": (TC, "d_loss", "d_accuracy")}

    def __init__(self, config, example_shape, steps_per_epoch: int):
        super().__init__(_without_tc(config), example_shape, steps_per_epoch)
        self.config = config  # with loss.terms.tc: the state's initial loss weights
        self.discriminator = build_discriminator(config.model)
        self.networks = {"model": self.model, "discriminator": self.discriminator}
        self.input_shapes = {"model": self.example_shape,
                             "discriminator": (config.model.latent_dim,)}
        self.optimizer_fields = {"model": "optimizer",
                                 "discriminator": "discriminator_optimizer"}
        self.discriminator_tx = make_optimizer(config.discriminator_optimizer,
                                               steps_per_epoch, max(1, config.num_epochs))

    def init(self, seed) -> State:
        """The VAE exactly as the autoencoder family initialises it (its "init" stream; the
        loss weights, gamma included), and D from the "discriminator" sub-stream of "init"."""
        state = super().init(seed)
        key = rng.stream(rng.stream(jax.random.PRNGKey(seed), "init"), "discriminator")
        z = jnp.zeros((1, self.config.model.latent_dim), jnp.float32)  # (1, L)
        disc = Net.create(self.discriminator, self.discriminator_tx,
                          self.discriminator.init(key, z))
        return state.with_net("discriminator", disc)

    # -- training: the autoencoder family's step with its two hooks ---------------------
    step_streams = ("noise", "sample", "terms", "binarize", "permute")

    def extra_loss(self, state: State, t) -> tuple[jax.Array, dict]:
        """gamma * l(z_b) per example, z_b ~ q(z | x_b) of the forward pass: D's parameters
        are constants here (only the VAE's are differentiated)."""
        disc = state.nets["discriminator"]
        tc = disc.apply_fn(disc.variables(), sampled_codes(t.aux))  # (B,)
        return state.loss_weights[TC] * tc, {TC: tc}

    def after_step(self, state: State, nets: dict, aux, keys: dict) -> tuple[dict, dict]:
        """D's update on the codes of the VAE's forward pass (D as it was before the VAE's
        step): metrics d_loss and d_accuracy of that batch before D's update."""
        disc, metrics = self.discriminator_step(state.nets["discriminator"],
                                                sampled_codes(aux), keys["permute"])
        return {**nets, "discriminator": disc}, metrics

    def discriminator_step(self, disc: Net, z, key) -> tuple[Net, dict]:
        """One step of D on L_D: real codes z[:h], permuted codes permute_dims(z[h:2h]),
        h = B // 2; returns (new D, {d_loss, d_accuracy} before the step)."""
        h = z.shape[0] // 2
        codes = jnp.concatenate([z[:h], permute_dims(key, z[h:2 * h])])  # (2h, L)

        def loss_fn(params):
            logits = disc.apply_fn(disc.variables(params), codes)  # (2h,)
            return discriminator_cross_entropy(logits[:h], logits[h:]), logits

        (d_loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(disc.params)
        accuracy = jnp.mean(discriminator_accuracy(logits[:h], logits[h:]))
        return disc.apply_gradients(grads), {"d_loss": d_loss, "d_accuracy": accuracy}

    # -- evaluation ------------------------------------------------------------------------
    def discriminator_numbers(self, state: State, z, key, mask) -> dict:
        """Per example (B,): tc = l(z_i), and D's cross-entropy d_loss and accuracy
        d_accuracy on the pair (z_i, z~_i), z~ = permute_dims(z) over the batch's real rows."""
        disc = state.nets["discriminator"]
        real = disc.apply_fn(disc.variables(), z)  # (B,)
        fake = disc.apply_fn(disc.variables(), permute_dims(key, z, mask))  # (B,)
        return {TC: real, "d_loss": 0.5 * (softplus(-real) + softplus(fake)),
                "d_accuracy": discriminator_accuracy(real, fake)}

    def _per_example(self, state: State, x, key, mask, corrupt: bool = True, labels=None):
        """The autoencoder family's (terms, total, parts) with gamma * tc added to the total
        and D's numbers to the parts (so the test loss and `score` are the training
        objective)."""
        t, total, parts = super()._per_example(state, x, key, mask, corrupt, labels=labels)
        numbers = self.discriminator_numbers(state, sampled_codes(t.aux),
                                             rng.stream(key, "permute"), mask)
        total = total + state.loss_weights[TC] * numbers[TC]
        return t, total, {**parts, **numbers}
