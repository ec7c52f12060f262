"""A Keras-style `summary()` table: one row per layer with its output shape and parameter
count, and totals for the encoder, the decoder and the whole autoencoder."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.abilities import example_kwargs


def count_params(tree) -> int:
    return sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(tree))


def _layer_rows(params, intermediates, prefix=()):
    """(path, output shape, params) for every module that holds parameters directly."""
    rows = []
    own = {k: v for k, v in params.items() if not isinstance(v, dict)}
    if own:
        out = intermediates.get("__call__", (None,))[0] if intermediates else None
        shape = tuple(out.shape[1:]) if hasattr(out, "shape") else "?"
        rows.append(("/".join(prefix), shape, count_params(own)))
    for name, sub in params.items():
        if isinstance(sub, dict):
            inter = intermediates.get(name, {}) if intermediates else {}
            rows.extend(_layer_rows(sub, inter, prefix + (name,)))
    return rows


def _layer_order(row):
    """Encoder before decoder, and layers in the order data flows through them (the trees
    come back with sorted keys)."""
    parts = row[0].split("/")
    part = {"encoder": 0, "decoder": 1}.get(parts[0], 2)
    name = parts[-1]
    if name == "from_latent":
        rank = -1
    elif name[-1].isdigit():
        rank = int(name.rsplit("_", 1)[-1])
    else:
        rank = {"latent": 10_000, "output": 10_001}.get(name, 10_002)
    return (part, parts[:-1], rank, name)


def summarize(model: nn.Module, example_shape, batch_size: int = 1) -> tuple[str, dict]:
    """The table as text and the counts as a dict (`encoder`, `decoder`, `total`)."""
    x = jnp.zeros((batch_size, *example_shape), jnp.float32)

    kwargs = example_kwargs(model, batch_size)

    def init_and_capture():
        variables = model.init(jax.random.PRNGKey(0), x, **kwargs)
        _, state = model.apply(variables, x, capture_intermediates=True,
                               mutable=["intermediates"], **kwargs)
        return variables["params"], state["intermediates"]

    params, inter = jax.eval_shape(init_and_capture)
    rows = sorted(_layer_rows(params, inter), key=_layer_order)
    counts = {"total": count_params(params)}
    for part in ("encoder", "decoder"):
        if part in params:
            counts[part] = count_params(params[part])

    width = max([len(r[0]) for r in rows] + [10]) + 2
    lines = [f"Model: {type(model).__name__}  input (batch, {', '.join(map(str, example_shape))})"]
    lines.append(f"{'layer':<{width}}{'output shape':<24}{'params':>12}")
    lines.append("-" * (width + 36))
    for path, shape, n in rows:
        lines.append(f"{path:<{width}}{str(shape):<24}{n:>12,}")
    lines.append("-" * (width + 36))
    for part in ("encoder", "decoder"):
        if part in counts:
            lines.append(f"{part} params: {counts[part]:,}")
    lines.append(f"total params: {counts['total']:,}")
    return "\n".join(lines) + "\n", counts
