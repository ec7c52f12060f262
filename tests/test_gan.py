"""GANs and the adversarial autoencoder (families "gan" and "aae", ae_jax/families/
adversarial.py): the seed's costs by hand, one step moves both networks, the workdir
contract and exact resume through the one trainer."""

import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.families import build_family
from ae_jax.objectives.adversarial import discriminator_loss, generator_loss, probability
from configs import aae, dcgan, gan_mlp
from tests.conftest import ROOT


def test_discriminator_loss_by_hand():
    # D = sigmoid(logit): sigmoid(2) = 0.8807970780, sigmoid(0) = 0.5, sigmoid(-1) = 0.2689414214
    # C_D = -1/2 [ln 0.8807970780 + ln 0.5 + ln(1 - 0.2689414214) + ln(1 - 0.5)]
    #     = 1/2 [0.1269280110 + 0.6931471806 + 0.3132616875 + 0.6931471806] = 0.9132420299
    real, fake = jnp.array([2.0, 0.0]), jnp.array([-1.0, 0.0])
    assert float(discriminator_loss(real, fake)) == pytest.approx(0.9132420299, rel=1e-6)
    assert float(probability(real)) == pytest.approx((0.8807970780 + 0.5) / 2, rel=1e-6)


def test_generator_loss_by_hand():
    # C_G = -1/2 [ln sigmoid(-1) + ln sigmoid(0)] = 1/2 [1.3132616875 + 0.6931471806]
    assert float(generator_loss(jnp.array([-1.0, 0.0]))) == pytest.approx(1.0032044341,
                                                                          rel=1e-6)


def test_losses_are_finite_where_log_sigmoid_is_not():
    big = jnp.array([200.0])
    assert not math.isfinite(float(-jnp.log(jax.nn.sigmoid(-big))[0]))  # the naive form
    assert float(generator_loss(-big)) == pytest.approx(200.0)
    assert float(discriminator_loss(big, -big)) == pytest.approx(0.0, abs=1e-30)
    assert float(discriminator_loss(-big, big)) == pytest.approx(400.0)
    # d C_G / d l = -(1 - sigmoid(l)): -1 for a rejected sample, not NaN
    assert float(jax.grad(generator_loss)(-big)[0]) == pytest.approx(-1.0)


def _tiny(module, data_path, **overrides):
    """A config file's config, shrunk to the 28x28 .npz fixture."""
    config = module.get_config()
    config.data.name = "npz"
    config.data.path = data_path
    config.batch_size = 16
    config.num_epochs = 2
    config.progress_bar = False
    config.tensorboard = False
    config.num_sample_images = 16
    config.eval_batch_size = 16
    config.loop = "scan"  # one compiled step body: the quickest compile for tiny tests
    small = dict(latent_dim=8, generator_hidden_sizes=(16,), discriminator_hidden_sizes=(16,),
                 generator_features=(8, 4), discriminator_features=(4, 8), hidden_sizes=(16,))
    for key, value in small.items():
        if key in config.model:
            config.model[key] = value
    for key, value in overrides.items():
        config[key] = value
    return config


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_one_step_updates_both_networks_and_their_batch_stats():
    config = _tiny(dcgan, "")
    family = build_family(config, (28, 28, 1), 4)
    state = family.init(config.seed)
    before = jax.tree_util.tree_map(np.asarray, state)
    batch = jnp.asarray(np.random.default_rng(0).integers(0, 256, (16, 784)), jnp.uint8)
    after, metrics = jax.jit(family.train_step)(state, batch)
    assert int(after.step) == 1
    parts = {"params": lambda n: n.params, "batch_stats": lambda n: n.collections["batch_stats"],
             "opt_state": lambda n: n.opt_state}
    for net in ("generator", "discriminator"):
        for part, get in parts.items():
            old = _leaves(get(before.nets[net]))
            new = _leaves(get(after.nets[net]))
            assert old and len(old) == len(new)
            changed = [not np.array_equal(a, b) for a, b in zip(old, new, strict=True)]
            if part == "params":
                assert all(changed), f"{net} {part}: a leaf did not move"
            else:
                assert any(changed), f"{net} {part} did not move"
    assert set(metrics) == {"d_loss", "g_loss", "d_real", "d_fake", "d_fake_after"}
    assert all(np.isfinite(float(v)) for v in metrics.values())


@pytest.mark.slow
def test_dcgan_workdir_contract_and_bitwise_resume(tmp_path, mnist_like_npz):
    def cfg(epochs):  # sample grids after every epoch
        return _tiny(dcgan, mnist_like_npz, num_epochs=epochs, plot_every_epochs=1)

    full = train_and_evaluate(cfg(3), str(tmp_path / "full"))
    train_and_evaluate(cfg(2), str(tmp_path / "split"))
    resumed = train_and_evaluate(cfg(3), str(tmp_path / "split"))
    a, b = _leaves(full), _leaves(resumed)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)

    work = tmp_path / "split"
    for name in ("config.json", "summary.txt", "metrics.jsonl", "plots/samples.png",
                 "plots/samples_epoch_001.png", "plots/samples_epoch_003.png",
                 "plots/loss_curves.png", "plots/discriminator.png"):
        assert os.path.exists(work / name), name
    assert sorted(os.listdir(work / "checkpoints")) == ["1", "2", "3"]
    rows = [json.loads(line) for line in open(work / "metrics.jsonl")]
    assert [(r["epoch"], r["split"]) for r in rows] == [
        (e, s) for e in (1, 2, 3) for s in ("train", "test")]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(rows[0]) & set(rows[1])
    summary = open(work / "summary.txt").read()
    assert "DCGANGenerator" in summary and "DCGANDiscriminator" in summary

    run = ae_jax.load(str(work))
    images = run.sample(5, jax.random.PRNGKey(0))
    assert run.epoch == 3 and images.shape == (5, 28, 28, 1)
    assert images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize("module", [gan_mlp, aae], ids=["gan_mlp", "aae"])
def test_dense_gan_and_aae_train(tmp_path, mnist_like_npz, module):
    state = train_and_evaluate(_tiny(module, mnist_like_npz, num_epochs=1), str(tmp_path))
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    expected = {"d_loss", "g_loss", "d_real", "d_fake"} | ({"loss"} if module is aae else set())
    for row in rows:
        assert expected <= set(row)
        assert all(np.isfinite(row[k]) for k in expected)
    assert int(state.step) == 64 // 16


@pytest.mark.slow
def test_train_py_dispatches_gan_family(tmp_path, mnist_like_npz):
    work = tmp_path / "work"
    cmd = [sys.executable, "train.py", "--config=configs/gan_mlp.py", f"--workdir={work}",
           "--config.num_epochs=0", "--config.data.name=npz",
           f"--config.data.path={mnist_like_npz}"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert sorted(os.listdir(work)) == ["config.json", "summary.txt"]
    summary = open(work / "summary.txt").read()
    assert "MLPGenerator" in summary and "MLPDiscriminator" in summary
    assert json.load(open(work / "config.json"))["family"] == "gan"


def test_unknown_gan_model_is_a_clear_error():
    config = _tiny(gan_mlp, "")
    config.model = ml_collections.ConfigDict(dict(name="wgan", latent_dim=2))
    with pytest.raises(ValueError, match="unknown GAN model 'wgan'"):
        build_family(config, (28, 28, 1), 1)
