"""The one engine: every family trains through `train_and_evaluate` and gets what the
engine offers (vmapped runs, exact resume, declared loop choice), and names fail clearly."""

import sys

import jax
import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import TASKS
from ae_jax.families import FAMILIES, build_family
from ae_jax.loops import choose_loop
from ae_jax.objectives import TERMS
from ae_jax.registry import UnknownNameError
from ae_jax.state import run_slice
from configs import dcgan, gan_mlp, vae_conv, vae_dense_2d
from tests.conftest import assert_kill_9_then_rerun_is_bitwise, digits_config

GAN_SMALL = {"model.latent_dim": 4, "model.generator_hidden_sizes": (16,),
             "model.discriminator_hidden_sizes": (16,), "data.name": "digits",
             "batch_size": 64, "eval_batch_size": 100, "num_epochs": 2,
             "progress_bar": False, "tensorboard": False, "num_plot_images": 0,
             "num_sample_images": 0}


def gan_config(**overrides):
    from ae_jax.sweeps import set_field

    config = gan_mlp.get_config()
    for key, value in {**GAN_SMALL, **overrides}.items():
        set_field(config, key, value)
    return config


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


@pytest.mark.slow
def test_vmapped_gan_sweep_equals_separate_runs(tmp_path):
    """Two seeds of an MLP GAN as one vmapped program == each seed trained alone."""
    both = train_and_evaluate(gan_config(num_runs=2), str(tmp_path / "both"))
    for r in range(2):
        alone = train_and_evaluate(gan_config(seed=r), str(tmp_path / f"seed{r}"))
        for a, b in zip(_leaves(run_slice(both, r)), _leaves(alone), strict=True):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    # the two runs really differ (their own seeds, not one run twice)
    g = both.nets["generator"].params
    first = jax.tree_util.tree_leaves(g)[0]
    assert not np.allclose(first[0], first[1])


def _gan_cmd(workdir, epochs):
    return [sys.executable, "train.py", "--config=configs/gan_mlp.py", f"--workdir={workdir}",
            f"--config.num_epochs={epochs}"] + [
        f"--config.{k}={v}" for k, v in GAN_SMALL.items() if k != "num_epochs"]


@pytest.mark.slow
def test_gan_kill_9_then_rerun_is_bitwise_identical(tmp_path):
    """Both networks, their batch statistics and both optimizer states."""
    assert_kill_9_then_rerun_is_bitwise(_gan_cmd, tmp_path, epochs=15, kill_after=3)


@pytest.mark.parametrize("module, conv_impl, loop", [
    (vae_conv, "lax", "steps"), (vae_conv, "auto", "scan"), (dcgan, "auto", "steps"),
    (vae_dense_2d, "auto", "scan")])
def test_xla_conv_gradients_pick_the_step_loop_on_cpu_from_the_declaration(
        module, conv_impl, loop):
    """No loop line in the config: the conv VAE's layers declare `xla_conv_gradients` with
    conv_impl="lax" only (the conv_ops gradients run well in a scan), the DCGAN always."""
    config = module.get_config()
    config.model.conv_impl = conv_impl
    assert config.loop == "auto"
    family = build_family(config, (28, 28, 1), 10)
    assert choose_loop(config.loop, family.prefers_steps_on_cpu(), backend="cpu") == loop
    assert choose_loop(config.loop, family.prefers_steps_on_cpu(), backend="gpu") == "scan"


@pytest.mark.parametrize("registry, name, known", [
    (FAMILIES, "autoencodr", "autoencoder"), (TERMS, "kll", "kl"),
    (TASKS, "anomaly_detection", "anomaly")])
def test_an_unknown_name_is_one_line_listing_the_known_ones(registry, name, known):
    with pytest.raises(UnknownNameError) as err:
        registry.get(name)
    message = str(err.value)
    assert "\n" not in message and name in message and known in message
    assert registry.field in message


def test_an_unknown_family_in_a_config_fails_before_anything_is_trained(tmp_path):
    config = digits_config(family="autoencodr")
    with pytest.raises(UnknownNameError, match="known: aae, autoencoder, factor_vae, gan, vae_gan"):
        train_and_evaluate(config, str(tmp_path))
    assert not (tmp_path / "checkpoints").exists()


def test_run_compiles_each_function_once(tmp_path):
    """ae_jax.load: encode / reconstruct / score on any number of examples compile once."""
    train_and_evaluate(digits_config(num_epochs=1), str(tmp_path))
    run = ae_jax.load(str(tmp_path))
    x = run.dataset.test
    for n in (3, 250, len(x)):  # a full batch, a partial one, several batches
        assert run.encode(x[:n]).shape == (n, 8)
        assert run.reconstruct(x[:n]).shape == (n, *run.dataset.example_shape)
        assert run.score(x[:n]).shape == (n,)
    for name in ("encode", "reconstruct", "score"):
        assert run.compiled(name, None)._cache_size() == 1, name
    np.testing.assert_allclose(run.encode(x[:5]), run.encode(x)[:5], rtol=1e-6)


def test_a_task_asked_of_a_model_without_the_ability_names_it(tmp_path):
    train_and_evaluate(digits_config(num_epochs=1), str(tmp_path))
    run = ae_jax.load(str(tmp_path))
    with pytest.raises(ValueError, match="needs a model that can 'posterior'") as err:
        run.posterior(run.dataset.test[:2])
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_a_gan_streams_host_batches_like_its_on_device_epoch(tmp_path):
    """Streaming (data.placement=host) was refused for GANs before the one engine."""
    device = train_and_evaluate(gan_config(**{"data.placement": "device"}),
                                str(tmp_path / "device"))
    host = train_and_evaluate(gan_config(**{"data.placement": "host", "stream_batches": 4}),
                              str(tmp_path / "host"))
    for a, b in zip(_leaves(device), _leaves(host), strict=True):
        assert np.array_equal(a, b)
