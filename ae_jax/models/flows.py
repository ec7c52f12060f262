"""VAEs with normalising-flow posteriors: planar flows (Rezende & Mohamed, 2015, "Variational
Inference with Normalizing Flows", ICML) and inverse autoregressive flow (Kingma, Salimans,
Jozefowicz, Chen, Sutskever & Welling, 2016, "Improved Variational Inference with Inverse
Autoregressive Flow", NeurIPS).

The encoder of ae_jax/models/vae.py gives a diagonal Gaussian for z0 and its last hidden
layer's features c(x); K invertible steps carry z0 to the code z_K, and the change of
variables gives the density of the code:

    z0 ~ N(mu(x), diag sigma^2(x)),     z_K = f_K o ... o f_1 (z0),
    log q(z_K | x) = log N(z0; mu, sigma^2) - sum_k log |det df_k / dz_{k-1}|.

Planar step (flow="planar"), parameters u, w (L,) and b (1,) per step:

    f(z) = z + u^ tanh(w^T z + b),
    u^ = u + (m(w^T u) - w^T u) w / ||w||^2,   m(a) = -1 + softplus(a),   so w^T u^ = m(w^T u) > -1
    log |det df/dz| = log |1 + u^T psi(z)|,   psi(z) = tanh'(w^T z + b) w
                    = log (1 + tanh'(w^T z + b) w^T u^)     (> 0 inside: tanh' in (0, 1])

The constraint w^T u^ >= -1 makes each step invertible (the paper's appendix A.1). The
parameters are amortised, as in the paper's experiments: u, w, b of all K steps are linear
heads on c(x), so each example has its own flow (no global flow parameters).

IAF step (flow="iaf"): a MADE (Germain et al., 2015; masked dense layers) reads z and the
context c(x) and outputs (m, s), autoregressive in z: m_i, s_i depend on z_j only for the
dimensions j before i in the step's ordering, and on c(x) freely. The paper's numerically
stable update

    sigma = sigmoid(s),   z' = sigma * z + (1 - sigma) * m,   log |det dz'/dz| = sum_i log sigma_i

has a triangular Jacobian with diagonal sigma. The ordering is reversed from one step to the
next (1..L, then L..1, ...), so after two steps every dimension depends on every other; the
reversal is in the MADE's degrees, not a permutation of z. The context enters the first
hidden layer through an unmasked dense map of c(x) (the paper's extra encoder output h
followed by the MADE's first layer: two linear maps, one here). The s head's bias starts at
IAF_GATE_BIAS, so sigma starts near 0.88 and each step starts close to the identity (our
initialisation choice, in the spirit of an LSTM's forget-gate bias).

Model: `FlowVAE`, registered as model.name="vae_flow" (dense encoder and decoder), the flow
chosen by model.flow with model.flow_steps steps (and model.iaf_hidden_sizes for the MADE).
Its abilities are ENCODE, DECODE, PRIOR and DENSITY, not POSTERIOR (q(z_K | x) is not a
diagonal Gaussian):

    posterior_samples(x, k)   (z_K (k, B, L), log q(z_K | x) (k, B)), z0 reparameterised
                              with the "sample" rng
    log_prior(z)              log N(z; 0, I); sample_prior(key, n) draws from it
    encode(x)                 the flow applied to the mean, f_K o ... o f_1 (mu(x)): a
                              deterministic code (not the mean of q(z_K | x), which has no
                              closed form)
    decode(z)                 the decoder's logits

__call__ returns aux "z" (z_K), "log_q", "log_p", so `loss.terms = dict(kl_sampled=1.0)` with
BCE summed over the pixels is the single-sample negative ELBO, and the `iwae` term and the
`nll` task use the DENSITY methods unchanged. aux["metrics"]["flow_log_det"] is
sum_k log |det df_k/dz| at the forward pass's draw (nats; its mean is a train / test metric).

Distrax (0.1.9) and flowjax were considered and not used: distrax has no planar and no
autoregressive (MADE / IAF) bijector (its bijectors include Chain, Block, Inverse,
MaskedCoupling, SplitCoupling, ScalarAffine, triangular affines, RQ splines), so both steps
would be hand-written Bijector subclasses anyway, and its Chain would only replace the
one-line sum of log-determinants below, at the cost of tensorflow-probability as a
dependency. flowjax has both a planar step and a masked autoregressive flow, but its
parameters live in equinox modules outside the flax variables the engine trains and
checkpoints, its planar constraint is m(a) = -1 + log(1 + softplus(a)) rather than the
paper's, and its autoregressive transformers have no gated sigma z + (1 - sigma) m form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ae_jax.distributions import log_normal
from ae_jax.models.abilities import DECODE, DENSITY, ENCODE, PRIOR
from ae_jax.models.activations import get_activation
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.vae import VAE

FLOWS = ("planar", "iaf")
IAF_GATE_BIAS = 2.0  # initial bias of the IAF's s head: sigma = sigmoid(2) = 0.88 at the start


# -- planar flow ---------------------------------------------------------------------------
def planar_constrained_u(u, w):
    """u^ = u + (m(w^T u) - w^T u) w / ||w||^2 with m(a) = -1 + softplus(a), over the last
    axis: then w^T u^ = m(w^T u) > -1 and the planar step is invertible."""
    wtu = jnp.sum(w * u, axis=-1, keepdims=True)
    m = -1.0 + jax.nn.softplus(wtu)
    return u + (m - wtu) * w / jnp.sum(jnp.square(w), axis=-1, keepdims=True)


def planar_step(z, u, w, b):
    """(f(z), log |det df/dz|) of one planar step f(z) = z + u^ tanh(w^T z + b).

    z (..., L); u, w (..., L) and b (...) broadcast against it. log |det| = log(1 + h'(a)
    w^T u^), a = w^T z + b, h' = 1 - tanh^2: the matrix determinant lemma on
    I + u^ psi^T, psi = h'(a) w. The argument is > 0 (h' in (0, 1], w^T u^ > -1), so log1p
    needs no absolute value."""
    u_hat = planar_constrained_u(u, w)
    h = jnp.tanh(jnp.sum(w * z, axis=-1) + b)  # (...)
    z_new = z + u_hat * h[..., None]
    log_det = jnp.log1p((1.0 - jnp.square(h)) * jnp.sum(w * u_hat, axis=-1))
    return z_new, log_det


class PlanarFlow(nn.Module):
    """K planar steps whose u, w, b are linear heads on the context c(x) (amortised).

    __call__(z (..., B, L), context (B, C)) -> (z_K (..., B, L), sum_k log|det| (..., B)).
    """

    latent_dim: int
    steps: int

    def step_parameters(self, context):
        """(u (B, K, L), w (B, K, L), b (B, K)) of the K steps for each example."""
        n, k, dim = context.shape[0], self.steps, self.latent_dim
        u = nn.Dense(k * dim, name="u")(context).reshape((n, k, dim))  # (B, K*L) -> (B, K, L)
        w = nn.Dense(k * dim, name="w")(context).reshape((n, k, dim))  # (B, K*L) -> (B, K, L)
        return u, w, nn.Dense(k, name="b")(context)

    @nn.compact
    def __call__(self, z, context):
        u, w, b = self.step_parameters(context)
        log_det = jnp.zeros(z.shape[:-1], z.dtype)
        for k in range(self.steps):
            z, step_log_det = planar_step(z, u[:, k], w[:, k], b[:, k])
            log_det = log_det + step_log_det
        return z, log_det


# -- inverse autoregressive flow -----------------------------------------------------------
def made_degrees(latent_dim: int, hidden_sizes: Sequence[int], reverse: bool):
    """MADE degrees: input (and output) dimension i has degree i + 1 in 1..L (L..1 when
    `reverse`); hidden unit j of each layer has degree j mod L in 0..L-1 (degree-0 units see
    no z, only the context). Returns (input degrees, per-hidden-layer degrees) as tuples."""
    inputs = tuple(range(latent_dim, 0, -1)) if reverse else tuple(range(1, latent_dim + 1))
    return inputs, tuple(tuple(j % latent_dim for j in range(size)) for size in hidden_sizes)


def made_mask(in_degrees, out_degrees, strict: bool) -> np.ndarray:
    """(in, out) 0/1 mask: out unit o sees in unit i iff deg(o) >= deg(i) (hidden layers)
    or deg(o) > deg(i) (`strict`: the outputs, so output i never sees z_i or later)."""
    d_in, d_out = np.asarray(in_degrees)[:, None], np.asarray(out_degrees)[None, :]
    return (d_out > d_in if strict else d_out >= d_in).astype(np.float32)


class MaskedDense(nn.Module):
    """x @ (kernel * mask) + bias with the MADE mask of (in_degrees, out_degrees)."""

    in_degrees: tuple
    out_degrees: tuple
    strict: bool = False
    bias_value: float = 0.0  # the bias's initial value

    @nn.compact
    def __call__(self, x):
        shape = (len(self.in_degrees), len(self.out_degrees))
        kernel = self.param("kernel", nn.initializers.lecun_normal(), shape)
        bias = self.param("bias", nn.initializers.constant(self.bias_value), shape[1:])
        mask = jnp.asarray(made_mask(self.in_degrees, self.out_degrees, self.strict))
        return x @ (kernel * mask) + bias


class MADE(nn.Module):
    """(z (..., B, L), context (B, C)) -> (m, s), each (..., B, L), autoregressive in z
    (made_degrees) with the context added, unmasked, to the first layer."""

    latent_dim: int
    hidden_sizes: Sequence[int]
    reverse: bool = False
    activation: str = "relu"

    @nn.compact
    def __call__(self, z, context):
        inputs, hidden = made_degrees(self.latent_dim, tuple(self.hidden_sizes), self.reverse)
        act = get_activation(self.activation)
        h, degrees = z, inputs
        for i, layer in enumerate(hidden):
            h = MaskedDense(degrees, layer, name=f"masked_{i}")(h)
            if i == 0:
                h = h + nn.Dense(len(layer), use_bias=False, name="context")(context)
            h, degrees = act(h), layer
        m = MaskedDense(degrees, inputs, strict=True, name="m")(h)
        s = MaskedDense(degrees, inputs, strict=True, bias_value=IAF_GATE_BIAS, name="s")(h)
        if not hidden:  # no hidden layer: the context goes straight to the outputs
            m = m + nn.Dense(self.latent_dim, use_bias=False, name="context_m")(context)
            s = s + nn.Dense(self.latent_dim, use_bias=False, name="context_s")(context)
        return m, s


def iaf_update(z, m, s):
    """(sigma * z + (1 - sigma) * m, sum_i log sigma_i) with sigma = sigmoid(s)."""
    sigma = jax.nn.sigmoid(s)
    return sigma * z + (1.0 - sigma) * m, jnp.sum(jax.nn.log_sigmoid(s), axis=-1)


class IAFStep(nn.Module):
    """One IAF step: a MADE in the order 1..L (L..1 when `reverse`), then iaf_update.
    (z (..., B, L), context (B, C)) -> (z', log|det| (..., B))."""

    latent_dim: int
    hidden_sizes: Sequence[int]
    reverse: bool = False
    activation: str = "relu"

    @nn.compact
    def __call__(self, z, context):
        m, s = MADE(self.latent_dim, tuple(self.hidden_sizes), self.reverse, self.activation,
                    name="made")(z, context)
        return iaf_update(z, m, s)


class IAFFlow(nn.Module):
    """K IAF steps, the ordering reversed between steps: (z, context) -> (z_K, sum log|det|)."""

    latent_dim: int
    steps: int
    hidden_sizes: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, z, context):
        log_det = jnp.zeros(z.shape[:-1], z.dtype)
        for k in range(self.steps):
            z, step_log_det = IAFStep(self.latent_dim, tuple(self.hidden_sizes), bool(k % 2),
                                      self.activation, name=f"step_{k}")(z, context)
            log_det = log_det + step_log_det
        return z, log_det


