"""Model families: what a kind of model trains and how; the engine knows nothing else.

`config.family` names one (`FAMILIES.get(name)`); the engine builds it once per command,
`family = FAMILIES.get(config.family)(config, example_shape, steps_per_epoch)`, and then only
calls what `Family` below declares. A new family is one module in this package with one
`@FAMILIES.register("name")` class.
"""

from __future__ import annotations

from ae_jax.families.base import Family, prefers_steps_on_cpu
from ae_jax.registry import Registry

FAMILIES: Registry[type[Family]] = Registry("model family", field="family",
                                            package="ae_jax.families")

__all__ = ["FAMILIES", "Family", "build_family", "prefers_steps_on_cpu"]


def build_family(config, example_shape, steps_per_epoch: int) -> Family:
    """The family `config.family` names, for examples of shape (H, W, C)."""
    return FAMILIES.get(config.family)(config, tuple(example_shape), steps_per_epoch)
