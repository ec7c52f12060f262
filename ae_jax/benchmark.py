"""The zoo benchmark: every zoo model trained with its seeds as one vmapped program, then
scored on the test split, in one command.

    python -m ae_jax.benchmark --models=all --epochs=20 --seeds=3 --workdir=runs/zoo
    python -m ae_jax.benchmark --models=disentanglement --dataset=shapes --workdir=runs/dis

A zoo model is a config file in --configs_dir (default configs/) with a module-level
`ZOO = dict(model=..., paper=...)`; --models names config files, "all", or a group of
MODEL_GROUPS ("disentanglement": vae, beta_vae, beta_tcvae, factor_vae, dip_vae_i).
--dataset sets data.name on every model (default: each config's own), --set any field.
Each model trains in <workdir>/<config name> (rerunning resumes a killed model from its
checkpoints and skips finished ones); each seed's scores are cached by group in
<workdir>/<config name>/eval/benchmark_run<r>.json with the settings that made them
(ae_jax/evaluation/benchmark_scores.py), so a rerun recomputes only what a changed setting
affects. Written: <workdir>/results.csv (one row per model and seed, every column),
results.md (mean +- sample standard deviation over the seeds, the columns that some model
has) and samples.png (the first 8 test images; per model 8 prior samples and the 8
reconstructions).

Columns, on the first --test_examples test images:
  params       trainable parameters of every network of one run
  bce, mse     reconstruction error per image: binary cross-entropy summed over the pixels
               (nats) and squared error summed over the pixels, of decode(encode(x)) (the
               code at evaluation time: a VAE's posterior mean; the family's reconstruction
               where it has no encoder of its own; "-" for a conditional model, whose
               test metrics in metrics.jsonl give its conditional reconstruction)
  neg_elbo     -L_1, the Monte Carlo negative ELBO with --nll_samples draws (models with a
               density: ae_jax/models/abilities.py DENSITY), nats per image
  neg_log_px_bound  -L_K with K = --nll_samples: an upper bound on -log p(x) in expectation
  frechet_prior, frechet_gmm  Frechet distance of --samples decoded samples (codes of the
               prior; of a Gaussian mixture on the training codes) to the test images, in
               the features of the project's own classifier (trained once per workdir and
               dataset in <workdir>/classifier_<dataset>) or of --features=module:function.
               NOT Inception FIDs (no downloadable weights offline): comparable only
               within the same classifier
  precision, recall (k = 3), density, coverage (k = 5)  of the prior samples against as
               many test images, in the same features
  probe        linear-probe accuracy of the codes (fitted on --probe_examples training codes)
  mig, factor_vae_score, dci_d, dci_c, dci_i, sap  disentanglement, on a dataset with known
               factors (shapes); DCI with --dci_regressor (default lasso, cheap), the
               FactorVAE score with --factor_vae_votes votes
  seconds      seconds of the compiled training epochs, all seeds together, summed from
               metrics.jsonl (start-up, evaluation and plots excluded)

ae_jax/evaluation/benchmark_scores.py defines each score. A kill at any moment loses at
most the group being scored: fault point `benchmark_model` (ae_jax/faults.py) is reached
after each model's results are written.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
import re
import sys

import numpy as np

from ae_jax import checkpoints, faults, viz
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation.benchmark_scores import (
    FACTOR_COLUMNS,
    K_DENSITY_COVERAGE,
    K_PRECISION_RECALL,
    SAMPLE_COLUMNS,
    SCORING,
    Features,
    Runs,
    figure_images,
    score_run,
)
from ae_jax.files import write_atomic
from ae_jax.metric_writers import read_metrics
from ae_jax.sweeps import set_field

COLUMNS = ("params", "bce", "mse", "neg_elbo", "neg_log_px_bound", *SAMPLE_COLUMNS, "probe",
           *FACTOR_COLUMNS, "seconds")
HEADERS = {"params": "params", "bce": "BCE", "mse": "MSE", "neg_elbo": "-ELBO",
           "neg_log_px_bound": "-L_K", "frechet_prior": "Frechet prior",
           "frechet_gmm": "Frechet GMM", "precision": "precision", "recall": "recall",
           "density": "density", "coverage": "coverage", "probe": "probe",
           "mig": "MIG", "factor_vae_score": "FactorVAE", "dci_d": "DCI-D", "dci_c": "DCI-C",
           "dci_i": "DCI-I", "sap": "SAP", "seconds": "train s"}
DIGITS = dict.fromkeys(("precision", "recall", "density", "coverage", "probe",
                        *FACTOR_COLUMNS), 3)  # decimals in results.md; other columns: 2
MODEL_GROUPS = {"disentanglement": ("vae", "beta_vae", "beta_tcvae", "factor_vae",
                                    "dip_vae_i")}


def zoo_configs(configs_dir: str) -> dict[str, object]:
    """{config name: module} of the config files in `configs_dir` that declare `ZOO`."""
    parent = os.path.dirname(os.path.abspath(configs_dir))
    if parent not in sys.path:
        sys.path.insert(0, parent)  # zoo configs import their base configs as `configs.x`
    found = {}
    for file in sorted(os.listdir(configs_dir)):
        if not file.endswith(".py") or file.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(
            f"{os.path.basename(configs_dir)}.{file[:-3]}", os.path.join(configs_dir, file))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "ZOO"):
            found[file[:-3]] = module
    return found


def select(zoo: dict, models: str) -> dict:
    """The zoo entries named in `models`: comma-separated config names or MODEL_GROUPS
    names, or "all"."""
    if models == "all":
        return zoo
    names = []
    for m in (m.strip() for m in models.split(",") if m.strip()):
        names += [n for n in MODEL_GROUPS.get(m, (m,)) if n not in names]
    unknown = [m for m in names if m not in zoo]
    if unknown:
        raise ValueError(f"--models: unknown {unknown}; the zoo has {', '.join(zoo)} "
                         f"(or a group: {', '.join(MODEL_GROUPS)}, or all)")
    return {m: zoo[m] for m in names}


def finished_epochs(workdir: str) -> int:
    """The epoch of the workdir's newest committed checkpoint (0 if none). Not the last epoch
    in metrics.jsonl: an epoch's lines are written before its checkpoint commits, so a kill
    during the last save leaves the lines of an epoch that a rerun must train again."""
    if not os.path.isdir(os.path.join(workdir, "checkpoints")):
        return 0
    return checkpoints.manager(workdir, read_only=True).latest_step() or 0


def training_seconds(workdir: str, epochs: int) -> float:
    """Seconds of the compiled training epochs 1..epochs (all seeds together), summed from
    metrics.jsonl: start-up, compilation outside the epoch, evaluation and plots excluded."""
    return float(sum(r["seconds"] for r in read_metrics(workdir)
                     if r["split"] == "train" and r["epoch"] <= epochs))


def train_model(module, workdir: str, epochs: int, seeds: int, overrides: dict) -> float:
    """Train (or resume) the model's seeds as one vmapped program; its training seconds."""
    config = module.get_config()
    for key, value in {"num_epochs": epochs, "num_runs": seeds, "progress_bar": False,
                       **overrides}.items():
        set_field(config, key, value)
    if finished_epochs(workdir) < epochs:
        train_and_evaluate(config, workdir)
    return training_seconds(workdir, epochs)