# -- the model -----------------------------------------------------------------------------
class FlowVAE(VAE):
    """A dense VAE (ae_jax/models/vae.py) whose posterior is a flow on the Gaussian z0.

    Attributes (beyond VAE's):
      flow: "planar" | "iaf".
      flow_steps: K, the number of flow steps.
      iaf_hidden_sizes: hidden layers (units) of each IAF step's MADE (flow="iaf").
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE, PRIOR, DENSITY})

    flow: str = "planar"
    flow_steps: int = 10
    iaf_hidden_sizes: Sequence[int] = (256, 256)

    def setup(self):
        super().setup()
        if not self.hidden_sizes:
            raise ValueError("vae_flow needs model.hidden_sizes: the flow's parameters and "
                             "context come from the encoder's last hidden layer")
        if self.flow == "planar":
            self.transform = PlanarFlow(self.latent_dim, self.flow_steps)
        elif self.flow == "iaf":
            self.transform = IAFFlow(self.latent_dim, self.flow_steps,
                                     tuple(self.iaf_hidden_sizes), self.activation)
        else:
            raise ValueError(f"unknown model.flow {self.flow!r}; use one of {FLOWS}")

    def base(self, x):
        """(mu, logvar) of z0's Gaussian (B, L) each, the context c(x) (B, C) and the
        encoder's hidden activations."""
        mean, logvar, hidden = self.encoder(x)
        return mean, logvar, hidden[-1].astype(jnp.float32), hidden

    def posterior(self, x):
        raise ValueError("vae_flow has no Gaussian posterior (q(z | x) is a flow): use "
                         "posterior_samples, or base(x) for z0's Gaussian")

    def flow_from(self, x, z0):
        """(z_K, sum_k log |det df_k/dz|) for base points z0 (..., B, L) of the examples x."""
        return self.transform(z0, self.base(x)[2])

    def encode(self, x):
        """f_K o ... o f_1 (mu(x)), (B, L): the flow of the base mean."""
        mean, _, context, _ = self.base(x)
        return self.transform(mean, context)[0]

    def posterior_samples(self, x, num_samples: int):
        """(z_K (K, B, L) ~ q(z | x), log q(z_K | x) = log N(z0; mu, sigma^2) - sum log|det|
        (K, B)); z0 reparameterised with the "sample" rng (the mean without one)."""
        mean, logvar, context, _ = self.base(x)
        z0 = self.sample_posterior(mean, logvar, num_samples)
        z, log_det = self.transform(z0, context)
        return z, log_normal(z0, mean, logvar) - log_det

    def __call__(self, x):
        mean, logvar, context, hidden = self.base(x)
        z0 = self.sample_posterior(mean, logvar)
        z, log_det = self.transform(z0, context)
        logits = self.decoder(z)
        aux = {"code": self.transform(mean, context)[0], "z": z, "hidden": hidden,
               "log_q": log_normal(z0, mean, logvar) - log_det, "log_p": self.log_prior(z),
               "output_mean": get_activation(self.output_activation)(logits),
               "metrics": {"flow_log_det": log_det}}
        if self.learn_output_variance:
            aux["output_logvar"] = self.output_variance()
        return logits, aux


@MODELS.register("vae_flow")
def build_vae_flow(model_config, example_shape) -> FlowVAE:
    """model.name="vae_flow": a dense VAE (hidden_sizes) with model.flow_steps steps of
    model.flow ("planar" | "iaf", MADE layers model.iaf_hidden_sizes); the conv layer fields
    are not read."""
    return module_from_config(FlowVAE, model_config, output_shape=example_shape,
                              encoder_layers=(), decoder_layers=())
