"""`train_and_evaluate(config, workdir)`: the whole run behind `train.py`.

Writes into the workdir: config.json, summary.txt, metrics.jsonl, tensorboard/, checkpoints/
and plots/. Rerunning the same command resumes from the newest checkpoint; a larger
num_epochs continues training; num_epochs=0 only builds the model and writes the summary.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ae_jax import checkpoints, viz
from ae_jax.corruption import make_corruption
from ae_jax.data import Dataset, load_dataset, to_float
from ae_jax.evaluation.likelihood import make_active_units_fn
from ae_jax.metric_writers import MetricWriter, read_metrics
from ae_jax.models import build_model
from ae_jax.models.activations import get_activation
from ae_jax.models.summary import summarize
from ae_jax.objectives import make_objective
from ae_jax.optimizers import make_optimizer, with_hyperparams_of
from ae_jax.runs import apply_run_hparams, initial_state, run_slice
from ae_jax.training import EpochRunner, choose_loop, make_eval_fn, make_train_step


def quiet_libraries() -> None:
    """Keep Orbax's per-save INFO lines out of the log (warnings and errors still show)."""

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "orbax" not in record.pathname

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch, split and terms."""


# Config fields that fix the shapes of the parameters: a workdir trained with other values
# cannot be resumed by this config.
SHAPE_FIELDS = ("model", "data.name", "data.image_size", "data.grayscale", "loss.terms")


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def check_workdir_config(config_dict: dict, workdir: str) -> None:
    """Refuse a workdir whose stored config describes a different model."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        return
    with open(path) as f:
        stored = json.load(f)
    diffs = [
        f"{field}: {_get(stored, field)!r} -> {_get(config_dict, field)!r}"
        for field in SHAPE_FIELDS
        if json.dumps(_get(stored, field), sort_keys=True)
        != json.dumps(_get(config_dict, field), sort_keys=True)
    ]
    if diffs and os.path.isdir(os.path.join(workdir, "checkpoints")):
        raise ValueError(
            f"workdir {workdir} holds a run of a different model ({'; '.join(diffs)}); "
            "use another --workdir, or delete this one to start afresh"
        )


def _check_finite(metrics: dict, epoch: int, split: str, workdir: str, mngr):
    bad = [k for k, v in metrics.items() if not k.endswith("_per_run") and not math.isfinite(v)]
    if bad:
        last = mngr.latest_step()
        kept = (f"the last good checkpoint (epoch {last}) is kept in {workdir}/checkpoints"
                if last else "no checkpoint was written")
        raise NonFiniteLossError(
            f"non-finite {split} loss at epoch {epoch}: "
            + ", ".join(f"{k}={metrics[k]}" for k in bad)
            + f"; training stopped and {kept}. Try a smaller learning rate or loss weight."
        )


def _to_host(metrics) -> dict:
    """Floats; for several runs, the mean over runs plus `<name>_per_run` lists."""
    out = {}
    for k, v in jax.device_get(metrics).items():
        v = np.asarray(v)
        out[k] = float(v.mean())
        if v.ndim:
            out[f"{k}_per_run"] = [float(x) for x in v]
    return out


def one_class_indices(labels: np.ndarray, classes) -> np.ndarray:
    """(R, N_r) training rows for one-class runs: row r lists examples of class classes[r].

    Every run keeps the first N_r = min_r |class r| examples of its class (all 6,000 on
    Fashion-MNIST), so the R runs have equal epochs and train as one vmapped program.
    """
    members = [np.flatnonzero(labels == c) for c in classes]
    empty = [c for c, m in zip(classes, members, strict=True) if len(m) == 0]
    if empty:
        raise ValueError(f"data.one_class: no training examples of class(es) {empty}")
    n = min(len(m) for m in members)
    return np.stack([m[:n] for m in members]).astype(np.int32)  # (R, N_r)


def run_subsets(config, dataset: Dataset) -> np.ndarray | None:
    """`config.data.one_class` (one class per run) as the EpochRunner's run_indices: (R, N_r)
    for num_runs = R > 1, (N_r,) for one run; None when unset (every run sees all data)."""
    classes = tuple(config.data.get("one_class", ()) or ())
    if not classes:
        return None
    num_runs = config.get("num_runs", 1)
    if len(classes) != num_runs:
        raise ValueError(f"data.one_class names {len(classes)} classes for num_runs = "
                         f"{num_runs}; give one class per run")
    if dataset.train_labels is None:
        raise ValueError(f"data.one_class needs labels, and {dataset.name} has none")
    table = one_class_indices(dataset.train_labels, classes)
    return table if num_runs > 1 else table[0]


def reconstruct(state, model, x: np.ndarray) -> np.ndarray:
    """x_hat in [0, 1] for host examples x (uint8 or float), using the code's mean."""
    logits, _ = state.apply_fn({"params": state.params}, to_float(jnp.asarray(x)),
                               rngs={"sample": jax.random.PRNGKey(0)})
    return np.asarray(get_activation(model.output_activation)(logits))


