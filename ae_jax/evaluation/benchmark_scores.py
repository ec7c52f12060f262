"""The scores of one trained seed for the zoo benchmark (ae_jax/benchmark.py), in groups,
each cached in <model workdir>/eval/benchmark_run<r>.json with the settings that made it: a
rerun with equal settings recomputes nothing, a changed setting recomputes only the groups
that read it (GROUP_SETTINGS). Real images are the first `test_examples` test images.

  reconstruction   params, bce, mse, neg_elbo, neg_log_px_bound (ae_jax/benchmark.py)
  samples          frechet_prior, frechet_gmm: the Frechet distance
                       d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2})
                   between the features of the real images and of `samples` decoded
                   samples, their codes drawn from the model's prior (sampler "prior") and
                   from a 10-component Gaussian mixture fitted to the codes of the first
                   10,000 training images (sampler "gmm", Ghosh et al. 2020; needs encode);
                   precision, recall (k = 3; Kynkaanniemi et al. 2019) and density, coverage
                   (k = 5; Naeem et al. 2020) of the first n prior samples against the first
                   n real images, n = min(samples, test_examples), in the same features
  probe            test accuracy of a linear probe (L2 logistic regression on standardised
                   codes, ae_jax/evaluation/representation.py) fitted to the codes and
                   labels of the first `probe_examples` training images
  disentanglement  on a dataset with known factors (Dataset.extra["test_factors"], the
                   `shapes` source): mig, dci_d / dci_c / dci_i (disentanglement,
                   completeness, informativeness on the test codes), sap from the codes of
                   the first `factor_examples` training images (and the real test images
                   for DCI's and SAP's held-out half), and factor_vae_score (the FactorVAE
                   score's eval accuracy, ae_jax/evaluation/disentanglement.py)

Features are those of the project's own classifier (ae_jax/evaluation/frechet.py), trained
once per benchmark workdir and dataset in <workdir>/classifier_<dataset>, or of a
user-supplied `module:function` (function(dataset) -> an object with `.features(x)` of
(N, H, W, C) float32 images in [0, 1] -> (N, D)). These Frechet figures are NOT Inception
FIDs (no downloadable weights offline): comparable only within the same classifier.

Cheaper than disentanglement_lib by default, for a CPU: DCI fits a Lasso (alpha 0.01) per
factor (`dci_regressor="lasso"`; informativeness is then the test R^2) instead of
gradient-boosted trees ("gbt", their choice; informativeness the test accuracy): on the 480
training codes of a one-epoch VAE on 600 32x32 shapes, 0.07 s against 35 s for gbt on 2
shared CPU cores, 0.05 s for lasso on 10,000 codes. The FactorVAE score takes
`factor_vae_votes` (1,000) training votes and half as many eval votes (disentanglement_lib:
10,000 and 5,000) of 64 rendered images each, the global variances from 10 images per
training vote (at most 10,000, as theirs): 200 votes took 0.4 s at 32x32; rendering 64x64
sprites takes about 0.1 ms an image. MIG, DCI and SAP read the codes of the first
`factor_examples` (10,000, as theirs) training images: SAP's 50 one-feature linear SVMs
took 7 s there.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re

import jax
import numpy as np

from ae_jax.data import to_float
from ae_jax.evaluation.likelihood import importance_sampled_stats, model_functions
from ae_jax.files import write_json_atomic
from ae_jax.run import load

SCORING = dict(samples=1000, features="", classifier_epochs=5, probe_examples=10000,
               factor_examples=10000, factor_vae_votes=1000, dci_regressor="lasso")
K_PRECISION_RECALL, K_DENSITY_COVERAGE = 3, 5
SAMPLE_COLUMNS = ("frechet_prior", "frechet_gmm", "precision", "recall", "density",
                  "coverage")
FACTOR_COLUMNS = ("mig", "factor_vae_score", "dci_d", "dci_c", "dci_i", "sap")
COMMON_SETTINGS = ("epochs", "seeds", "seed", "overrides")
GROUP_SETTINGS = {
    "reconstruction": ("test_examples", "nll_samples"),
    "samples": ("test_examples", "samples", "features", "classifier_epochs"),
    "probe": ("test_examples", "probe_examples"),
    "disentanglement": ("test_examples", "factor_examples", "factor_vae_votes",
                        "dci_regressor"),
}
GROUP_CONSTANTS = {"samples": {"k_precision_recall": K_PRECISION_RECALL,
                               "k_density_coverage": K_DENSITY_COVERAGE,
                               "gmm": "10 components, 10000 training codes"}}
NUM_FIGURE_IMAGES = 8


# ---------------------------------------------------------------- reconstruction


def num_params(run) -> int:
    return sum(int(np.prod(x.shape)) for net in run.state.nets.values()
               for x in jax.tree_util.tree_leaves(net.params))


def reconstructed(run, x: np.ndarray) -> np.ndarray | None:
    """decode(encode(x)), or the family's reconstruction; None for a conditional model."""
    if {"encode", "decode"} <= run.abilities():
        return run.decode(run.encode(x).reshape((len(x), *run.code_shape())))
    if "reconstruct" in run.abilities():
        return run.reconstruct(x)
    return None  # a conditional model reconstructs only with labels


