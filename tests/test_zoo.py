"""Zoo models (configs in configs/ with a module-level `ZOO` entry) on the engine's promises:
vmapped seeds equal separate runs, a 4-device mesh equals one device, and a run resumed from
a checkpoint ends bitwise where an uninterrupted one does. A new model is covered by adding
its config.

Each model is shrunk to sklearn's 8x8 digits and a few steps; its architecture, loss and
family are the config's own. Compiling is most of the cost (about a minute per model on two
CPU cores), so the everyday suite runs the models that each reach a different part of the
engine (ENGINE_PATHS: the autoencoder family, its adversarial hooks, the VAE-GAN family's
three optimizers, mutable collections updated outside the gradient, label-conditioned
batches); the models between them differ only in loss terms and modules, which their own
tests cover. `AE_JAX_FULL_ZOO=1 pytest tests/test_zoo.py` (.ci/zoo) runs every zoo model.
"""

import importlib
import json
import os

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.test_parallel import FOUR_DEVICES, _run

SMALL = {"data.name": "digits", "data.train_limit": 256, "data.test_limit": 128,
         "data.binarize": "none", "batch_size": 64, "eval_batch_size": 128,
         "num_plot_images": 0, "num_sample_images": 0, "plot_every_epochs": 0,
         "progress_bar": False, "tensorboard": False}


def zoo_names() -> list[str]:
    """The configs that declare a ZOO entry, by module name."""
    names = []
    for file in sorted(os.listdir(os.path.join(ROOT, "configs"))):
        if file.endswith(".py") and not file.startswith("_"):
            module = importlib.import_module(f"configs.{file[:-3]}")
            if hasattr(module, "ZOO"):
                names.append(file[:-3])
    return names


ZOO_NAMES = zoo_names()
# one model per engine path: plain family + closed-form KL; extra_loss / after_step with a
# second optimizer (FactorVAE); a family of three networks (VAE-GAN); a mutable codebook
# updated by EMA with dead-code re-initialisation (VQ-VAE EMA); labels as a batch column (CVAE)
ENGINE_PATHS = ("vae", "factor_vae", "vae_gan", "vq_vae_ema", "cvae")
CHECKED = ZOO_NAMES if os.environ.get("AE_JAX_FULL_ZOO") else [
    n for n in ZOO_NAMES if n in ENGINE_PATHS]


def test_the_zoo_lists_the_models_of_the_issue():
    """The registry the parametrised tests run over is not empty by accident."""
    assert {"vae", "beta_vae", "beta_tcvae"} <= set(ZOO_NAMES)
    for name in ZOO_NAMES:
        entry = importlib.import_module(f"configs.{name}").ZOO
        assert entry["model"] and entry["paper"], name


def test_the_engine_paths_are_zoo_models():
    assert set(ENGINE_PATHS) <= set(ZOO_NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKED)
def test_zoo_vmapped_seeds_and_four_devices_equal_single_runs(tmp_path, name):
    """In one process with 4 forced CPU devices: num_runs=3 on one device equals seeds 0, 1, 2
    trained alone, and equals num_runs=3 on a 4-device mesh (to float tolerance: the batch
    mean is summed in another order, and Adam turns a last-bit difference in a near-zero
    gradient into up to about lr per step: so all but 1% of the values agree to 1e-4 and none
    differs by more than 1e-2 after these few steps at lr 1e-3; a mixed-up run or seed
    differs everywhere, by the parameters' own scale)."""
    _run(f"""
        import json
        import jax
        import numpy as np
        from ae_jax.engine import train_and_evaluate
        from ae_jax.state import run_slice
        from ae_jax.sweeps import set_field
        from configs import {name} as module

        def config(**fields):
            c = module.get_config()
            for k, v in {{**{SMALL!r}, "num_epochs": 1, **fields}}.items():
                set_field(c, k, v)
            return c

        def leaves(state):
            return [np.asarray(x) for x in jax.tree_util.tree_leaves(
                {{n: net.params for n, net in state.nets.items()}})]

        def close(a, b, what):
            assert len(a) == len(b) > 0, what
            for x, y in zip(a, b, strict=True):
                off = ~np.isclose(x, y, rtol=1e-4, atol=1e-4)
                worst = float(np.max(np.abs(x - y), initial=0.0))
                assert off.mean() <= 0.01 and worst <= 1e-2, (what, off.mean(), worst)

        w = {str(tmp_path)!r}
        runs = train_and_evaluate(config(num_runs=3), w + "/runs3")
        mesh = train_and_evaluate(config(num_runs=3, num_devices=4), w + "/runs3_mesh")
        for r in range(3):
            alone = train_and_evaluate(config(seed=r), w + f"/seed{{r}}")
            close(leaves(run_slice(runs, r)), leaves(alone), f"run {{r}} vs seed {{r}} alone")
            close(leaves(run_slice(mesh, r)), leaves(alone), f"mesh run {{r}} vs alone")
        a, b = (leaves(run_slice(runs, r))[0] for r in (0, 1))
        assert not np.array_equal(a, b), "the runs must differ (their own seeds)"
    """, FOUR_DEVICES, timeout=600)


def _small_config(name, **fields):
    from ae_jax.sweeps import set_field

    config = importlib.import_module(f"configs.{name}").get_config()
    for key, value in {**SMALL, **fields}.items():
        set_field(config, key, value)
    return config


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECKED)
def test_zoo_resume_from_a_checkpoint_is_bitwise(tmp_path, name):
    """Every network, its collections (codebooks, batch statistics) and optimizer state come
    back from the checkpoint: 1 epoch, then a rerun to 3, equals 3 epochs straight, bit for
    bit (a SIGKILL at any moment is the quick start's kill campaign, tests/
    test_workdir_robustness.py: the engine's part of it is the same for every model)."""
    import jax

    from ae_jax.engine import train_and_evaluate

    straight = train_and_evaluate(_small_config(name, num_epochs=3), str(tmp_path / "a"))
    train_and_evaluate(_small_config(name, num_epochs=1), str(tmp_path / "b"))
    resumed = train_and_evaluate(_small_config(name, num_epochs=3), str(tmp_path / "b"))
    a, b = (jax.tree_util.tree_leaves(s) for s in (straight, resumed))
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y)), name


def test_the_shrunk_zoo_configs_are_valid_configs():
    """SMALL names only fields that exist, so a zoo test fails for its model, not a typo."""
    from ae_jax.sweeps import set_field
    from configs import default

    config = default.get_config()
    for key, value in SMALL.items():
        set_field(config, key, value)
    assert json.loads(config.to_json())["data"]["name"] == "digits"
    assert np.isfinite(config.batch_size)
