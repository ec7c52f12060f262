"""`train_gan(config, workdir)`: GANs and the adversarial autoencoder under the workdir
contract of `ae_jax.experiment.train_and_evaluate`.

Writes config.json, summary.txt (the generator's and the discriminator's tables),
metrics.jsonl (per epoch: train means of d_loss, g_loss, d_real = D(x), d_fake = D(G(z)),
d_fake_after; test numbers, see `ae_jax.gan.step.make_gan_eval_fn`), TensorBoard
events, checkpoints/ (Orbax, both networks and both optimizer states in one GANState) and
plots/ (a grid of samples from the same fixed codes after every `gan.sample_every_epochs`
epochs, `samples_epoch_<epoch>.png`; the last one again as `samples.png`; loss and
discriminator curves). Rerunning resumes from the newest checkpoint, bit for bit; a
non-finite loss stops the run and keeps the last good checkpoint.
"""

from __future__ import annotations

import json
import logging
import os

import jax
import numpy as np

from ae_jax import checkpoints, rng, viz
from ae_jax.data import load_dataset
from ae_jax.experiment import check_workdir_config, place_data
from ae_jax.gan.models import standard_normal_codes
from ae_jax.gan.state import initial_gan_state
from ae_jax.gan.step import make_adversarial
from ae_jax.loop import run_epochs
from ae_jax.metric_writers import MetricWriter, read_metrics
from ae_jax.models.summary import summarize
from ae_jax.optimizers import with_hyperparams_of
from ae_jax.parallel import initialize_distributed, make_mesh, replicate
from ae_jax.training import EpochRunner, choose_loop


def fixed_codes(state, n: int, latent_dim: int) -> jax.Array:
    """The run's fixed evaluation codes (n, K): the "eval" stream of its root key, so every
    epoch (and a resumed run) samples the same z."""
    return standard_normal_codes(rng.stream(state.key, "eval"), n, latent_dim)


def sample_grid_figure(images: np.ndarray, title: str):
    """A square-ish grid of (N, H, W, C) images in [0, 1] as one figure."""
    import matplotlib.pyplot as plt

    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = viz.image_grid(np.asarray(images, np.float32), rows, cols)
    fig, ax = plt.subplots(figsize=(0.5 * cols + 0.4, 0.5 * rows + 0.7))
    if grid.shape[-1] == 1:
        ax.imshow(grid[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.clip(grid, 0, 1), interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _summary(config, dataset, gen, disc, g_shape, d_shape) -> str:
    g_text, _ = summarize(gen, g_shape)
    d_text, _ = summarize(disc, d_shape)
    role = "autoencoder (encoder: generator of codes)" if config.model.name == "aae" else \
        "generator"
    return (f"data: {dataset.describe()}\n\n{role}\n{g_text}\n"
            f"discriminator\n{d_text}")


def _resume_hyperparams(restored, fresh):
    """The command's learning rates win over the checkpoint's, for both networks."""
    def net(r, f):
        return r.replace(opt_state=with_hyperparams_of(r.opt_state, f.opt_state))

    return restored.replace(generator=net(restored.generator, fresh.generator),
                            discriminator=net(restored.discriminator, fresh.discriminator))


def write_gan_plots(workdir: str, images: np.ndarray, epoch: int, dataset_name: str,
                    final: bool) -> None:
    if jax.process_index() != 0:
        return
    plots = os.path.join(workdir, "plots")
    title = f"{dataset_name}: samples from fixed z, epoch {epoch}"
    viz.save(sample_grid_figure(images, title),
             os.path.join(plots, f"samples_epoch_{epoch:03d}.png"))
    if final:
        viz.save(sample_grid_figure(images, title), os.path.join(plots, "samples.png"))
        records = read_metrics(workdir)
        if records:
            keys = ("d_loss", "g_loss", "loss")
            viz.save(viz.loss_curves(records, keys), os.path.join(plots, "loss_curves.png"))
            viz.save(viz.loss_curves(records, ("d_real", "d_fake")),
                     os.path.join(plots, "discriminator.png"))


def train_gan(config, workdir: str):
    """Train the GAN-family `config` in `workdir` (resuming if it holds checkpoints); returns
    the GANState (None for num_epochs=0, which only writes config.json and summary.txt)."""
    if config.get("num_runs", 1) > 1:
        raise ValueError("num_runs > 1 is not supported for GANs; train one seed per workdir")
    initialize_distributed(config.get("distributed"))
    os.makedirs(workdir, exist_ok=True)
    config_dict = json.loads(config.to_json_best_effort())
    check_workdir_config(config_dict, workdir)

    dataset = load_dataset(config.data)
    shape = dataset.example_shape
    steps_per_epoch = len(dataset.train) // config.batch_size
    state, gen, disc, g_shape, d_shape = initial_gan_state(config, shape, steps_per_epoch)
    summary = _summary(config, dataset, gen, disc, g_shape, d_shape)
    if jax.process_index() == 0:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            json.dump(config_dict, f, indent=2, sort_keys=True)
        with open(os.path.join(workdir, "summary.txt"), "w") as f:
            f.write(summary)
    logging.info("model:\n%s", summary)
    if config.num_epochs == 0:
        return None

    mesh = make_mesh(config.get("num_devices", 1))
    state = replicate(state, mesh)
    mngr = checkpoints.manager(workdir, config.get("keep_checkpoints", 3))
    start_epoch, restored = checkpoints.restore_latest(mngr, state)
    state = _resume_hyperparams(restored, state)
    writer = MetricWriter(workdir, config.get("tensorboard", True))
    writer.truncate(start_epoch)

    adv = make_adversarial(config, shape)
    family = "conv" if config.model.name == "dcgan" else "mlp"
    loop = choose_loop(config.get("loop", "auto"), family)
    train_data, test_data, placement = place_data(dataset, config.data.get("placement", "auto"),
                                                  mesh)
    if placement == "host":
        raise ValueError("data.placement='host' (streaming) is not supported for GANs yet")
    runner = EpochRunner(adv.train_step, len(dataset.train), config.batch_size, loop,
                         config.get("steps_per_call", 1), mesh=mesh)
    z_eval = fixed_codes(state, config.gan.get("num_eval_samples", 1000),
                         config.model.latent_dim)  # (M, K)
    z_grid = z_eval[:config.gan.get("num_sample_images", 64)]
    logging.info("training epochs %d..%d, %d steps of %d, loop %r, %d device(s)",
                 start_epoch + 1, config.num_epochs, steps_per_epoch, config.batch_size, loop,
                 mesh.devices.size)

    generate = jax.jit(adv.generate)
    sample_every = config.gan.get("sample_every_epochs", 1)

    def after_epoch(state, epoch):
        if sample_every and epoch % sample_every == 0 and epoch != config.num_epochs:
            write_gan_plots(workdir, np.asarray(generate(state, z_grid)), epoch,
                            dataset.name, final=False)

    state, last_epoch = run_epochs(
        state, runner, train_data, lambda state: adv.evaluate(state, test_data, z_eval),
        start_epoch=start_epoch, num_epochs=config.num_epochs, mngr=mngr, writer=writer,
        config_dict=config_dict, workdir=workdir,
        checkpoint_every=config.get("checkpoint_every_epochs", 1),
        progress_bar=config.get("progress_bar", True), profile=config.get("profile", False),
        postfix=lambda train, test: {k: f"{train[k]:.3f}"
                                     for k in ("d_loss", "g_loss", "d_real", "d_fake")},
        after_epoch=after_epoch)
    write_gan_plots(workdir, np.asarray(generate(state, z_grid)), last_epoch, dataset.name,
                    final=True)
    return state