def reconstruction_errors(run, x: np.ndarray) -> dict:
    """Per-image BCE (nats) and squared error summed over pixels, as means over x."""
    x_hat = reconstructed(run, x)
    if x_hat is None:  # the conditional model's test metrics in metrics.jsonl have them
        return {"bce": math.nan, "mse": math.nan}
    target = to_float(x).reshape(len(x), -1)  # (N, H, W, C) -> (N, D)
    p = np.clip(np.asarray(x_hat, np.float64).reshape(len(x), -1), 1e-7, 1 - 1e-7)
    bce = -(target * np.log(p) + (1 - target) * np.log1p(-p)).sum(1)
    return {"bce": float(bce.mean()), "mse": float(((p - target) ** 2).sum(1).mean())}


def likelihood_bounds(run, x: np.ndarray, num_samples: int) -> dict:
    """-L_1 and -L_K (nats per image) where the model has a density, else NaN."""
    if "density" not in run.abilities():
        return {"neg_elbo": math.nan, "neg_log_px_bound": math.nan}
    fns, output_logvar = model_functions(run)
    stats = importance_sampled_stats(fns, run.state, x, run.eval_key, num_samples,
                                     run.config.loss.likelihood, output_logvar,
                                     ks=(1,))
    return {"neg_elbo": float(-stats["L_1"].mean()),
            "neg_log_px_bound": float(-stats[f"L_{num_samples}"].mean())}


def reconstruction_scores(run, settings: dict, features) -> dict:
    x = run.dataset.test[:settings["test_examples"]]
    return {"params": num_params(run), **reconstruction_errors(run, x),
            **likelihood_bounds(run, x, settings["nll_samples"])}


# ---------------------------------------------------------------- features and samples