def mean_std(values, digits: int = 2) -> str:
    v = np.asarray(values, np.float64)
    if np.all(np.isnan(v)):
        return "-"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} +- {v.std(ddof=1):.{digits}f}"


def short_citation(paper: str) -> str:
    """"Authors year" of "Authors year, Title": the text up to the first year."""
    match = re.match(r"^(.*?\b(?:19|20)\d\d)\b", paper)
    return match.group(1) if match else paper


def shown_columns(rows: list[dict]) -> list[str]:
    """The score columns of results.md: those with a value for some row (params and
    seconds always)."""
    return [c for c in COLUMNS if c in ("params", "seconds")
            or any(not math.isnan(r[c]) for r in rows)]


def protocol_note(settings: dict, columns: list[str], features: Features) -> str:
    """The line under the table: how every shown column was measured."""
    parts = [f"{settings['epochs']} epochs, {settings['seeds']} seeds (mean +- sample std), "
             f"first {settings['test_examples']} test images; -L_K with K = "
             f"{settings['nll_samples']}: an upper bound on -log p(x); nats per image."]
    if set(SAMPLE_COLUMNS) & set(columns):
        parts.append(f"Frechet: {settings['samples']} samples (codes of the prior; GMM: 10 "
                     "components on 10,000 training codes) vs the test images in "
                     f"{features.describe()}; NOT Inception FIDs, comparable only within the "
                     f"same classifier. Precision / recall k = {K_PRECISION_RECALL}, density / "
                     f"coverage k = {K_DENSITY_COVERAGE}, prior samples vs as many test "
                     "images, same features.")
    if "probe" in columns:
        parts.append(f"Probe: logistic regression on the codes of the first "
                     f"{settings['probe_examples']} training images, test accuracy.")
    if set(FACTOR_COLUMNS) & set(columns):
        parts.append(f"Disentanglement: codes of the first {settings['factor_examples']} "
                     f"training images (MIG, DCI, SAP; DCI with {settings['dci_regressor']}, "
                     f"informativeness on the test images); FactorVAE score: eval accuracy, "
                     f"{settings['factor_vae_votes']} training votes of 64 images.")
    return " ".join(parts)


