"""Models by name. Every model exposes `encode(x)`, `decode(z)` and
`__call__(x) -> (x_hat_logits, aux)`, with `aux["code"]` the code and `aux["hidden"]` the
encoder's activations; `output_activation` turns logits into x_hat.

To add a model: write a flax.linen Module with those three methods and register a builder
`fn(model_config, example_shape) -> Module` in `MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn

from ae_jax.models.activations import get_activation
from ae_jax.models.conv import ConvAutoencoder
from ae_jax.models.mlp import MLPAutoencoder


def _mlp(cfg, example_shape) -> nn.Module:
    dec = cfg.get("decoder_hidden_sizes")
    return MLPAutoencoder(
        output_shape=tuple(example_shape),
        latent_dim=cfg.latent_dim,
        hidden_sizes=tuple(cfg.get("hidden_sizes", ())),
        decoder_hidden_sizes=None if dec is None else tuple(dec),
        activation=cfg.get("activation", "relu"),
        latent_activation=cfg.get("latent_activation", "relu"),
        output_activation=cfg.get("output_activation", "sigmoid"),
    )


def _conv(cfg, example_shape) -> nn.Module:
    return ConvAutoencoder(
        output_shape=tuple(example_shape),
        encoder_layers=tuple(cfg.encoder_layers),
        decoder_layers=tuple(cfg.decoder_layers),
        kernel_size=cfg.get("kernel_size", 3),
        activation=cfg.get("activation", "relu"),
        latent_dim=cfg.get("latent_dim") or None,
        output_activation=cfg.get("output_activation", "sigmoid"),
    )


MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": _mlp, "conv": _conv}


def build_model(model_config, example_shape) -> nn.Module:
    """The model named by `model_config.name`, for examples of shape (H, W, C)."""
    name = model_config.name
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(MODELS)}")
    model = MODELS[name](model_config, example_shape)
    get_activation(model.output_activation)  # fail early on a misspelled activation
    return model
