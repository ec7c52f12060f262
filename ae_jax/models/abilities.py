"""What a model can do, declared by the model and read by the engine and the tasks.

A module class lists its abilities in a class attribute, and says whether its gradients use
XLA's convolutions (XLA:CPU runs their kernel gradients inside a while loop 8-20x slower than
at top level, so the engine then prefers one compiled call per step on CPU; the conv_ops
layers of `conv_impl="cpu"` have hand-written gradients that run well in a loop)::

    class VAE(nn.Module):
        ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE, POSTERIOR, PRIOR})

        @property
        def xla_conv_gradients(self) -> bool:
            return bool(self.encoder_layers or self.decoder_layers) and (
                resolve_impl(self.conv_impl) == "lax")

Nothing is guessed from a model's name or from `hasattr`.
"""

from __future__ import annotations

import jax.numpy as jnp

ENCODE = "encode"        # encode(x) -> code (B, ...)
DECODE = "decode"        # decode(z) -> output logits (B, H, W, C)
POSTERIOR = "posterior"  # posterior(x) -> (mean, logvar) of a Gaussian q(z | x);
                         # sample_posterior(mean, logvar, k) with the "sample" rng
PRIOR = "prior"          # sample_prior(key, n) -> z (n, K): a prior to generate from (a
                         # fixed N(0, I) or a learned one)
DENSITY = "density"      # posterior_samples(x, k) -> (z (k, B, L), log q(z | x) (k, B)),
                         # reparameterised with the "sample" rng, and log_prior(z) -> log p(z)
                         # over the last axis: what the IWAE bounds and the `nll` task need,
                         # whatever q and p are (Gaussian, flow, mixture, hierarchy)

CONDITIONAL = "conditional"  # __call__(x, labels): the model sees each example's class label
                             # (int32 (B,)); the engine then appends labels to the rows
                             # (ae_jax/forward.py split_labels); its decode(code) takes codes
                             # that carry the class, so sampling needs no label argument

KNOWN = (ENCODE, DECODE, POSTERIOR, PRIOR, DENSITY, CONDITIONAL)


class MissingAbilityError(ValueError):
    """A task or option asked a model for something it does not declare."""


def abilities_of(module) -> frozenset[str]:
    """The abilities a module declares (none if it declares nothing)."""
    return frozenset(getattr(type(module), "ABILITIES", frozenset()))


def xla_conv_gradients(module) -> bool:
    return bool(getattr(module, "xla_conv_gradients", False))


def require(module, ability: str, who: str) -> None:
    """Raise MissingAbilityError (one line) unless `module` declares `ability`."""
    have = abilities_of(module)
    if ability not in have:
        raise MissingAbilityError(
            f"{who} needs a model that declares the ability {ability!r}; "
            f"{type(module).__name__} declares: {', '.join(sorted(have)) or 'none'}")


def example_kwargs(module, batch_size: int) -> dict:
    """The keyword arguments of an evaluation-mode call on a batch of dummy examples: train
    mode off, and labels 0 for a CONDITIONAL model (summaries, shape inference)."""
    kwargs = train_kwargs(module, False)
    if CONDITIONAL in abilities_of(module):
        kwargs["labels"] = jnp.zeros((batch_size,), jnp.int32)
    return kwargs


def train_kwargs(module, train: bool) -> dict:
    """`{"train": train}` for a module that declares `HAS_TRAIN_MODE = True` (batch norm,
    dropout: its __call__ takes `train`), else {}."""
    return {"train": train} if getattr(type(module), "HAS_TRAIN_MODE", False) else {}
