"""Task `reconstruction`: test loss per class and a grid of the worst and best examples."""

from __future__ import annotations

import os

import numpy as np

from ae_jax import viz
from ae_jax.data import to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option


@task("reconstruction",
      Option("num_images", 10, "test examples in each figure of the best and the worst"))
def reconstruction(run, out_dir: str, options: dict) -> dict:
    """Test loss, overall and per class, and figures of the best and worst reconstructions."""
    x = run.dataset.test
    losses = run.score(x)
    result = {"epoch": run.epoch, "num_examples": int(len(x)),
              "mean_loss": float(losses.mean())}
    labels = run.dataset.test_labels
    if labels is not None and run.dataset.num_classes and run.dataset.num_classes <= 50:
        names = run.dataset.class_names or tuple(map(str, range(run.dataset.num_classes)))
        result["mean_loss_per_class"] = {
            names[c]: float(losses[labels == c].mean())
            for c in range(run.dataset.num_classes) if np.any(labels == c)
        }
    n = options["num_images"]
    order = np.argsort(losses)
    for name, idx in (("best", order[:n]), ("worst", order[::-1][:n])):
        fig = viz.reconstructions({"input": to_float(x[idx]),
                                   "reconstruction": run.reconstruct(x[idx])},
                                  f"{name} {n} test reconstructions")
        viz.save(fig, os.path.join(out_dir, f"reconstruction_{name}.png"))
    return result
