"""One way to register by name: an unknown name of each kind is one line that names the
config field and lists the known names."""

import numpy as np
import pytest

from ae_jax.corruption import make_corruption
from ae_jax.data import Dataset, load_dataset, tfds_source
from ae_jax.models import build_model
from ae_jax.models.gan import build_networks
from ae_jax.optimizers import make_optimizer
from ae_jax.registry import Registry, UnknownNameError
from configs import default


def _message(build, section: str, field: str, value: str) -> str:
    config = default.get_config()
    config[section][field] = value
    with pytest.raises(UnknownNameError) as err:
        build(config[section])
    return str(err.value)


CASES = [  # (section, field, a misspelled value, builder, known names that must be listed)
    ("model", "name", "mpl", lambda c: build_model(c, (28, 28, 1)), ("mlp", "conv", "vae_mlp")),
    ("model", "name", "wgan", lambda c: build_networks(c, (28, 28, 1)), ("mlp_gan", "dcgan")),
    ("data", "name", "cifar10", load_dataset, ("digits", "fashion_mnist", "csv")),
    ("corruption", "name", "speckle", make_corruption, ("none", "gaussian", "bit_flip")),
    ("optimizer", "name", "adma", lambda c: make_optimizer(c, 10, 1), ("adam", "sgd")),
    ("optimizer", "schedule", "linear", lambda c: make_optimizer(c, 10, 1),
     ("constant", "cosine", "warmup_cosine")),
]


@pytest.mark.parametrize("section, field, value, build, known", CASES,
                         ids=[f"{c[0]}.{c[1]}={c[2]}" for c in CASES])
def test_unknown_name_is_one_line_with_the_field_and_the_known_names(section, field, value,
                                                                      build, known):
    message = _message(build, section, field, value)
    assert "\n" not in message
    assert message.startswith("unknown ") and repr(value) in message
    assert f"({section}.{field})" in message
    listed = message.split("known: ", 1)[1]
    for name in known:
        assert name in listed, (name, message)


def test_unknown_data_source_says_how_to_ask_tfds():
    message = _message(load_dataset, "data", "name", "cifar10")
    assert "tfds:cifar10" in message and "tfds:<name>" in message


def test_tfds_prefix_asks_tfds_for_the_catalog_name(monkeypatch):
    calls = []

    def fake_load_tfds(name, data_dir=None):
        calls.append((name, data_dir))
        x = np.zeros((4, 2, 2, 1), np.uint8)
        return Dataset(x, x, None, None, name, f"tfds:{name}")

    monkeypatch.setattr(tfds_source, "load_tfds", fake_load_tfds)
    config = default.get_config().data
    config.name, config.tfds_data_dir = "tfds:cifar10", "/somewhere"
    assert load_dataset(config).name == "cifar10"
    assert calls == [("cifar10", "/somewhere")]


def test_a_name_registered_twice_is_an_error():
    registry = Registry("thing", field="x.name")
    registry.add("a", 1)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("a", 2)
