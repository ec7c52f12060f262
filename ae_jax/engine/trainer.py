"""`train_and_evaluate(config, workdir)`: the one trainer behind `train.py`, for every model
family (ae_jax/families).

Writes into the workdir: config.json, summary.txt, metrics.jsonl, tensorboard/, checkpoints/
and plots/. Rerunning the same command resumes from the newest checkpoint; a larger
num_epochs continues training; num_epochs=0 only builds the model and writes the summary.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import jax

from ae_jax import checkpoints
from ae_jax.data import load_dataset
from ae_jax.engine.epoch_loop import run_epochs
from ae_jax.engine.lock import workdir_lock
from ae_jax.engine.plots import write_plots
from ae_jax.engine.validate import validate_config, validate_data
from ae_jax.engine.workdir import (
    check_workdir_config,
    place_data,
    run_subsets,
    write_workdir_files,
)
from ae_jax.families import build_family
from ae_jax.loops import EpochRunner, choose_loop, make_evaluator
from ae_jax.metric_writers import MetricWriter
from ae_jax.optimizers import with_hyperparams_of
from ae_jax.parallel import initialize_distributed, make_mesh, replicate
from ae_jax.runs import apply_run_hparams, initial_state


def quiet_libraries() -> None:
    """Keep library noise out of the log: JAX's line per missing backend (TPU, GPU),
    Orbax's per-save INFO lines, and the tracebacks
    Orbax's writer threads log (and the "Event loop is closed" that TensorStore's callbacks
    print) when a save fails; the failure itself is reported once, in one line, by
    ae_jax/checkpoints.py. AE_JAX_TRACEBACK=1 keeps the tracebacks."""
    verbose = bool(os.environ.get("AE_JAX_TRACEBACK"))

    def keep(record: logging.LogRecord) -> bool:
        if "Unable to initialize backend" in str(record.msg):
            return False  # JAX probing for a TPU or GPU that this machine does not have
        if "orbax" not in record.pathname:
            return True
        if record.levelno >= logging.ERROR and not verbose:
            record.msg, record.args = str(record.getMessage()).split("\n")[0][:200], None
            record.exc_info = record.exc_text = None
        return record.levelno >= logging.WARNING

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)
    if not verbose:
        sys.unraisablehook = _quiet_closed_loops


def _quiet_closed_loops(unraisable) -> None:
    if isinstance(unraisable.exc_value, RuntimeError) and "Event loop is closed" in str(
            unraisable.exc_value):
        return
    sys.__unraisablehook__(unraisable)


def resumed(restored, fresh):
    """The restored state with what the command may change on resume taken from the fresh
    one: the optimizers' injected hyperparameters (learning rates) and the loss weights."""
    nets = {name: net.replace(opt_state=with_hyperparams_of(net.opt_state,
                                                            fresh.nets[name].opt_state))
            for name, net in restored.nets.items()}
    return restored.replace(nets=nets, loss_weights=fresh.loss_weights)


def _initial_state(config, family, run_hparams: dict, mesh, workdir: str):
    """(epoch, state): the newest checkpoint's, or a fresh one; replicated on the mesh."""
    state = initial_state(family, config.num_runs, config.seed, run_hparams.get("seed"))
    state = replicate(apply_run_hparams(state, run_hparams, family.optimizer_fields), mesh)
    mngr = checkpoints.manager(workdir, config.keep_checkpoints,
                               every=config.checkpoint_every_epochs)
    start_epoch, restored = checkpoints.restore_latest(mngr, state)
    return mngr, start_epoch, resumed(restored, state)


def _runner_and_evaluator(config, family, num_train: int, run_indices, mesh, loop: str):
    runs = config.num_runs > 1
    runner = EpochRunner(family.train_step, num_train, config.batch_size, loop,
                         config.steps_per_call, runs, run_indices, mesh, config.stream_batches,
                         config.scan_unroll)
    means = make_evaluator(family.eval_step, config.eval_batch_size, runs, mesh,
                           config.stream_batches)
    return runner, lambda state, data: family.finalize(means(state, data))