def markdown(rows: list[dict], zoo: dict, settings: dict, features: Features) -> str:
    """results.md: one line per model, mean +- sample std over its seeds, of the columns
    with a value for some model."""
    columns = shown_columns(rows)
    scores = [c for c in columns if c not in ("params", "seconds")]
    head = ("| model | paper | config | params | "
            + "".join(f"{HEADERS[c]} | " for c in scores) + "train s |\n"
            + "|---|---|---|" + "---:|" * (len(scores) + 2) + "\n")
    lines = []
    for name, module in zoo.items():
        mine = [r for r in rows if r["config"] == name]
        if not mine:
            continue
        cells = [mean_std([r[c] for r in mine], DIGITS.get(c, 2)) for c in scores]
        paper = short_citation(module.ZOO["paper"])
        lines.append(f"| {module.ZOO['model']} | {paper} | `{name}` | "
                     f"{mine[0]['params']:,} | " + "".join(f"{c} | " for c in cells) +
                     f"{mine[0]['seconds']:.0f} |")
    return head + "\n".join(lines) + "\n\n" + protocol_note(settings, columns, features) + "\n"


def benchmark_settings(epochs: int, seeds: int, test_examples: int, nll_samples: int,
                       overrides: dict, scoring: dict) -> dict:
    """Every setting the scores depend on; unknown scoring keys are refused."""
    unknown = sorted(set(scoring) - set(SCORING))
    if unknown:
        raise ValueError(f"run_benchmark: unknown scoring settings {unknown}; known: "
                         f"{', '.join(SCORING)}")
    return {"epochs": epochs, "seeds": seeds, "test_examples": test_examples,
            "nll_samples": nll_samples, **SCORING, **scoring, "overrides": overrides}


def run_benchmark(configs_dir: str, models: str, epochs: int, seeds: int, workdir: str,
                  test_examples: int = 1000, nll_samples: int = 1000,
                  overrides: dict | None = None, dataset: str = "", **scoring) -> list[dict]:
    """Train and score every selected model (module docstring); `scoring` sets the keys of
    benchmark_scores.SCORING (samples, features, ...). Returns the rows of results.csv."""
    zoo = select(zoo_configs(configs_dir), models)
    overrides = {**(overrides or {}), **({"data.name": dataset} if dataset else {})}
    settings = benchmark_settings(epochs, seeds, test_examples, nll_samples, overrides,
                                  scoring)
    features = Features(settings["features"], workdir, settings["classifier_epochs"])
    runs, rows, figure = Runs(), [], {}
    for name, module in zoo.items():
        model_dir = os.path.join(workdir, name)
        seconds = train_model(module, model_dir, epochs, seeds, dict(overrides))
        for r in range(seeds):
            rows.append({"config": name, "model": module.ZOO["model"], "seed": r,
                         **score_run(model_dir, r, settings, features, runs),
                         "seconds": seconds})
        figure[module.ZOO["model"]] = figure_images(model_dir, settings, runs)
        write_results(workdir, rows, zoo, settings, features)
        faults.reached("benchmark_model")
    save_figure(os.path.join(workdir, "samples.png"), figure)
    return rows