def user_features(spec: str):
    """The function named by `--features=module:function`."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"--features={spec!r}: use module:function, e.g. "
                         "my_features:inception (function(dataset) -> .features(x))")
    fn = getattr(importlib.import_module(module), name, None)
    if fn is None:
        raise ValueError(f"--features={spec!r}: module {module!r} has no {name!r}")
    return fn


class Features:
    """The feature extractor of each dataset, made once per benchmark (module docstring):
    `features(dataset)` -> an object with `.features(x)`, or None (no labels to train the
    project's classifier on)."""

    def __init__(self, spec: str, workdir: str, classifier_epochs: int):
        self.spec, self.workdir, self.epochs = spec, workdir, classifier_epochs
        self._made: dict[str, object] = {}
        if spec:
            user_features(spec)  # a wrong name fails before any model trains

    def directory(self, dataset_name: str) -> str:
        return os.path.join(self.workdir, "classifier_" + re.sub(r"\W", "_", dataset_name))

    def describe(self) -> str:
        if self.spec:
            return f"the features of {self.spec}"
        return (f"the project's own classifier ({self.epochs} epochs, in "
                f"{os.path.join(self.workdir, 'classifier_<dataset>')})")

    def __call__(self, dataset):
        if dataset.name not in self._made:
            self._made[dataset.name] = self._make(dataset)
        return self._made[dataset.name]

    def _make(self, dataset):
        if self.spec:
            return user_features(self.spec)(dataset)
        if dataset.train_labels is None:
            return None
        from ae_jax.evaluation.frechet import load_or_train_classifier

        directory = self.directory(dataset.name)
        try:
            return load_or_train_classifier(dataset, directory, self.epochs, seed=0)
        except ValueError as err:
            raise ValueError(f"{err}; the benchmark's models must share one version of "
                             f"{dataset.name} (--dataset, --set data.*), or delete "
                             f"{directory}") from None


def sampled_images(run, sampler: str, n: int) -> np.ndarray | None:
    """n decoded images (N, H, W, C) float32, clipped to [0, 1], of codes from `sampler`
    (ae_jax/evaluation/samplers), keys from the run's eval key; None where the model lacks
    what the sampler needs."""
    from ae_jax.evaluation.samplers import fit_sampler

    need = {"decode"} | ({"encode"} if sampler == "gmm" else set())
    if not need <= run.abilities():
        return None
    fit_key, draw_key = jax.random.split(run.eval_key)
    _, codes = fit_sampler(run, {"sampler": sampler}, fit_key)
    return np.clip(np.asarray(run.decode(codes(draw_key, n)), np.float32), 0.0, 1.0)


def sample_scores(run, settings: dict, features) -> dict:
    """The `samples` group (module docstring)."""
    from ae_jax.evaluation.frechet import feature_statistics, frechet_distance
    from ae_jax.evaluation.sample_quality import density_coverage, precision_recall

    out = dict.fromkeys(SAMPLE_COLUMNS, math.nan)
    extractor = features(run.dataset) if "decode" in run.abilities() else None
    if extractor is None:
        return out
    real = np.asarray(extractor.features(to_float(run.dataset.test[:settings["test_examples"]])))
    reference = feature_statistics(real)  # (mean (D,), covariance (D, D))
    for sampler in ("prior", "gmm"):
        images = sampled_images(run, sampler, settings["samples"])
        if images is None:
            continue
        fake = np.asarray(extractor.features(images))  # (samples, D)
        out[f"frechet_{sampler}"] = frechet_distance(*feature_statistics(fake), *reference)
        if sampler == "prior":
            n = min(len(real), len(fake))
            out.update(precision_recall(real[:n], fake[:n], K_PRECISION_RECALL))
            out.update(density_coverage(real[:n], fake[:n], K_DENSITY_COVERAGE))
    return out


# ---------------------------------------------------------------- probe and factors


def probe_scores(run, settings: dict, features) -> dict:
    """The `probe` group: linear-probe test accuracy of the codes (NaN without labels or an
    encoder)."""
    from ae_jax.evaluation.representation import linear_probe_accuracy

    ds = run.dataset
    if ds.train_labels is None or ds.test_labels is None or "encode" not in run.abilities():
        return {"probe": math.nan}
    n, t = settings["probe_examples"], settings["test_examples"]
    fitted = linear_probe_accuracy(run.encode(ds.train[:n]), ds.train_labels[:n],
                                   run.encode(ds.test[:t]), ds.test_labels[:t])
    return {"probe": float(fitted["linear_probe"])}


def factor_vae_eval_accuracy(run, votes: int, seed: int) -> float:
    """The FactorVAE score's eval accuracy of a `shapes` run: factors -> shapes.render at
    the data's image size and supersampling -> encode."""
    from ae_jax.data import shapes
    from ae_jax.evaluation.disentanglement import factor_vae_score

    data = run.config.data

    def represent(factors):  # (B, 5) factor indices -> (B, L) codes
        return run.encode(shapes.render(factors, data.shapes_image_size,
                                        data.shapes_supersample))

    result = factor_vae_score(represent, shapes.FACTOR_SIZES, np.random.default_rng(seed),
                              num_train=votes, num_eval=max(1, votes // 2),
                              num_variance_estimate=min(10000, 10 * votes))
    return float(result["eval_accuracy"])


def disentanglement_scores(run, settings: dict, features) -> dict:
    """The `disentanglement` group (module docstring); NaN without factors or an encoder."""
    from ae_jax.evaluation.disentanglement import dci, mig, sap

    ds = run.dataset
    out = dict.fromkeys(FACTOR_COLUMNS, math.nan)
    if "test_factors" not in ds.extra or "encode" not in run.abilities():
        return out
    n, t = settings["factor_examples"], settings["test_examples"]
    train, train_factors = run.encode(ds.train[:n]), ds.extra["train_factors"][:n]
    test, test_factors = run.encode(ds.test[:t]), ds.extra["test_factors"][:t]
    scores = dci(train, train_factors, test, test_factors, settings["dci_regressor"])
    out.update(mig=mig(train, train_factors), dci_d=scores["disentanglement"],
               dci_c=scores["completeness"], dci_i=scores["informativeness_test"],
               sap=sap(train, train_factors, test, test_factors))
    if ds.name == "shapes":
        out["factor_vae_score"] = factor_vae_eval_accuracy(run, settings["factor_vae_votes"],
                                                           settings["seed"])
    return out


GROUPS = {"reconstruction": reconstruction_scores, "samples": sample_scores,
          "probe": probe_scores, "disentanglement": disentanglement_scores}


# ---------------------------------------------------------------- the cache


class Runs:
    """`runs(workdir, r)`: the run, loaded once and kept until another one is asked for."""

    def __init__(self):
        self._key, self._run = None, None

    def __call__(self, workdir: str, r: int):
        if self._key != (workdir, r):
            self._key, self._run = (workdir, r), load(workdir, r)
        return self._run


def group_settings(group: str, settings: dict) -> dict:
    """What group `group`'s scores depend on, as JSON gives it back (lists, not tuples)."""
    keys = COMMON_SETTINGS + GROUP_SETTINGS[group]
    wanted = {**{k: settings[k] for k in keys}, **GROUP_CONSTANTS.get(group, {})}
    return json.loads(json.dumps(wanted))


def read_cache(path: str) -> dict:
    """{group: {"settings", "scores"}} of a seed's JSON ({} if absent or an older format)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f).get("groups", {})


def score_run(workdir: str, r: int, settings: dict, features: Features, runs: Runs) -> dict:
    """Seed r's scores: each group's cached entry where its settings are equal, else
    computed and written at once (atomically, so a kill keeps the groups already done)."""
    path = os.path.join(workdir, "eval", f"benchmark_run{r}.json")
    settings = {**settings, "seed": r}
    cached = read_cache(path)
    scores = {}
    for group, fn in GROUPS.items():
        want = group_settings(group, settings)
        if group not in cached or cached[group]["settings"] != want:
            cached[group] = {"settings": want,
                             "scores": fn(runs(workdir, r), settings, features)}
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_json_atomic(path, {"groups": cached})
        scores.update(cached[group]["scores"])
    return scores


def figure_images(workdir: str, settings: dict, runs: Runs) -> dict[str, np.ndarray]:
    """Seed 0's images for the benchmark's figure: "originals" (the first 8 test images),
    "samples" (8 prior samples) and "reconstructions" of the originals, (8, H, W, C) float32
    in [0, 1], each only where the model can; cached in eval/benchmark_images.npz."""
    path = os.path.join(workdir, "eval", "benchmark_images.npz")
    want = json.dumps(group_settings("reconstruction", {**settings, "seed": 0}),
                      sort_keys=True)
    if os.path.exists(path):
        with np.load(path) as stored:
            if str(stored["settings"]) == want:
                return {k: stored[k] for k in stored.files if k != "settings"}
    run = runs(workdir, 0)
    x = run.dataset.test[:NUM_FIGURE_IMAGES]
    images = {"originals": to_float(x), "samples": sampled_images(run, "prior", len(x)),
              "reconstructions": reconstructed(run, x)}
    images = {k: np.clip(np.asarray(v, np.float32).reshape(x.shape), 0, 1)
              for k, v in images.items() if v is not None}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        np.savez(f, settings=np.array(want), **images)
    os.replace(path + ".tmp", path)
    return images
