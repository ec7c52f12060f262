"""Models by name. Every model exposes `encode(x)`, `decode(z)` and
`__call__(x) -> (x_hat_logits, aux)`, with `aux["code"]` the code and `aux["hidden"]` the
encoder's activations; `output_activation` turns logits into x_hat.

To add a model: write a flax.linen Module with those three methods and register a builder
`fn(model_config, example_shape) -> Module` in `MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax.numpy as jnp

from ae_jax.models.activations import get_activation
from ae_jax.models.conv import ConvAutoencoder
from ae_jax.models.mlp import MLPAutoencoder
from ae_jax.models.pca import PCA
from ae_jax.models.tied import TiedAutoencoder
from ae_jax.models.vae import build_vae_conv, build_vae_mlp


def compute_dtype(cfg):
    """`model.compute_dtype`: float32, or bfloat16 for mixed precision (parameters, optimizer
    state and the loss stay float32)."""
    name = cfg.get("compute_dtype", "float32")
    if name not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"unknown compute_dtype {name!r}: use float32 or bfloat16")
    return jnp.dtype(name)


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
        dtype=compute_dtype(cfg),
        kernel_init=cfg.get("kernel_init", "lecun_normal"),
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
        dtype=compute_dtype(cfg),
        conv_impl=cfg.get("conv_impl", "auto"),
    )


def _tied(cfg, example_shape) -> nn.Module:
    return TiedAutoencoder(
        output_shape=tuple(example_shape),
        latent_dim=cfg.latent_dim,
        hidden_sizes=tuple(cfg.get("hidden_sizes", ())),
        activation=cfg.get("activation", "relu"),
        latent_activation=cfg.get("latent_activation", "sigmoid"),
        output_activation=cfg.get("output_activation", "sigmoid"),
    )


def _pca(cfg, example_shape) -> nn.Module:
    return PCA(output_shape=tuple(example_shape), num_components=cfg.latent_dim)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp, "conv": _conv, "tied": _tied, "pca": _pca,
}
MODELS.update(vae_mlp=build_vae_mlp, vae_conv=build_vae_conv)


def build_model(model_config, example_shape) -> nn.Module:
    """The model named by `model_config.name`, for examples of shape (H, W, C)."""
    name = model_config.name
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {sorted(MODELS)}")
    model = MODELS[name](model_config, example_shape)
    get_activation(model.output_activation)  # fail early on a misspelled activation
    return model
