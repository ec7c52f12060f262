"""VAE-GAN (Larsen, Sonderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a
learned similarity metric"), family "vae_gan": a VAE whose reconstruction error is measured
in the features of a GAN discriminator, and whose decoder is also the GAN's generator.

Networks (ae_jax/models/vae_gan.py): "autoencoder", a VAE with encoder q(z|x) =
N(m(x), diag e^v(x)) and decoder Dec (pixel logits; images sigmoid(logits)); and
"discriminator", Dis with logit l(.) and hidden activations, Dis_l the layer
`gan.feature_layer`. For a batch x, z ~ q(z|x) (reparameterised), x~ = Dec(z),
z_p ~ N(0, I) and x_p = Dec(z_p), per example (each loss is then a mean over the batch):

    L_prior = KL(q(z|x) || N(0, I)) = 1/2 sum_d (e^v_d + m_d^2 - 1 - v_d)        nats
    L_llike = -log N(Dis_l(x); Dis_l(x~), I) - F/2 log 2 pi
            = 1/2 sum_j (Dis_l(x)_j - Dis_l(x~)_j)^2                    F units of layer l
    L_GAN   = log Dis(x) + log(1 - Dis(x~)) + log(1 - Dis(x_p))

and each network follows the gradient of its own loss (Algorithm 1):

    encoder        L_prior + L_llike [+ w_px BCE(x, x~)]
    decoder        gamma L_llike + C_G [+ w_px BCE(x, x~)],
                   C_G = -log Dis(x~) - log Dis(x_p) = softplus(-l(x~)) + softplus(-l(x_p))
    discriminator  -L_GAN = softplus(-l(x)) + softplus(l(x~)) + softplus(l(x_p))

gamma = gan.llike_weight, w_px = gan.pixel_weight (default 0: the pixel BCE, summed over
pixels, is then only reported); both are loss weights in the state ("llike", "pixel"), so
vmapped runs can differ in them (run_hparams "loss.terms.llike", "loss.terms.pixel").

The decoder's GAN cost is the non-saturating one. Algorithm 1 writes the decoder's update
as the gradient of gamma L_llike - L_GAN; read as the game (D maximises L_GAN), its GAN part
has the decoder minimise log(1 - Dis(x~)) + log(1 - Dis(x_p)). C_G has the same fixed point
and keeps its gradient when D rejects the fakes (Goodfellow et al. 2014, section 3). D is
not trained on L_llike, and L_llike's real features Dis_l(x) are constants for the VAE.

Gradient routing: one forward pass, three pullbacks. The five batch means (kl, llike, bce,
g_loss, d_loss) are one function of all parameters; `jax.vjp` pulls back each network's
weighted sum of them, and each network keeps its own subtree: the VAE's "encoder" subtree
from the encoder's loss, its other subtrees ("decoder") from the decoder's, D's parameters
from -L_GAN. The VAE stays one module and one Net (its abilities, summary, checkpoints and
`ae_jax.load` are a VAE's), trained by the one field "optimizer": Adam and RMSprop act per
parameter, so one optimizer over both subtrees with routed gradients equals two optimizers
with the same settings (except global-norm clipping, optimizer.grad_clip_norm, which then
clips the encoder's and decoder's gradients together). All three gradients are taken at the
parameters of the step's start and applied together, as in Algorithm 1 (the GAN family
instead updates D first). D trains with "discriminator_optimizer".

Randomness: the step's key stream_at(key, "sample", step), and the eval batch's key, split
into streams "posterior" (z ~ q) and "prior" (z_p). Neither network has batch norm.

Metrics (train per step, test per epoch; means over examples): loss (the encoder's
objective L_prior + L_llike [+ w_px BCE]), kl, llike, bce, d_loss, g_loss, d_real = mean
Dis(x), d_recon = mean Dis(x~), d_fake = mean Dis(x_p).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax import rng
from ae_jax.distributions import kl_to_standard_normal
from ae_jax.families import FAMILIES
from ae_jax.families.adversarial import Adversarial, eval_apply
from ae_jax.families.base import RECONSTRUCT, SAMPLE
from ae_jax.forward import unflatten
from ae_jax.models.abilities import DECODE, ENCODE, POSTERIOR, PRIOR
from ae_jax.models.gan import images_from_logits, standard_normal_codes
from ae_jax.models.vae_gan import VAE_GAN_MODELS
from ae_jax.objectives.adversarial import softplus
from ae_jax.objectives.reconstruction import bce_with_logits, reduce_per_example
from ae_jax.state import State

LOSSES = ("kl", "llike", "bce", "g_loss", "d_loss")  # the batch means the losses combine


def feature_error(real_features: jax.Array, fake_features: jax.Array) -> jax.Array:
    """L_llike per example, (B,): -log N(Dis_l(x); Dis_l(x~), I) without its constant
    F/2 log 2 pi, = 1/2 sum_j (Dis_l(x)_j - Dis_l(x~)_j)^2 over the F units of layer l."""
    return 0.5 * jnp.sum(jnp.square(real_features - fake_features), axis=-1)


def adversarial_terms(real, recon, prior) -> dict:
    """Per-example GAN costs and D's probabilities from the logits l(x), l(x~), l(x_p), (B,)
    each: d_loss = -L_GAN = softplus(-l(x)) + softplus(l(x~)) + softplus(l(x_p)) (the
    discriminator's), g_loss = C_G = softplus(-l(x~)) + softplus(-l(x_p)) (the decoder's,
    non-saturating)."""
    return {"d_loss": softplus(-real) + softplus(recon) + softplus(prior),
            "g_loss": softplus(-recon) + softplus(-prior),
            "d_real": jax.nn.sigmoid(real), "d_recon": jax.nn.sigmoid(recon),
            "d_fake": jax.nn.sigmoid(prior)}


def loss_coefficients(weights) -> dict[str, dict]:
    """Each network's loss as coefficients of the batch means of LOSSES (`weights`: the
    state's loss weights, llike = gamma and pixel = w_px)."""
    gamma, pixel = weights["llike"], weights["pixel"]
    return {"encoder": {"kl": 1.0, "llike": 1.0, "bce": pixel},
            "decoder": {"llike": gamma, "g_loss": 1.0, "bce": pixel},
            "discriminator": {"d_loss": 1.0}}


