import jax
import jax.numpy as jnp
import pytest

from ae_jax.models import MODELS, build_model
from ae_jax.models.abilities import KNOWN, abilities_of, xla_conv_gradients
from ae_jax.models.summary import count_params, summarize
from configs import conv_ae, deep_ae, default, dense_ae, dense_ae_mse

MNIST = (28, 28, 1)


def _model_cfg(**kw):
    """configs/default.py's model section with `kw` set."""
    cfg = default.get_config().model
    cfg.update(kw)
    return cfg


def _params(model, shape=MNIST):
    return model.init(jax.random.PRNGKey(0), jnp.zeros((1, *shape)))["params"]


def test_dense_ae_matches_keras_counts():
    model = build_model(dense_ae.get_config().model, MNIST)
    params = _params(model)
    assert count_params(params["encoder"]) == 25_120
    assert count_params(params["decoder"]) == 25_872
    assert count_params(params) == 50_992


def test_deep_ae_matches_keras_count():
    assert count_params(_params(build_model(deep_ae.get_config().model, MNIST))) == 222_384


def test_conv_ae_matches_keras_per_layer_counts():
    model = build_model(conv_ae.get_config().model, MNIST)
    params = _params(model)
    enc, dec = params["encoder"], params["decoder"]
    per_layer = [count_params(enc[f"conv_{i}"]) for i in range(3)]
    per_layer += [count_params(dec[f"conv_{i}"]) for i in range(3)] + [
        count_params(dec["output"])
    ]
    assert per_layer == [160, 1_160, 584, 584, 584, 1_168, 145]
    assert count_params(params) == 4_385


def test_conv_shapes_follow_the_seed():
    model = build_model(conv_ae.get_config().model, MNIST)
    params = _params(model)
    x = jnp.zeros((2, *MNIST))
    code = model.apply({"params": params}, x, method="encode")
    assert code.shape == (2, 4, 4, 8)  # 28 -> 14 -> 7 -> 4 ('same' pooling)
    assert model.apply({"params": params}, code, method="decode").shape == (2, *MNIST)


def test_denoising_conv_model_count():
    cfg = _model_cfg(name="conv", latent_dim=0, encoder_layers=("conv32", "pool", "conv32", "pool"),
                     decoder_layers=("conv32", "up", "conv32", "up"))
    assert count_params(_params(build_model(cfg, MNIST))) == 28_353


@pytest.mark.parametrize("config_module", [dense_ae, deep_ae, conv_ae, dense_ae_mse])
def test_encode_decode_call_are_consistent(config_module):
    model = build_model(config_module.get_config().model, MNIST)
    params = {"params": _params(model)}
    x = jax.random.uniform(jax.random.PRNGKey(1), (3, *MNIST))
    logits, aux = model.apply(params, x)
    code = model.apply(params, x, method="encode")
    assert logits.shape == x.shape
    assert jnp.array_equal(code, aux["code"])
    assert jnp.allclose(model.apply(params, code, method="decode"), logits)


def test_summary_text_has_totals():
    text, counts = summarize(build_model(dense_ae.get_config().model, MNIST), MNIST)
    assert counts == {"total": 50_992, "encoder": 25_120, "decoder": 25_872}
    assert "total params: 50,992" in text and "encoder params: 25,120" in text


def test_linear_and_font_architectures():
    cfg = _model_cfg(name="mlp", latent_dim=2, hidden_sizes=(25, 17), activation="tanh",
                     latent_activation="linear")
    params = _params(build_model(cfg, (7, 5, 1)), (7, 5, 1))
    # 35*25+25 + 25*17+17 + 17*2+2, mirrored: 2*17+17 + 17*25+25 + 25*35+35
    assert count_params(params) == (900 + 442 + 36) + (51 + 450 + 910)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown model 'mpl' \(model.name\); known: conv, "
                                         r"cvae_mlp, mlp, pca"):
        build_model(_model_cfg(name="mpl", latent_dim=2), MNIST)
    cfg = _model_cfg(name="mlp", latent_dim=2, activation="rellu")
    with pytest.raises(ValueError, match="unknown activation 'rellu'"):
        _params(build_model(cfg, MNIST))
    cfg = _model_cfg(name="conv", latent_dim=0, encoder_layers=("conv8", "pol"),
                     decoder_layers=("up",))
    with pytest.raises(ValueError, match="unknown conv layer 'pol'"):
        _params(build_model(cfg, MNIST))


def test_conv_decoder_shape_mismatch_is_reported():
    cfg = _model_cfg(name="conv", latent_dim=0, encoder_layers=("conv8", "pool"),
                     decoder_layers=("conv8",))
    with pytest.raises(ValueError, match="not the input shape"):
        _params(build_model(cfg, MNIST))


