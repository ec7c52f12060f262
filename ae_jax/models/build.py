"""Modules built from the config: the model registry and `module_from_config`.

A builder `fn(model_config, example_shape) -> Module` registers under its `model.name`::

    @MODELS.register("mlp")
    def build_mlp(model_config, example_shape):
        return module_from_config(MLPAutoencoder, model_config, output_shape=example_shape)

and `module_from_config` fills every field of the module that the builder does not give from
the config field of the same name, so no builder copies fields by hand and a module field
the config lacks is an error rather than a silent second default.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn

from ae_jax.registry import Registry

MODELS: Registry = Registry("model", field="model.name", package="ae_jax.models")

_NOT_CONFIG = ("parent", "name")  # flax.linen.Module's own dataclass fields


def _as_module_value(value):
    """Config values as module attributes: lists (from JSON) and tuples become tuples."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return value


def config_field(model_config, field: str, prefix: str = ""):
    """`model_config.<prefix><field>` if the config has it, else `model_config.<field>`."""
    key = prefix + field if prefix and prefix + field in model_config else field
    if key not in model_config:
        raise ValueError(f"model.{key} is not in the config (configs/default.py lists every "
                         "model field)")
    return _as_module_value(model_config[key])


def module_from_config(module_class: type[nn.Module], model_config, prefix: str = "",
                       **given) -> nn.Module:
    """`module_class(**given, <every other field>=model_config.<field>)`.

    `prefix` names a family of fields: with prefix="generator_" the field `hidden_sizes`
    reads `model.generator_hidden_sizes` where the config has it, else `model.hidden_sizes`.
    Given values are used as they are (lists become tuples).
    """
    kwargs = {k: _as_module_value(v) for k, v in given.items()}
    for f in dataclasses.fields(module_class):
        if f.init and f.name not in _NOT_CONFIG and f.name not in kwargs:
            kwargs[f.name] = config_field(model_config, f.name, prefix)
    return module_class(**kwargs)
