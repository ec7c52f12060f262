"""Frechet distance between generated and real images, in the feature space of a small
classifier that this project trains itself on the same dataset (no download).

This is NOT the standard FID (Heusel et al., 2017), which uses Inception-v3 pool features
of an ImageNet-trained network: numbers from here are comparable only with numbers from the
same classifier (same dataset, architecture, seed and epochs, i.e. the same cache
directory), never with published FIDs. The real-vs-real distance (training images against
test images) is reported beside every score as the floor that sampling noise alone gives.

With mu, S the mean and covariance of the features of real (r) and generated (g) images,

    d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})

Tr (S_r S_g)^{1/2} is computed as sum_i sqrt(lambda_i) with lambda_i the eigenvalues of the
symmetric positive semi-definite A = S_r^{1/2} S_g S_r^{1/2} (similar to S_r S_g, so same
eigenvalues), by two `eigh`s in float64: no complex parts to discard as with sqrtm.

Command (classifier trained once and cached in --classifier_dir):

    python -m ae_jax.evaluation.frechet --classifier_dir=runs/frechet_fashion_mnist \
        --workdir=runs/dcgan --workdir=runs/vae [--num_samples=10000]

A workdir is any run whose family can sample (`ae_jax.load(workdir).sample`: a GAN's
generator, the AAE's or a VAE's decoder on codes from the model's prior). Each workdir gets
`eval/frechet.json`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

from ae_jax import rng
from ae_jax.data import Dataset, to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.samplers import SAMPLER, fit_sampler
from ae_jax.forward import unflatten
from ae_jax.loops import EpochRunner, choose_loop
from ae_jax.run import load

Sampler = Callable[[int, jax.Array], np.ndarray]  # (n, key) -> (n, H, W, C) in [0, 1]


# ---------------------------------------------------------------- the distance itself


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (F,), covariance (F, F)) of (N, F) features, float64, unbiased (N - 1)."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """S^{1/2} of a symmetric positive semi-definite S (tiny negative eigenvalues -> 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) between two Gaussians."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    r = _psd_sqrt(s1)
    eig = np.linalg.eigvalsh(r @ s2 @ r)  # eigenvalues of S1^{1/2} S2 S1^{1/2} ~ S1 S2
    trace_sqrt = np.sum(np.sqrt(np.clip(eig, 0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


# ---------------------------------------------------------------- the feature classifier


class FeatureClassifier(nn.Module):
    """x (B, H, W, C) in [0, 1] -> Conv 32 3x3/2 -> ReLU -> Conv 64 3x3/2 -> ReLU -> flatten
    -> Dense feature_dim -> ReLU (the features) -> Dense num_classes (logits).

    Strided convolutions instead of pooling keep it cheap on a CPU (about 1.4 M
    multiply-adds per 28x28 image)."""

    num_classes: int
    conv_features: Sequence[int] = (32, 64)
    feature_dim: int = 128

    @nn.compact
    def __call__(self, x: jax.Array, features_only: bool = False) -> jax.Array:
        h = 2.0 * x - 1.0
        for i, feat in enumerate(self.conv_features):
            h = nn.relu(nn.Conv(feat, (3, 3), strides=(2, 2), padding="SAME",
                                name=f"conv_{i}")(h))  # size / 2
        h = h.reshape((x.shape[0], -1))  # (B, h, w, F) -> (B, h*w*F)
        h = nn.relu(nn.Dense(self.feature_dim, name="features")(h))  # (B, feature_dim)
        if features_only:
            return h
        return nn.Dense(self.num_classes, name="logits")(h)


def _labelled_rows(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, D + 1) uint8 rows, the pixels then the label, so the EpochRunner's flat batches
    carry their labels (needs uint8 images and fewer than 256 classes)."""
    if images.dtype != np.uint8 or labels.max() > 255:
        raise ValueError("the classifier trains on uint8 images with at most 256 classes")
    flat = images.reshape(len(images), -1)  # (N, H, W, C) -> (N, D)
    return np.concatenate([flat, labels.astype(np.uint8)[:, None]], axis=1)


class ClassifierState(train_state.TrainState):
    """flax's TrainState plus the root key the EpochRunner draws each epoch's order from."""

    key: jax.Array


def _classifier_step(example_shape):
    def train_step(state, rows):
        x = unflatten(rows[:, :-1], example_shape)  # (B, D) -> (B, H, W, C)
        y = rows[:, -1].astype(jnp.int32)  # (B,)

        def loss_fn(params):
            logits = state.apply_fn({"params": params}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        acc = jnp.mean(jnp.argmax(logits, -1) == y)
        return state.apply_gradients(grads=grads), {"loss": loss, "accuracy": acc}

    return train_step


class FeatureExtractor:
    """A trained FeatureClassifier: `features(x)` (N, F), `predict(x)` labels, `info`."""

    def __init__(self, module: FeatureClassifier, params, info: dict):
        self.module, self.params, self.info = module, params, info
        self._features = jax.jit(lambda p, b: module.apply({"params": p}, b,
                                                           features_only=True))
        self._logits = jax.jit(lambda p, b: module.apply({"params": p}, b))

    def _batches(self, fn, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([np.asarray(fn(self.params, to_float(jnp.asarray(
            x[i:i + batch_size])))) for i in range(0, len(x), batch_size)])

    def features(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """(N, feature_dim) features of (N, H, W, C) images, uint8 or floats in [0, 1]."""
        return self._batches(self._features, x, batch_size)

    def predict(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        return self._batches(self._logits, x, batch_size).argmax(-1)


def _classifier_info(dataset: Dataset, epochs: int, seed: int, batch_size: int,
                     module: FeatureClassifier) -> dict:
    """What determines the classifier: a cache holding other values is refused."""
    return {"dataset": dataset.name, "source": dataset.source,
            "num_train": len(dataset.train), "example_shape": list(dataset.example_shape),
            "num_classes": module.num_classes, "conv_features": list(module.conv_features),
            "feature_dim": module.feature_dim, "epochs": epochs, "seed": seed,
            "batch_size": batch_size, "optimizer": "adam 1e-3"}


def train_classifier(dataset: Dataset, epochs: int = 5, seed: int = 0,
                     batch_size: int = 128) -> FeatureExtractor:
    """Train the FeatureClassifier on the labelled training split with the project's
    EpochRunner (softmax cross-entropy, Adam 1e-3); `info` records the test accuracy."""
    if dataset.train_labels is None:
        raise ValueError(f"{dataset.name} has no labels to train the feature classifier on")
    module = FeatureClassifier(dataset.num_classes)
    batch_size = min(batch_size, len(dataset.train))
    key = jax.random.PRNGKey(seed)
    x0 = jnp.zeros((1, *dataset.example_shape), jnp.float32)
    params = module.init(rng.stream(key, "init"), x0)["params"]
    state = ClassifierState.create(apply_fn=module.apply, params=params, tx=optax.adam(1e-3),
                              key=key)
    rows = jax.device_put(_labelled_rows(dataset.train, dataset.train_labels))  # (N, D + 1)
    # 8 unrolled steps per call on CPU: a 1-step chunk is a while loop in JAX 0.10.2 and ran
    # 8-30x slower (conv gradients in a while loop on XLA:CPU, see ae_jax/loops.py).
    runner = EpochRunner(_classifier_step(dataset.example_shape), len(rows), batch_size,
                         choose_loop("auto", prefers_steps_on_cpu=True), steps_per_call=8)
    for epoch in range(1, epochs + 1):
        state, metrics = runner(state, rows, epoch)
        logging.info("feature classifier epoch %d: loss %.4f, train accuracy %.4f", epoch,
                     float(metrics["loss"]), float(metrics["accuracy"]))
    info = _classifier_info(dataset, epochs, seed, batch_size, module)
    extractor = FeatureExtractor(module, state.params, info)
    if dataset.test_labels is not None:
        info["test_accuracy"] = float(np.mean(extractor.predict(dataset.test)
                                              == dataset.test_labels))
    return extractor


def load_or_train_classifier(dataset: Dataset, directory: str, epochs: int = 5,
                             seed: int = 0) -> FeatureExtractor:
    """The classifier cached in `directory` (classifier.msgpack + classifier.json), trained
    and saved there first if absent. A cache made with another dataset or settings is an
    error, not silently reused."""
    meta_path = os.path.join(directory, "classifier.json")
    params_path = os.path.join(directory, "classifier.msgpack")
    module = FeatureClassifier(dataset.num_classes)
    want = _classifier_info(dataset, epochs, seed, min(128, len(dataset.train)), module)
    if os.path.exists(meta_path) and os.path.exists(params_path):
        with open(meta_path) as f:
            info = json.load(f)
        diffs = [f"{k}: {info.get(k)!r} (cached) vs {v!r}" for k, v in want.items()
                 if info.get(k) != v]
        if diffs:
            raise ValueError(f"the classifier in {directory} was trained differently "
                             f"({'; '.join(diffs)}); use another --classifier_dir")
        x0 = jnp.zeros((1, *dataset.example_shape), jnp.float32)
        template = jax.eval_shape(module.init, jax.random.PRNGKey(0), x0)["params"]
        with open(params_path, "rb") as f:
            params = flax.serialization.from_bytes(template, f.read())
        return FeatureExtractor(module, params, info)
    extractor = train_classifier(dataset, epochs, seed)
    os.makedirs(directory, exist_ok=True)
    with open(params_path, "wb") as f:
        f.write(flax.serialization.to_bytes(extractor.params))
    with open(meta_path, "w") as f:
        json.dump(extractor.info, f, indent=2)
    return extractor


# ---------------------------------------------------------------- scores


def frechet_of_images(extractor: FeatureExtractor, images: np.ndarray,
                      reference: tuple[np.ndarray, np.ndarray]) -> float:
    """The distance between `images` and reference statistics (mean, covariance)."""
    mu, sigma = feature_statistics(extractor.features(images))
    return frechet_distance(mu, sigma, *reference)


def frechet_of_sampler(sampler: Sampler, extractor: FeatureExtractor,
                       reference: tuple[np.ndarray, np.ndarray], num_samples: int,
                       key: jax.Array) -> float:
    """Draw `num_samples` images from any `sampler(n, key)` and score them."""
    images = np.asarray(sampler(num_samples, key), np.float32)
    if images.min() < 0 or images.max() > 1:
        raise ValueError("a sampler must return images in [0, 1]")
    return frechet_of_images(extractor, images, reference)


def sampler_for(workdir: str, options: dict | None = None, seed: int = 0
                ) -> tuple[Sampler, dict]:
    """`sample(n, key)` of a trained workdir: its decoder on codes of the sampler named by
    options["sampler"] ("prior" by default; ae_jax/evaluation/samplers), and what it is."""
    run = load(workdir)
    options = dict(options or {})
    name, codes = fit_sampler(run, options, jax.random.fold_in(jax.random.PRNGKey(seed), 1))
    return (lambda n, key: run.decode(codes(key, n))), {
        "model": run.config.model.name, "epoch": run.epoch, "sampler": name}


def score_workdirs(workdirs: Sequence[str], classifier_dir: str, num_samples: int = 10000,
                   epochs: int = 5, seed: int = 0, options: dict | None = None) -> dict:
    """Scores of every workdir (one dataset for all) against the full test split, plus the
    real-vs-real floor: the first `num_samples` training images against the test split."""
    import ml_collections

    from ae_jax.data import load_dataset

    data_cfgs = []
    for w in workdirs:
        with open(os.path.join(w, "config.json")) as f:
            data_cfgs.append(json.load(f)["data"])
    names = {c["name"] for c in data_cfgs}
    if len(names) != 1:
        raise ValueError(f"the workdirs were trained on different datasets: {sorted(names)}")
    data_cfg = ml_collections.ConfigDict({**data_cfgs[0], "train_limit": 0, "test_limit": 0})
    dataset = load_dataset(data_cfg)  # the full splits, whatever the runs were limited to
    extractor = load_or_train_classifier(dataset, classifier_dir, epochs, seed)
    reference = feature_statistics(extractor.features(dataset.test))
    floor = frechet_of_images(extractor, dataset.train[:num_samples], reference)
    result = {"note": "Frechet distance in the features of the project's own classifier; "
                      "not the standard Inception FID",
              "classifier": extractor.info, "num_samples": num_samples,
              "reference": f"{dataset.name} test split ({len(dataset.test)} images)",
              "real_train_vs_test": floor, "runs": {}}
    for w in workdirs:
        sampler, about = sampler_for(w, options, seed)
        key = jax.random.PRNGKey(seed)
        score = frechet_of_sampler(sampler, extractor, reference, num_samples, key)
        result["runs"][w] = {**about, "frechet": score}
        out = os.path.join(w, "eval")
        os.makedirs(out, exist_ok=True)
        name = "frechet.json" if about["sampler"] == "prior" else f"frechet_{about['sampler']}.json"
        with open(os.path.join(out, name), "w") as f:
            json.dump({**{k: v for k, v in result.items() if k != "runs"},
                       **result["runs"][w]}, f, indent=2)
    return result


CLASSIFIER_DIR = Option("classifier_dir", None, "where the feature classifier is cached "
                        "(default: <workdir>/../frechet_classifier_<dataset>)", kind="str")
CLASSIFIER_EPOCHS = Option("classifier_epochs", 5, "training epochs of the feature classifier")
SEED = Option("seed", 0, "seed of the feature classifier's training and of this task's draws")
CLASSIFIER_OPTIONS = (CLASSIFIER_DIR, CLASSIFIER_EPOCHS, SEED)


def classifier_of(run, options: dict) -> FeatureExtractor:
    """The project's classifier of the run's dataset, cached in option `classifier_dir`,
    trained there first if absent with options `classifier_epochs` and `seed`
    (CLASSIFIER_OPTIONS)."""
    directory = options["classifier_dir"]
    if not directory:  # None (or an empty --option=classifier_dir=)
        directory = os.path.join(os.path.dirname(os.path.abspath(run.workdir)),
                                 f"frechet_classifier_{run.dataset.name}")
    return load_or_train_classifier(run.dataset, directory, options["classifier_epochs"],
                                    options["seed"])


@task("frechet", SAMPLER,
      Option("num_samples", 10000, "generated images scored (and training images in the "
             "real-vs-real floor)"),
      *CLASSIFIER_OPTIONS)
def frechet_task(run, out_dir: str, options: dict) -> dict:
    """Frechet distance of the run's samples to its test split, in the project's classifier."""
    seed = options["seed"]
    num = options["num_samples"]
    extractor = classifier_of(run, options)
    reference = feature_statistics(extractor.features(run.dataset.test))
    name, codes = fit_sampler(run, options, jax.random.fold_in(jax.random.PRNGKey(seed), 1))
    score = frechet_of_sampler(lambda n, key: run.decode(codes(key, n)), extractor, reference,
                               num, jax.random.PRNGKey(seed))
    floor = frechet_of_images(extractor, run.dataset.train[:num], reference)
    return {"epoch": run.epoch, "sampler": name, "frechet": score, "num_samples": num,
            "real_train_vs_test": floor, "classifier": extractor.info,
            "note": "Frechet distance in the features of the project's own classifier; not "
                    "the standard Inception FID"}


def main(argv):  # pragma: no cover - the command line
    from absl import app, flags

    del argv
    f = flags.FLAGS
    if not f.workdir:
        raise app.UsageError("give at least one --workdir")
    result = score_workdirs(f.workdir, f.classifier_dir, f.num_samples, f.classifier_epochs,
                            options={"sampler": f.sampler})
    print(json.dumps(result, indent=2))
    print(f"\n{'run':<40}{'model':<12}{'epoch':>6}{'Frechet':>12}")
    print(f"{'real train vs test':<40}{'-':<12}{'-':>6}{result['real_train_vs_test']:>12.3f}")
    for w, r in result["runs"].items():
        print(f"{w:<40}{r['model']:<12}{r['epoch']:>6}{r['frechet']:>12.3f}")


if __name__ == "__main__":  # pragma: no cover
    from absl import app, flags

    flags.DEFINE_multi_string("workdir", [], "a GAN or VAE training workdir (repeatable)")
    flags.DEFINE_string("classifier_dir", None, "where the feature classifier is cached")
    flags.DEFINE_integer("num_samples", 10000, "generated images per run")
    flags.DEFINE_integer("classifier_epochs", CLASSIFIER_EPOCHS.default,
                         CLASSIFIER_EPOCHS.help)
    flags.DEFINE_string("sampler", SAMPLER.default, "how codes are drawn: prior | gmm | ... "
                        "(ae_jax/evaluation/samplers)")
    flags.mark_flags_as_required(["classifier_dir"])
    app.run(main)