def test_kernel_init_by_name():
    """glorot_uniform (Keras's default) draws from U(-a, a), a = sqrt(6 / (fan_in + fan_out)),
    std a / sqrt(3); LeCun-normal (Flax's) has std 1 / sqrt(fan_in)."""
    config = dense_ae.get_config()
    config.model.kernel_init = "glorot_uniform"
    kernel = _params(build_model(config.model, MNIST))["encoder"]["latent"]["kernel"]
    bound = (6 / (784 + 32)) ** 0.5
    assert kernel.shape == (784, 32)
    assert float(jnp.max(jnp.abs(kernel))) <= bound
    assert float(jnp.std(kernel)) == pytest.approx(bound / 3**0.5, rel=0.03)
    config.model.kernel_init = "lecun_normal"
    lecun = _params(build_model(config.model, MNIST))["encoder"]["latent"]["kernel"]
    assert float(jnp.std(lecun)) == pytest.approx(1 / 784**0.5, rel=0.03)
    config.model.kernel_init = "glorot"
    with pytest.raises(ValueError, match="unknown kernel_init 'glorot'"):
        _params(build_model(config.model, MNIST))


KERAS_REPRODUCTIONS = ("dense_ae", "deep_ae", "conv_ae", "denoising_conv_ae",
                       "inpainting_conv_ae", "dense_ae_mse", "denoising_dense_mse", "sparse_l1",
                       "vae_dense_2d", "vae_images_80", "vae_images_80_640")


def _kernels(params) -> dict:
    """{path: kernel} of every dense and conv kernel in a parameter tree."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    return {jax.tree_util.keystr(path): leaf for path, leaf in flat
            if getattr(path[-1], "key", None) == "kernel"}


def _glorot_bound(kernel) -> float:
    """a = sqrt(6 / (fan_in + fan_out)), fans times the receptive field (k*k) for convs."""
    receptive = kernel.size // (kernel.shape[-2] * kernel.shape[-1])
    return (6 / (receptive * (kernel.shape[-2] + kernel.shape[-1]))) ** 0.5


@pytest.mark.parametrize("name", KERAS_REPRODUCTIONS)
def test_keras_reproductions_initialise_as_keras(name):
    """Every kernel of a seed's Keras model is Glorot-uniform, U(-a, a): inside a, with the
    variance a^2 / 3 (checked on the kernels big enough for a 5% estimate), biases zero."""
    import importlib

    config = importlib.import_module(f"configs.{name}").get_config()
    shape = (80, 80, 1) if "images_80" in name else MNIST
    params = _params(build_model(config.model, shape), shape)
    kernels = _kernels(params)
    assert kernels, name
    for path, kernel in kernels.items():
        a = _glorot_bound(kernel)
        assert float(jnp.max(jnp.abs(kernel))) <= a * (1 + 1e-6), path  # float32 rounding
        if kernel.size >= 4000:
            assert float(jnp.var(kernel)) == pytest.approx(a * a / 3, rel=0.05), path
    biases = [leaf for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]
              if getattr(path[-1], "key", None) == "bias"]
    assert all(float(jnp.max(jnp.abs(b))) == 0.0 for b in biases)


def test_the_zoo_keeps_flax_initialisation():
    """The zoo's VAE shares vae_dense_2d's architecture but not its Keras initialisation:
    LeCun-normal, variance 1 / fan_in."""
    from configs import vae

    params = _params(build_model(vae.get_config().model, MNIST))
    kernel = params["encoder"]["dense_0"]["kernel"]  # (784, 512)
    assert float(jnp.var(kernel)) == pytest.approx(1 / 784, rel=0.05)


CONV_MODELS = ("conv", "vae_conv", "vq_vae")


def _registered_model(name, conv_impl="auto"):
    layers = dict(encoder_layers=("conv8", "pool"), decoder_layers=("conv8", "up"))
    kw = layers if name in CONV_MODELS else {}
    return build_model(_model_cfg(name=name, latent_dim=4, conv_impl=conv_impl, **kw), MNIST)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_registered_model_declares_known_abilities(name):
    model = _registered_model(name)
    have = abilities_of(model)
    assert have and have <= set(KNOWN), (name, have)
    # XLA's conv gradients with conv_impl="lax" only; the "cpu" layers' run well in a loop
    for impl, expected in (("lax", name in CONV_MODELS), ("cpu", False)):
        declared = xla_conv_gradients(_registered_model(name, impl))
        assert declared == expected, (name, impl, declared)


def test_vae_declares_and_samples_its_prior():
    model = _registered_model("vae_mlp")
    assert {"posterior", "prior"} <= abilities_of(model)
    variables = model.init(jax.random.PRNGKey(0), jnp.zeros((1, *MNIST)))
    key = jax.random.PRNGKey(1)
    z = model.apply(variables, key, 5, method="sample_prior")
    assert z.shape == (5, 4) and z.dtype == jnp.float32
    # N(0, I) drawn from the given key alone: what Frechet and `generate` sampled before
    assert jnp.array_equal(z, jax.random.normal(key, (5, 4), jnp.float32))


def test_builders_read_every_field_from_the_config():
    cfg = _model_cfg(name="mlp", hidden_sizes=[16, 8], compute_dtype="bfloat16")  # JSON lists
    model = build_model(cfg, MNIST)
    assert model.hidden_sizes == (16, 8) and model.compute_dtype == "bfloat16"
    assert model.kernel_init == cfg.kernel_init
    partial = default.get_config().model
    del partial["kernel_init"]
    with pytest.raises(ValueError, match="model.kernel_init is not in the config"):
        build_model(partial, MNIST)
    with pytest.raises(ValueError, match="unknown compute_dtype 'float8'"):
        _params(build_model(_model_cfg(compute_dtype="float8"), MNIST))