def write_results(workdir: str, rows: list[dict], zoo: dict, settings: dict,
                  features: Features) -> None:
    """results.csv (every column) and results.md, each replaced atomically."""
    os.makedirs(workdir, exist_ok=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["config", "model", "seed", *COLUMNS],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(os.path.join(workdir, "results.csv"), text.getvalue())
    write_atomic(os.path.join(workdir, "results.md"), markdown(rows, zoo, settings, features))


def save_figure(path: str, images: dict[str, dict[str, np.ndarray]]) -> None:
    """samples.png: a row of test images (again wherever the next model's differ), then per
    model a row of prior samples and one of reconstructions, labelled by the model's name."""
    rows, shown = {}, None
    for name, mine in images.items():
        if shown is None or not np.array_equal(mine["originals"], shown):
            shown = mine["originals"]
            rows[f"test images ({name})" if rows else "test images"] = shown
        for kind in ("samples", "reconstructions"):
            if kind in mine:
                rows[f"{name}: {kind}"] = mine[kind]
    viz.save(viz.reconstructions(rows), path)


def parse_setting(text: str) -> tuple[str, object]:
    """"field=value" -> (field, value): JSON where it parses (numbers, true, lists), else the
    string itself."""
    if "=" not in text:
        raise ValueError(f"--set {text!r}: use field=value, e.g. data.train_limit=10000")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def main(argv):  # pragma: no cover - the command line
    from absl import flags

    from ae_jax.engine import quiet_libraries

    del argv
    f = flags.FLAGS
    quiet_libraries()
    overrides = dict(parse_setting(o) for o in f.set)
    run_benchmark(f.configs_dir, f.models, f.epochs, f.seeds, f.workdir, f.test_examples,
                  f.nll_samples, overrides, f.dataset,
                  **{k: getattr(f, k) for k in SCORING})
    with open(os.path.join(f.workdir, "results.md")) as fh:
        print(fh.read())


def define_flags() -> None:  # pragma: no cover - the command line
    from absl import flags

    flags.DEFINE_string("models", "all", "comma-separated zoo config names, a group ("
                        f"{', '.join(MODEL_GROUPS)}), or all")
    flags.DEFINE_integer("epochs", 20, "training epochs of every model")
    flags.DEFINE_integer("seeds", 3, "seeds per model, trained together under jax.vmap")
    flags.DEFINE_string("workdir", None, "where models, scores and results go")
    flags.DEFINE_string("configs_dir", "configs", "the folder of the zoo's config files")
    flags.DEFINE_string("dataset", "", "data.name of every model (default: each config's)")
    flags.DEFINE_integer("test_examples", 1000, "test images scored per seed")
    flags.DEFINE_integer("nll_samples", 1000, "importance samples K of the bound -L_K")
    flags.DEFINE_integer("samples", SCORING["samples"], "decoded samples per sampler scored")
    flags.DEFINE_string("features", SCORING["features"], "module:function, function(dataset)"
                        " -> object with .features(x); default: the project's classifier")
    flags.DEFINE_integer("classifier_epochs", SCORING["classifier_epochs"],
                         "training epochs of the project's feature classifier")
    flags.DEFINE_integer("probe_examples", SCORING["probe_examples"],
                         "training codes the linear probe is fitted on")
    flags.DEFINE_integer("factor_examples", SCORING["factor_examples"],
                         "training codes of MIG, DCI and SAP (datasets with factors)")
    flags.DEFINE_integer("factor_vae_votes", SCORING["factor_vae_votes"],
                         "training votes of the FactorVAE score (eval: half as many)")
    flags.DEFINE_enum("dci_regressor", SCORING["dci_regressor"], ["lasso", "gbt"],
                      "DCI's per-factor model")
    flags.DEFINE_multi_string("set", [], "field=value set on every model's config, e.g. "
                              "data.train_limit=10000")
    flags.mark_flags_as_required(["workdir"])


if __name__ == "__main__":  # pragma: no cover
    from absl import app

    from ae_jax.errors import reports_user_errors

    define_flags()
    app.run(reports_user_errors(main))
