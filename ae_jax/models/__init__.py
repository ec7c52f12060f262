"""Models by name. Every model exposes `encode(x)`, `decode(z)` and
`__call__(x) -> (x_hat_logits, aux)`, with `aux["code"]` the code and `aux["hidden"]` the
encoder's activations; `output_activation` turns logits into x_hat. Each model class declares
what it can do in `ABILITIES` (ae_jax/models/abilities.py).

Optional: `aux["metrics"]` = {name: (B, ...)} per-example values of the model's own (their
means become train and test metrics), and a staticmethod `finalize_metrics(means) -> dict`
on the class that derives metrics from those means (VQ-VAE: the codebook perplexity from the
mean one-hot usage "_code_usage"; names with "_" feed it and are not reported).

To add a model: write a flax.linen Module with those three methods, in a module of this
package, and register a builder `fn(model_config, example_shape) -> Module` in `MODELS`
(ae_jax/models/build.py), usually `module_from_config(ModuleClass, model_config, ...)`; add
any new field to configs/default.py.
"""

from __future__ import annotations

import flax.linen as nn

from ae_jax.models.activations import get_activation
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.conv import ConvAutoencoder
from ae_jax.models.mlp import MLPAutoencoder
from ae_jax.models.pca import PCA
from ae_jax.models.tied import TiedAutoencoder
from ae_jax.models.vae import VAE

__all__ = ["MODELS", "PCA", "VAE", "ConvAutoencoder", "MLPAutoencoder", "TiedAutoencoder",
           "build_model", "module_from_config"]


def build_model(model_config, example_shape) -> nn.Module:
    """The model named by `model_config.name`, for examples of shape (H, W, C)."""
    model = MODELS.get(model_config.name)(model_config, tuple(example_shape))
    get_activation(model.output_activation)  # fail early on a misspelled activation
    return model
