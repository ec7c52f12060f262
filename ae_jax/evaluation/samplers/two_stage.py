"""The two-stage VAE sampler (Dai and Wipf, 2019, "Diagnosing and Enhancing VAE Models",
ICLR 2019): a second, small VAE fitted to the first model's training codes, whose prior
samples replace N(0, I) as the codes to decode.

Dai and Wipf show that a VAE with a learned decoder variance recovers the data manifold but
not the distribution on it: its aggregate posterior q(z) need not match N(0, I), so prior
samples miss. A second VAE on the codes z (whose dimension is small and whose distribution,
unlike the images', has full support) learns q(z):

    stage 2   q(u | z) = N(mu(z), diag(exp(logvar(z))))     encoder, u has `latent` units
              p(z | u) = N(f(u), gamma^2 I)                   decoder, gamma a learned scalar
    loss(z)   = KL(q(u | z) || N(0, I)) - E_q log p(z | u)
              = KL + sum_d [(z_d - f(u)_d)^2 / (2 gamma^2) + log gamma + 1/2 log 2 pi]
    sampling  u ~ N(0, I),  z = f(u)                          the decoder's mean

Both networks are Dai and Wipf's stage-2 MLP: `depth` ReLU layers of `hidden` units, then
the input concatenated to the last hidden layer before the output layer. Their stage 2 is 3
layers of 1024 units (`--option=depth=3 --option=hidden=1024`); the defaults here (2 x 512)
are smaller, for CPUs. Departures from their code:

  - the codes are standardised per dimension first (and the samples un-standardised);
  - gamma starts at 0.1, not 1: on standardised codes gamma = 1 with u ignored (the
    decoder outputting the mean, the loss the standard normal's) is where the second VAE
    starts and, in a few thousand steps, stays (posterior collapse); from 0.1 the
    reconstruction wins first and gamma then learns its value;
  - Adam (`learning_rate`, 1e-3) on minibatches of 128 codes drawn with replacement, for
    `steps` steps in one compiled loop, without their learning-rate decay;
  - samples are the decoder's mean (theirs add gamma * eps, small once gamma has shrunk).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ae_jax.distributions import kl_to_standard_normal, log_normal, reparameterize
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.samplers import FIT_EXAMPLES, as_codes, sampler, training_codes

BATCH_SIZE = 128  # codes per step
# the sampler's options, named as `fit_two_stage`'s arguments (their defaults come from here)
STEPS = Option("steps", 3000, f"Adam steps of the second VAE, {BATCH_SIZE} codes each")
HIDDEN = Option("hidden", 512, "units per hidden layer of both networks")
DEPTH = Option("depth", 2, "hidden layers per network (Dai and Wipf: 3)")
LATENT = Option("latent", 0, "units of u (0: the code's size, as Dai and Wipf)")
LEARNING_RATE = Option("learning_rate", 1e-3, "Adam's learning rate")
NETWORK_OPTIONS = (STEPS, HIDDEN, DEPTH, LATENT, LEARNING_RATE)
STD_FLOOR = 1e-6  # a constant code dimension is divided by this, not by 0
LOG_GAMMA_INIT = -2.3  # log gamma at the start (gamma 0.1; module docstring)


class SkipMLP(nn.Module):
    """x -> `depth` x Dense(hidden, relu) -> concat(x, h) -> Dense(out)."""

    hidden: int
    depth: int
    out: int

    @nn.compact
    def __call__(self, x):
        h = x
        for i in range(self.depth):
            h = nn.relu(nn.Dense(self.hidden, name=f"dense_{i}")(h))
        return nn.Dense(self.out, name="output")(jnp.concatenate([x, h], axis=-1))


class StageTwoVAE(nn.Module):
    """The second-stage VAE on (standardised) codes of `code_dim` units."""

    code_dim: int
    latent: int
    hidden: int
    depth: int

    def setup(self):
        self.encoder = SkipMLP(self.hidden, self.depth, 2 * self.latent)
        self.decoder = SkipMLP(self.hidden, self.depth, self.code_dim)
        self.log_gamma = self.param("log_gamma", nn.initializers.constant(LOG_GAMMA_INIT), ())

    def decode(self, u):
        """The decoder's mean f(u), (n, code_dim)."""
        return self.decoder(u)

    def __call__(self, z, key):
        """The per-example loss of the module docstring, (B,), with one u ~ q(u | z)."""
        mean, logvar = jnp.split(self.encoder(z), 2, axis=-1)  # (B, 2 U) -> 2 x (B, U)
        u = reparameterize(key, mean, logvar)
        nll = -log_normal(z, self.decoder(u), 2.0 * self.log_gamma)
        return kl_to_standard_normal(mean, logvar) + nll


def _train(model: StageTwoVAE, codes: jax.Array, key, steps: int, learning_rate: float):
    """(parameters, per-step losses (steps,)) of `model` fitted to `codes` (N, K)."""
    init_key, loop_key = jax.random.split(key)
    params = model.init(init_key, codes[:1], init_key)["params"]
    tx = optax.adam(learning_rate)

    def step(carry, i):
        params, opt_state = carry
        batch_key, sample_key = jax.random.split(jax.random.fold_in(loop_key, i))
        rows = jax.random.randint(batch_key, (BATCH_SIZE,), 0, codes.shape[0])

        def loss_fn(p):
            return jnp.mean(model.apply({"params": p}, codes[rows], sample_key))

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    @jax.jit
    def run(params):
        (params, _), losses = jax.lax.scan(step, (params, tx.init(params)),
                                           jnp.arange(steps))
        return params, losses

    return run(params)


def fit_two_stage(codes: np.ndarray, key, steps: int = STEPS.default,
                  hidden: int = HIDDEN.default, depth: int = DEPTH.default,
                  latent: int = LATENT.default, learning_rate: float = LEARNING_RATE.default):
    """(sample, losses): `sample(key, n)` draws n codes (n, K) float32 from a second-stage
    VAE trained on the rows of `codes` (N, K); `losses` (steps,) is its training loss per
    step (nats per standardised code)."""
    codes = np.asarray(codes, np.float64)
    shift, scale = codes.mean(0), np.maximum(codes.std(0), STD_FLOOR)  # (K,) each
    standard = jnp.asarray((codes - shift) / scale, jnp.float32)
    k = codes.shape[1]
    model = StageTwoVAE(code_dim=k, latent=int(latent) or k, hidden=int(hidden),
                        depth=int(depth))
    params, losses = _train(model, standard, key, int(steps), float(learning_rate))
    decode = jax.jit(lambda u: model.apply({"params": params}, u, method="decode"))

    def sample(key, n: int) -> np.ndarray:
        u = jax.random.normal(key, (n, model.latent), jnp.float32)
        return (np.asarray(decode(u), np.float64) * scale + shift).astype(np.float32)

    return sample, np.asarray(losses)


@sampler("two_stage", *NETWORK_OPTIONS, FIT_EXAMPLES)
def two_stage(run, options: dict, key):
    """z = f(u), u ~ N(0, I): Dai and Wipf's second-stage VAE fitted to the training codes.

    The second VAE (module docstring) is fitted, with `key`, to the codes of `fit_examples`
    training examples."""
    settings = {o.name: options[o.name] for o in NETWORK_OPTIONS}
    sample, _ = fit_two_stage(training_codes(run, options), key, **settings)
    return lambda k, n: as_codes(run, sample(k, n))