def train_and_evaluate(config, workdir: str, run_hparams: dict | None = None):
    """Train `config` in `workdir` (resuming if it holds checkpoints); returns the state
    (None for num_epochs=0).

    `run_hparams` gives the `num_runs` vmapped runs their own values, field -> one value per
    run: "seed", "optimizer.<hyperparameter>", "loss.terms.<term>" (`ae_jax.runs`); resumed
    runs keep them, as the command's config wins over the checkpoint for these scalars.

    Everything is validated before anything is written: the config's values, the stored
    config of the workdir, the data, the model and optimizer, the devices and the newest
    checkpoint (restored and verified). Then the workdir is locked for this process, and
    config.json / summary.txt are (re)written.
    """
    run_hparams = run_hparams or {}
    validate_config(config)
    initialize_distributed(config.distributed)
    config_dict = json.loads(config.to_json_best_effort())
    check_workdir_config(config_dict, workdir)
    dataset = load_dataset(config.data)
    validate_data(config, dataset)
    run_indices = run_subsets(config, dataset)  # None, or each run's own training rows
    num_train = len(dataset.train) if run_indices is None else run_indices.shape[-1]
    family = build_family(config, dataset.example_shape, num_train // config.batch_size)
    summary = f"data: {dataset.describe()}\n\n{family.summary()}"
    logging.info("model:\n%s", summary)
    mesh = make_mesh(config.num_devices) if config.num_epochs else None
    os.makedirs(workdir, exist_ok=True)
    with workdir_lock(workdir, active=jax.process_index() == 0):
        if config.num_epochs == 0:
            write_workdir_files(workdir, config_dict, summary)
            return None
        mngr, start_epoch, state = _initial_state(config, family, run_hparams, mesh, workdir)
        return _train(config, config_dict, summary, workdir, dataset, family, run_indices,
                      num_train, mesh, mngr, start_epoch, state)


def check_keep_best(metric: str, evaluate, state, test_data) -> None:
    """Refuse a `keep_best` that names no test metric of this model, from the shapes of the
    evaluation (jax.eval_shape: nothing is computed), before anything is written."""
    if not metric:
        return
    abstract = jax.ShapeDtypeStruct(test_data.shape, test_data.dtype)
    names = sorted(jax.eval_shape(evaluate, state, abstract))
    if metric not in names:
        raise ValueError(f"config field keep_best: {metric!r} is not a test metric of this "
                         f"model; use one of {', '.join(names)} (or \"\" for none)")


def _train(config, config_dict, summary, workdir, dataset, family, run_indices, num_train,
           mesh, mngr, start_epoch, state):
    """The epochs after `start_epoch`, then the final plots; returns the state."""
    loop = choose_loop(config.loop, family.prefers_steps_on_cpu())
    train_data, test_data, placement = place_data(dataset, config.data.placement, mesh,
                                                  family.uses_labels())
    runner, evaluate = _runner_and_evaluator(config, family, num_train, run_indices, mesh,
                                             loop)
    check_keep_best(config.keep_best, evaluate, state, test_data)
    write_workdir_files(workdir, config_dict, summary)
    writer = MetricWriter(workdir, config.tensorboard)
    writer.truncate(start_epoch)
    best = (checkpoints.best_manager(workdir, config.keep_best), config.keep_best
            ) if config.keep_best else None

    def after_epoch(state, epoch):
        if config.plot_every_epochs and epoch % config.plot_every_epochs == 0:
            write_plots(workdir, family, state, dataset, config, epoch, final=False)

    if start_epoch >= config.num_epochs:
        logging.info("the run is finished: epoch %d of %d is checkpointed in %s (a larger "
                     "--config.num_epochs trains on); rewriting the plots", start_epoch,
                     config.num_epochs, workdir)
    else:
        logging.info("training epochs %d..%d, %d steps of %d, loop %r, data on %s, "
                     "%d device(s)", start_epoch + 1, config.num_epochs,
                     num_train // config.batch_size, config.batch_size, loop, placement,
                     mesh.devices.size)
    state, last_epoch = run_epochs(
        state, runner, train_data, lambda s: evaluate(s, test_data), start_epoch=start_epoch,
        num_epochs=config.num_epochs, mngr=mngr, writer=writer, config_dict=config_dict,
        workdir=workdir,
        progress_bar=config.progress_bar, profile=config.profile, best=best,
        postfix=lambda train, test: progress_fields(family, train, test),
        after_epoch=after_epoch)
    write_plots(workdir, family, state, dataset, config, last_epoch, final=True)
    return state


def progress_fields(family, train: dict, test: dict) -> dict:
    """The progress bar's fields: the family's train metrics (means over runs) and the test
    loss where there is one."""
    fields = {k: f"{train[k]:.4f}" for k in family.progress_keys if k in train}
    if "loss" in test:
        fields["test_loss"] = f"{test['loss']:.4f}"
    return fields