def combine(values: dict, coefficients: dict):
    """sum_k c_k values[k]: a network's loss from the values of LOSSES."""
    return sum(c * values[k] for k, c in coefficients.items())


def pullback(vjp, losses: dict, coefficients: dict):
    """The gradient of sum_k c_k losses[k] with respect to the forward pass's parameters,
    from its `vjp` (cotangent c_k on loss k, 0 on the others)."""
    cotangent = {k: jnp.zeros_like(v) + coefficients.get(k, 0.0) for k, v in losses.items()}
    return vjp(cotangent)[0]


def route(encoder_grads: dict, decoder_grads: dict) -> dict:
    """The VAE's gradient: its "encoder" subtree from the encoder's loss, every other subtree
    (the decoder: the generator side) from the decoder's."""
    if "encoder" not in encoder_grads:
        raise ValueError(f"vae_gan: the autoencoder has no 'encoder' parameters (it has "
                         f"{sorted(encoder_grads)})")
    return {name: encoder_grads[name] if name == "encoder" else grads
            for name, grads in decoder_grads.items()}


@FAMILIES.register("vae_gan")
class VAEGAN(Adversarial):
    """Encoder, decoder (one VAE network, "optimizer") and a feature discriminator
    ("discriminator_optimizer"); see the module docstring."""

    name = "vae_gan"
    main = "autoencoder"
    progress_keys = ("kl", "llike", "d_loss", "g_loss", "d_real", "d_fake")
    curve_groups = {"loss_curves.png": ("loss", "kl", "llike", "bce"),
                    "adversarial.png": ("d_loss", "g_loss"),
                    "discriminator.png": ("d_real", "d_recon", "d_fake")}
    init_streams = {"autoencoder": "autoencoder", "discriminator": "discriminator"}
    models = VAE_GAN_MODELS

    def __init__(self, config, example_shape, steps_per_epoch: int):
        super().__init__(config, example_shape, steps_per_epoch)
        layers = len(config.model.discriminator_hidden_sizes)
        self.feature_layer = config.gan.feature_layer
        if not -layers <= self.feature_layer < layers:
            raise ValueError(f"gan.feature_layer={self.feature_layer} is not a hidden layer "
                             f"of the discriminator (it has {layers})")

    def loss_weights(self) -> dict:
        return {"llike": self.config.gan.llike_weight, "pixel": self.config.gan.pixel_weight}

    @staticmethod
    def keys(key) -> dict:
        """The streams of one step's (or eval batch's) key: z ~ q and z_p ~ N(0, I)."""
        return {name: rng.stream(key, name) for name in ("posterior", "prior")}

    def per_example(self, nets: dict, params: dict, x, keys: dict) -> dict:
        """The (B,) values of one forward pass of both networks with `params`
        ({"autoencoder": ..., "discriminator": ...}) on images x (B, H, W, C)."""
        ae, disc = nets["autoencoder"], nets["discriminator"]
        ae_vars = ae.variables(params["autoencoder"])
        d_vars = disc.variables(params["discriminator"])
        logits, aux = ae.apply_fn(ae_vars, x, rngs={"sample": keys["posterior"]})  # z ~ q
        z_p = standard_normal_codes(keys["prior"], x.shape[0], self.latent_dim)  # (B, K)
        prior_logits = ae.apply_fn(ae_vars, z_p, method="decode")  # (B, H, W, C)
        real, real_h = disc.apply_fn(d_vars, x)
        recon, recon_h = disc.apply_fn(d_vars, images_from_logits(logits))
        prior, _ = disc.apply_fn(d_vars, images_from_logits(prior_logits))
        layer = self.feature_layer
        return {"kl": kl_to_standard_normal(aux["mean"], aux["logvar"]),
                "llike": feature_error(real_h[layer], recon_h[layer]),
                "bce": reduce_per_example(bce_with_logits(logits, x), "sum"),
                **adversarial_terms(real, recon, prior)}

    def gradients(self, state: State, x, keys: dict):
        """(the VAE's routed gradient, D's gradient, the batch means of every value)."""
        params = {name: net.params for name, net in state.nets.items()}

        def batch_means(params):
            values = self.per_example(state.nets, params, x, keys)
            means = {k: jnp.mean(v) for k, v in values.items()}
            return {k: means[k] for k in LOSSES}, means

        losses, vjp, means = jax.vjp(batch_means, params, has_aux=True)
        coefficients = loss_coefficients(state.loss_weights)
        enc, dec, dis = (pullback(vjp, losses, coefficients[net])
                         for net in ("encoder", "decoder", "discriminator"))
        return route(enc["autoencoder"], dec["autoencoder"]), dis["discriminator"], means

    def train_step(self, state: State, batch):
        x = unflatten(batch, self.example_shape)  # (B, D) -> (B, H, W, C) in [0, 1]
        keys = self.keys(rng.stream_at(state.key, "sample", state.step))
        ae_grads, d_grads, means = self.gradients(state, x, keys)
        nets = {"autoencoder": state.nets["autoencoder"].apply_gradients(ae_grads),
                "discriminator": state.nets["discriminator"].apply_gradients(d_grads)}
        encoder_loss = combine(means, loss_coefficients(state.loss_weights)["encoder"])
        return state.replace(step=state.step + 1, nets=nets), {"loss": encoder_loss, **means}

    def eval_step(self, state: State, batch, key, mask) -> dict:
        """The training values on each test image, z ~ q and z_p from the batch's key."""
        x = unflatten(batch, self.example_shape)  # (B, D) -> (B, H, W, C)
        params = {name: net.params for name, net in state.nets.items()}
        values = self.per_example(state.nets, params, x, self.keys(key))
        encoder = loss_coefficients(state.loss_weights)["encoder"]
        return {"loss": combine(values, encoder), **values}

    # -- abilities: a VAE's --------------------------------------------------------------
    def abilities(self) -> frozenset[str]:
        """No DENSITY: the decoder is not trained as a pixel likelihood, so the IWAE bounds
        and the nll task would score a density the model never fitted."""
        return frozenset({ENCODE, DECODE, POSTERIOR, PRIOR, RECONSTRUCT, SAMPLE})

    def encode(self, state: State, x):
        """The posterior mean, (B, K)."""
        return eval_apply(state.nets["autoencoder"], x, method="encode")

    def posterior(self, state: State, x):
        return eval_apply(state.nets["autoencoder"], x, method="posterior")

    def decode(self, state: State, z):
        """Images in [0, 1] from codes z (M, K)."""
        return images_from_logits(eval_apply(state.nets["autoencoder"], z, method="decode"))

    def reconstruct(self, state: State, x, key):
        """Dec(z), z ~ q(z | x) drawn with `key` (as the VAE family reconstructs)."""
        logits, _ = eval_apply(state.nets["autoencoder"], x, rngs={"sample": key})
        return images_from_logits(logits)
