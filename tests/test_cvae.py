"""The conditional VAE: labels travel with the rows, the decoder uses them, and generated
images of class c are classified as c by the project's classifier."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ae_jax
from ae_jax.data import load_dataset
from ae_jax.engine import train_and_evaluate
from ae_jax.engine.workdir import place_data
from ae_jax.evaluation import get_task
from ae_jax.forward import split_labels
from ae_jax.parallel import make_mesh
from tests.conftest import digits_config, family_setup

CVAE = {"model.name": "cvae_mlp", "model.latent_dim": 4, "model.hidden_sizes": (128,),
        "model.num_classes": 10, "loss.reduction": "sum", "loss.terms": {"kl": 1.0},
        "num_plot_images": 0}


def test_rows_carry_their_labels_and_split_back():
    config = digits_config()
    ds = load_dataset(config.data)
    train, test, _ = place_data(ds, "device", make_mesh(1), with_labels=True)
    assert train.shape == (len(ds.train), 64 + 1)
    rows, labels = split_labels(train)
    np.testing.assert_array_equal(np.asarray(labels), ds.train_labels)
    np.testing.assert_array_equal(np.asarray(rows), ds.train.reshape(len(ds.train), -1))


def test_a_conditional_family_asks_for_labels_and_offers_no_unlabelled_reconstruction():
    _, family, _, _ = family_setup(digits_config(**CVAE))
    assert family.uses_labels()
    assert "sample" in family.abilities() and "reconstruct" not in family.abilities()
    _, plain, _, _ = family_setup(digits_config())
    assert not plain.uses_labels()


@pytest.fixture(scope="module")
def trained_cvae(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("cvae") / "run")
    train_and_evaluate(digits_config(**CVAE, num_epochs=40), workdir)
    return workdir


@pytest.mark.slow
def test_the_right_labels_explain_the_test_images_better_than_shifted_ones(trained_cvae):
    run = ae_jax.load(trained_cvae)
    ds, family, state = run.dataset, run.family, run.state
    rows = jnp.asarray(ds.test.reshape(len(ds.test), -1))
    key, mask = jax.random.PRNGKey(0), jnp.ones(len(ds.test))

    def test_loss(labels):
        batch = jnp.concatenate([rows, labels[:, None].astype(rows.dtype)], 1)
        return float(jnp.mean(family.eval_step(state, batch, key, mask)["loss"]))

    right = test_loss(jnp.asarray(ds.test_labels))
    wrong = test_loss(jnp.asarray((ds.test_labels + 1) % 10))
    assert right < wrong - 5.0, (right, wrong)  # nats per image


def test_generated_images_are_of_the_requested_class(trained_cvae, tmp_path):
    run = ae_jax.load(trained_cvae)
    result = get_task("conditional")(run, str(tmp_path), {
        "num_per_class": 50, "classifier_dir": str(tmp_path / "classifier"),
        "classifier_epochs": 20})
    assert result["classifier_test_accuracy"] > 0.9
    assert result["accuracy"] > 0.6, result  # chance is 0.1
    assert len(result["accuracy_per_class"]) == 10
    json.dumps(result)
    assert (tmp_path / "conditional_samples.png").exists()
