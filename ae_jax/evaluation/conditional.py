"""Task `conditional`: does a conditional model generate the class it is asked for?

For each class c, `num_per_class` codes of that class (the model's `class_codes(key, y)`)
are decoded and classified by the project's own classifier of the dataset
(ae_jax/evaluation/frechet.py, trained once and cached); the accuracy is the fraction of the
images assigned to c. The classifier's accuracy on the real test split is reported beside
it as the ceiling the generated images are measured against.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax import viz, viz_latent
from ae_jax.evaluation import task
from ae_jax.evaluation.frechet import CLASSIFIER_OPTIONS, classifier_of
from ae_jax.evaluation.options import Option


def class_images(run, labels: np.ndarray, key) -> np.ndarray:
    """Images decoded from codes of the given classes, (N, H, W, C) in [0, 1]."""
    fn = run.compiled("class_codes",
                      lambda s, k, y: run.family.call(s, "class_codes", k, y))
    return run.decode(np.asarray(fn(run.state, key, jnp.asarray(labels, jnp.int32))))


@task("conditional", Option("num_per_class", 100, "images generated per class"),
      *CLASSIFIER_OPTIONS)
def conditional(run, out_dir: str, options: dict) -> dict:
    """How often a conditional model's images of class c are classified as c (accuracy)."""
    run.require("conditional", "task 'conditional'")
    num_classes = run.dataset.num_classes
    n = options["num_per_class"]
    labels = np.repeat(np.arange(num_classes), n)  # (C * n,): class c at rows c*n .. c*n+n-1
    images = class_images(run, labels, jax.random.PRNGKey(options["seed"]))
    classifier = classifier_of(run, options)
    predicted = classifier.predict(images)
    per_class = [float(np.mean(predicted[labels == c] == c)) for c in range(num_classes)]
    real = float(np.mean(classifier.predict(run.dataset.test) == run.dataset.test_labels))
    cols = min(n, 10)
    grid = images.reshape((num_classes, n, *images.shape[1:]))[:, :cols]  # (C, n, ...)
    viz.save(viz_latent.image_grid_figure(grid.reshape((-1, *images.shape[1:])), num_classes,
                                          cols, "one row per requested class"),
             os.path.join(out_dir, "conditional_samples.png"))
    return {"epoch": run.epoch, "num_per_class": n,
            "accuracy": float(np.mean(predicted == labels)),
            "accuracy_per_class": per_class, "classifier_test_accuracy": real,
            "classifier": classifier.info}
