"""The VampPrior VAE (Tomczak & Welling, 2018, "VAE with a VampPrior", AISTATS).

The prior is the variational posterior averaged over K learned pseudo-inputs u_1 .. u_K,

    p(z) = 1/K sum_k q(z | u_k),    q(z | u_k) = N(z; mean(u_k), diag exp(logvar(u_k))),
    log p(z) = logsumexp_k log N(z; mean(u_k), diag exp(logvar(u_k))) - log K,

a mixture of K diagonal Gaussians through the encoder's own heads, so the prior follows the
aggregate posterior q(z) = E_x q(z | x) that maximises the ELBO (the paper's motivation), at
the cost of K encoder passes per step. Generation: pick k uniformly, then z ~ q(z | u_k).

The KL of the ELBO has no closed form: train with the single-sample estimate
`loss.terms = dict(kl_sampled=1.0)`, log q(z | x) - log p(z) at the forward pass's own draw
(aux["log_q"], aux["log_p"], ae_jax/objectives/vae.py); the `iwae` term and the `nll` task
use `log_prior` (DENSITY ability) and need nothing more. The prior is not anchored at the
origin: with a 2-D latent the `nll` task's quadrature grid, [-5, 5]^2 by default (sized for
N(0, I)), can miss its mass; check `run.sample_codes(n)` and widen it with
`--option=grid_radius=10 --option=grid_points=1601` (the default spacing).

Pseudo-inputs: a (K, *output_shape) parameter params["prior"]["pseudo_inputs"], each
pixel initialised N(0.5, 0.1^2) and clipped to the data range [0, 1] before the encoder, as
the authors' code does with a hard tanh (a pixel pushed outside [0, 1] stops learning, as
there). The authors' code can also start them from training images; a module has no data
at init, so this one uses the random start. They learn by the gradient of log p(z) through the
encoder: the prior term pulls the mixture towards the posteriors' draws.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.distributions import log_normal, reparameterize
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.initializers import affine_draw
from ae_jax.models.vae import VAE

PSEUDO_INPUT_MEAN, PSEUDO_INPUT_STDDEV = 0.5, 0.1  # initial pixels ~ N(0.5, 0.1^2)


_pseudo_input_init = affine_draw(jax.random.normal, PSEUDO_INPUT_STDDEV, PSEUDO_INPUT_MEAN)


class PseudoInputs(nn.Module):
    """The K learned pseudo-inputs, a (K, *example_shape) parameter "pseudo_inputs"."""

    num: int
    example_shape: tuple[int, ...]

    @nn.compact
    def __call__(self):
        return self.param("pseudo_inputs", _pseudo_input_init, (self.num, *self.example_shape))


class VampPriorVAE(VAE):
    """A VAE (ae_jax/models/vae.py, dense or convolutional) whose prior is the VampPrior.

    Attributes (beyond VAE's):
      num_pseudo_inputs: K, the mixture's components (the paper: 500 on MNIST).
    """

    num_pseudo_inputs: int = 500

    def setup(self):
        super().setup()
        self.prior = PseudoInputs(self.num_pseudo_inputs, tuple(self.output_shape))

    def prior_components(self):
        """(mean, logvar) of q(z | u_k) for the K pseudo-inputs clipped to [0, 1]: (K, L)
        each."""
        return self.posterior(jnp.clip(self.prior(), 0.0, 1.0))

    def log_prior(self, z):
        """log p(z) = logsumexp_k log N(z; mean_k, diag e^logvar_k) - log K over the last
        axis, for z of any leading shape (..., L) -> (...)."""
        mean, logvar = self.prior_components()  # (K, L)
        log_components = log_normal(z[..., None, :], mean, logvar)  # (..., 1, L) -> (..., K)
        return jax.nn.logsumexp(log_components, axis=-1) - math.log(self.num_pseudo_inputs)

    def sample_prior(self, key, num: int):
        """z ~ p(z): k uniform over the K pseudo-inputs, then z ~ q(z | u_k); (num, L)."""
        pick_key, z_key = jax.random.split(key)
        mean, logvar = self.prior_components()
        k = jax.random.randint(pick_key, (num,), 0, self.num_pseudo_inputs)
        return reparameterize(z_key, mean[k], logvar[k])


@MODELS.register("vampprior_mlp")
def build_vampprior_mlp(model_config, example_shape) -> VampPriorVAE:
    """model.name="vampprior_mlp": a dense VAE (hidden_sizes) with model.num_pseudo_inputs
    pseudo-inputs; the conv layer fields are not read."""
    return module_from_config(VampPriorVAE, model_config, output_shape=example_shape,
                              encoder_layers=(), decoder_layers=())