def write_plots(workdir: str, state, model, dataset: Dataset, n: int, corrupt=None) -> None:
    if jax.process_index() != 0:
        return
    if np.ndim(state.step):  # several runs: plot the first
        state = run_slice(state, 0)
    plots = os.path.join(workdir, "plots")
    records = read_metrics(workdir)
    if records:
        viz.save(viz.loss_curves(records), os.path.join(plots, "loss_curves.png"))
    if n <= 0:  # num_plot_images=0: loss curves only
        return
    x = dataset.test[:n]
    rows = {"input": to_float(x)}
    if corrupt is not None:
        noisy = np.asarray(corrupt(jax.random.PRNGKey(0), to_float(jnp.asarray(x))))
        rows["corrupted input"] = noisy
        logits, _ = state.apply_fn({"params": state.params}, jnp.asarray(noisy),
                                   rngs={"sample": jax.random.PRNGKey(0)})
        rows["reconstruction"] = np.asarray(get_activation(model.output_activation)(logits))
    else:
        rows["reconstruction"] = reconstruct(state, model, x)
    viz.save(viz.reconstructions(rows, f"{dataset.name}: test examples"),
             os.path.join(plots, "reconstructions.png"))


def train_and_evaluate(config, workdir: str, run_hparams: dict | None = None):
    """Train `config` in `workdir` (resuming if it holds checkpoints); returns the state.

    `run_hparams` gives the `num_runs` vmapped runs their own values, field -> one value per
    run: "seed", "optimizer.<hyperparameter>", "loss.terms.<term>" (`ae_jax.runs`); resumed
    runs keep them, as the command's config wins over the checkpoint for these scalars.
    """
    run_hparams = run_hparams or {}
    os.makedirs(workdir, exist_ok=True)
    config_dict = json.loads(config.to_json_best_effort())
    check_workdir_config(config_dict, workdir)

    dataset = load_dataset(config.data)
    model = build_model(config.model, dataset.example_shape)
    run_indices = run_subsets(config, dataset)  # None, or each run's own training rows
    num_train = len(dataset.train) if run_indices is None else run_indices.shape[-1]
    steps_per_epoch = num_train // config.batch_size
    objective = make_objective(config.loss, model.output_activation, steps_per_epoch)
    corrupt = make_corruption(config.corruption)
    summary, counts = summarize(model, dataset.example_shape)
    if jax.process_index() == 0:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            json.dump(config_dict, f, indent=2, sort_keys=True)
        with open(os.path.join(workdir, "summary.txt"), "w") as f:
            f.write(f"data: {dataset.describe()}\n\n{summary}")
    logging.info("model:\n%s", summary)
    if config.num_epochs == 0:
        return None

    tx = make_optimizer(config.optimizer, steps_per_epoch, config.num_epochs)
    state = initial_state(config, model, tx, dataset.example_shape, run_hparams.get("seed"))
    state = apply_run_hparams(state, run_hparams)
    runs = config.get("num_runs", 1) > 1
    mngr = checkpoints.manager(workdir, config.get("keep_checkpoints", 3))
    start_epoch, restored = checkpoints.restore_latest(mngr, state)
    # The command's config wins over the checkpoint for the scalars it may change on resume.
    state = restored.replace(
        opt_state=with_hyperparams_of(restored.opt_state, state.opt_state),
        loss_weights=state.loss_weights,
    )
    writer = MetricWriter(workdir, config.get("tensorboard", True))
    writer.truncate(start_epoch)

    loop = choose_loop(config.get("loop", "auto"), config.model.name)
    shape = dataset.example_shape
    runner = EpochRunner(make_train_step(objective, shape, corrupt), num_train,
                         config.batch_size, loop, config.get("steps_per_call", 1), runs,
                         run_indices)
    evaluate = make_eval_fn(objective, shape, config.get("eval_batch_size", 1000), corrupt,
                            runs)
    active_units = None  # VAEs: dims with Cov_x(E_q[z_d]) > 0.01 on the test set, per epoch
    if hasattr(model, "posterior"):
        active_units = make_active_units_fn(shape, config.get("eval_batch_size", 1000), runs)
    train_data = jax.device_put(dataset.train.reshape(len(dataset.train), -1))  # (N, D)
    test_data = jax.device_put(dataset.test.reshape(len(dataset.test), -1))
    logging.info("training epochs %d..%d, %d steps of %d, loop %r",
                 start_epoch + 1, config.num_epochs, steps_per_epoch, config.batch_size, loop)

    every = config.get("checkpoint_every_epochs", 1)
    plot_every = config.get("plot_every_epochs", 0)
    bar = tqdm(range(start_epoch + 1, config.num_epochs + 1), initial=start_epoch,
               total=config.num_epochs, desc="epochs",
               disable=not config.get("progress_bar", True) or jax.process_index() != 0)
    try:
        for epoch in bar:
            t0 = time.perf_counter()
            state, train_metrics = runner(state, train_data, epoch)
            train_metrics = _to_host(train_metrics)
            seconds = time.perf_counter() - t0
            _check_finite(train_metrics, epoch, "train", workdir, mngr)
            test_metrics = _to_host(evaluate(state, test_data))
            if active_units is not None:
                test_metrics.update(_to_host({"active_units": active_units(state, test_data)}))
            _check_finite(test_metrics, epoch, "test", workdir, mngr)
            if epoch % every == 0 or epoch == config.num_epochs:
                checkpoints.save(mngr, epoch, state, config_dict)
            writer.write(epoch, "train", {**train_metrics, "seconds": seconds})
            writer.write(epoch, "test", test_metrics)
            bar.set_postfix(loss=f"{train_metrics['loss']:.4f}",  # the mean over runs
                            test_loss=f"{test_metrics['loss']:.4f}")
            if plot_every and epoch % plot_every == 0:
                write_plots(workdir, state, model, dataset, config.get("num_plot_images", 10),
                            corrupt)
    finally:
        mngr.wait_until_finished()
        writer.close()
    write_plots(workdir, state, model, dataset, config.get("num_plot_images", 10), corrupt)
    return state
