"""`train_and_evaluate(config, workdir)`: the whole run behind `train.py`.

Writes into the workdir: config.json, summary.txt, metrics.jsonl, tensorboard/, checkpoints/
and plots/. Rerunning the same command resumes from the newest checkpoint; a larger
num_epochs continues training; num_epochs=0 only builds the model and writes the summary.
"""

from __future__ import annotations

import json
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax import checkpoints, viz
from ae_jax.corruption import make_corruption
from ae_jax.data import Dataset, load_dataset, to_float
from ae_jax.evaluation.likelihood import make_active_units_fn
from ae_jax.loop import NonFiniteLossError, run_epochs
from ae_jax.metric_writers import MetricWriter, read_metrics
from ae_jax.models import build_model
from ae_jax.models.activations import get_activation
from ae_jax.models.summary import summarize
from ae_jax.objectives import make_objective
from ae_jax.optimizers import make_optimizer, with_hyperparams_of
from ae_jax.parallel import initialize_distributed, make_mesh, replicate
from ae_jax.runs import apply_run_hparams, initial_state, run_slice
from ae_jax.training import EpochRunner, choose_loop, make_eval_fn, make_train_step

__all__ = ["NonFiniteLossError", "train_and_evaluate", "place_data"]


def quiet_libraries() -> None:
    """Keep Orbax's per-save INFO lines out of the log (warnings and errors still show)."""

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "orbax" not in record.pathname

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)


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


def choose_placement(placement: str, nbytes: int, device=None, fraction: float = 0.5) -> str:
    """Resolve `data.placement`: "device" (the dataset lives on the device, batches are
    gathered inside the compiled epoch), "host" (streaming: host batches prefetched), or
    "auto": "host" when the data would take more than `fraction` of the device's memory.
    Backends that report no memory limit (CPU, whose device memory is the host's) get
    "device"."""
    if placement not in ("auto", "device", "host"):
        raise ValueError(f"unknown data.placement {placement!r}: use auto, device or host")
    if placement != "auto":
        return placement
    stats = (device or jax.local_devices()[0]).memory_stats() or {}
    limit = stats.get("bytes_limit")
    return "host" if limit and nbytes > fraction * limit else "device"


def place_data(dataset: Dataset, placement: str, mesh):
    """(train, test, placement): the splits flattened to (N, D) uint8, replicated on the mesh
    for "device", left as host numpy arrays for "host" (see `EpochRunner`)."""
    train = dataset.train.reshape(len(dataset.train), -1)  # (N, H, W, C) -> (N, D)
    test = dataset.test.reshape(len(dataset.test), -1)
    placement = choose_placement(placement, train.nbytes + test.nbytes)
    if placement == "device":
        train, test = replicate(train, mesh), replicate(test, mesh)
    return train, test, placement


def reconstruct(state, model, x: np.ndarray) -> np.ndarray:
    """x_hat in [0, 1] for host examples x (uint8 or float), using the code's mean."""
    logits, _ = state.apply_fn({"params": state.params}, to_float(jnp.asarray(x)),
                               rngs={"sample": jax.random.PRNGKey(0)})
    return np.asarray(get_activation(model.output_activation)(logits))


def write_plots(workdir: str, state, model, dataset: Dataset, n: int, corrupt=None) -> None:
    if jax.process_index() != 0:
        return
    state = jax.device_get(state)  # host copy: process 0 plots alone, even on a global mesh
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
    initialize_distributed(config.get("distributed"))
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
    mesh = make_mesh(config.get("num_devices", 1))
    state = initial_state(config, model, tx, dataset.example_shape, run_hparams.get("seed"))
    state = replicate(apply_run_hparams(state, run_hparams), mesh)
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
    train_data, test_data, placement = place_data(dataset, config.data.get("placement", "auto"),
                                                  mesh)
    shape = dataset.example_shape
    stream = config.get("stream_batches", 64)
    runner = EpochRunner(make_train_step(objective, shape, corrupt), num_train,
                         config.batch_size, loop, config.get("steps_per_call", 1), runs,
                         run_indices, mesh, stream)
    eval_batch = config.get("eval_batch_size", 1000)
    evaluate = make_eval_fn(objective, shape, eval_batch, corrupt, runs, mesh, stream)
    active_units = None  # VAEs: dims with Cov_x(E_q[z_d]) > 0.01 on the test set, per epoch
    if hasattr(model, "posterior"):
        active_units = make_active_units_fn(shape, eval_batch, runs)

    def test_metrics(state):
        metrics = dict(evaluate(state, test_data))
        if active_units is not None:
            metrics["active_units"] = active_units(state, test_data)
        return metrics

    plot_every = config.get("plot_every_epochs", 0)

    def after_epoch(state, epoch):
        if plot_every and epoch % plot_every == 0:
            write_plots(workdir, state, model, dataset, config.get("num_plot_images", 10),
                        corrupt)

    logging.info("training epochs %d..%d, %d steps of %d, loop %r, data on %s, %d device(s)",
                 start_epoch + 1, config.num_epochs, steps_per_epoch, config.batch_size, loop,
                 placement, mesh.devices.size)
    state, _ = run_epochs(
        state, runner, train_data, test_metrics, start_epoch=start_epoch,
        num_epochs=config.num_epochs, mngr=mngr, writer=writer, config_dict=config_dict,
        workdir=workdir, checkpoint_every=config.get("checkpoint_every_epochs", 1),
        progress_bar=config.get("progress_bar", True), profile=config.get("profile", False),
        postfix=lambda train, test: {"loss": f"{train['loss']:.4f}",  # the mean over runs
                                     "test_loss": f"{test['loss']:.4f}"},
        after_epoch=after_epoch)
    write_plots(workdir, state, model, dataset, config.get("num_plot_images", 10), corrupt)
    return state
