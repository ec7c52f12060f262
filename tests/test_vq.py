"""VQ-VAE (ae_jax/models/vq.py, ae_jax/objectives/vq.py, ae_jax/evaluation/samplers/vq.py):
the straight-through Jacobian, the EMA update and the dead-code re-initialisation against
hand computations, where the gradient codebook gets its gradient, the perplexity, short
digits runs, and the two index priors."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.models import build_model
from ae_jax.models.vq import VQVAE, VectorQuantizer, ema_update, perplexity
from ae_jax.objectives import make_objective, model_term_inputs
from tests.conftest import digits_config

K, D = 16, 8  # the digits model: 8x8 -> one pool -> a 4x4 grid of D = 8, K = 16 codes


def vq_config(update="ema", **overrides):
    terms = {"vq_commitment": 0.25}
    if update == "gradient":
        terms["vq_codebook"] = 1.0
    return digits_config(**{
        "model.name": "vq_vae", "model.encoder_layers": ("conv16", "pool"),
        "model.decoder_layers": ("conv16", "up"), "model.num_codes": K,
        "model.embedding_dim": D, "model.codebook_update": update, "loss.reduction": "sum",
        "loss.terms": terms, "num_epochs": 5, "num_plot_images": 0, "num_sample_images": 0,
        **overrides})


def ema_variables(codebook, cluster_size, embed_sum=None):
    codebook = jnp.asarray(codebook, jnp.float32)
    size = jnp.asarray(cluster_size, jnp.float32)
    sums = codebook * size[:, None] if embed_sum is None else jnp.asarray(embed_sum)
    return {"vq": {"codebook": codebook, "cluster_size": size, "embed_sum": sums}}


# -- the quantiser ------------------------------------------------------------------------------
def test_straight_through_jacobian_is_the_identity():
    quantizer = VectorQuantizer(4, 3, "gradient")
    z = jax.random.normal(jax.random.PRNGKey(1), (1, 2, 2, 3))
    variables = quantizer.init(jax.random.PRNGKey(0), z)
    out = quantizer.apply(variables, z)
    codebook = np.asarray(variables["params"]["codebook"])
    np.testing.assert_array_equal(out["z_st"], codebook[np.asarray(out["indices"])])
    assert not np.allclose(out["z_st"], z)  # the value is z_q, not z_e

    jac = jax.jacfwd(lambda v: quantizer.apply(variables, v)["z_st"])(z)
    np.testing.assert_allclose(np.asarray(jac).reshape(12, 12), np.eye(12), atol=0)
    # the codebook lookup alone has no gradient to z_e: the identity is the estimator's
    jac_q = jax.jacfwd(lambda v: quantizer.apply(variables, v)["z_q"])(z)
    assert np.all(np.asarray(jac_q) == 0)


def test_ema_update_matches_a_hand_computation():
    e, n_old = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1.0, 2.0])
    m_old = np.array([[0.0, 0.0], [2.0, 2.0]])
    z = np.array([[0.1, 0.2], [0.9, 1.2], [1.1, 0.8], [0.7, 0.6]])  # codes 0, 1, 1, 1
    quantizer = VectorQuantizer(2, 2, "ema", decay=0.99)
    variables = ema_variables(e, n_old, m_old)
    out, new = quantizer.apply(variables, jnp.asarray(z, jnp.float32).reshape(1, 2, 2, 2),
                               True, mutable=["vq"])

    counts = np.array([1.0, 3.0])
    sums = np.array([[0.1, 0.2], [0.9 + 1.1 + 0.7, 1.2 + 0.8 + 0.6]])
    n_new = 0.99 * n_old + 0.01 * counts
    m_new = 0.99 * m_old + 0.01 * sums
    total, eps = n_new.sum(), 1e-5
    smoothed = (n_new + eps) / (total + 2 * eps) * total
    np.testing.assert_array_equal(np.asarray(out["indices"]).ravel(), [0, 1, 1, 1])
    np.testing.assert_allclose(new["vq"]["cluster_size"], n_new, rtol=1e-6)
    np.testing.assert_allclose(new["vq"]["embed_sum"], m_new, rtol=1e-6)
    np.testing.assert_allclose(new["vq"]["codebook"], m_new / smoothed[:, None], rtol=1e-6)
    # this batch is quantised with the codebook before the update; the usage per example
    np.testing.assert_allclose(np.asarray(out["z_q"]).reshape(4, 2), e[[0, 1, 1, 1]])
    np.testing.assert_allclose(out["usage"], [[0.25, 0.75]])
    # evaluation (train=False) leaves the averages alone
    _, same = quantizer.apply(variables, jnp.asarray(z, jnp.float32).reshape(1, 2, 2, 2),
                              False, mutable=["vq"])
    for name in ("codebook", "cluster_size", "embed_sum"):
        np.testing.assert_array_equal(same["vq"][name], variables["vq"][name])


@pytest.mark.parametrize("threshold", [0.0, 1.0])
def test_a_dead_code_is_reset_to_an_encoder_output_only_when_the_option_is_on(threshold):
    e = np.array([[0.0, 0.0], [1.0, 1.0], [50.0, 50.0]])  # code 2: far away, never chosen
    n_old = np.array([2.0, 2.0, 0.5])  # and its usage 0.99 * 0.5 falls below 1
    z = jnp.asarray([[0.1, 0.2], [0.9, 1.2], [1.1, 0.8], [-0.2, 0.1]]).reshape(1, 2, 2, 2)
    quantizer = VectorQuantizer(3, 2, "ema", decay=0.99, dead_code_threshold=threshold)
    variables = ema_variables(e, n_old)
    out, new = quantizer.apply(variables, z, True, mutable=["vq"],
                               rngs={"sample": jax.random.PRNGKey(3)})
    assert 2 not in np.asarray(out["indices"])
    z_flat = np.asarray(z).reshape(4, 2)
    hot = np.eye(3)[np.asarray(out["indices"]).ravel()]
    want_n, want_m, want_e = (np.asarray(a) for a in ema_update(
        jnp.asarray(n_old), jnp.asarray(e * n_old[:, None]), jnp.asarray(z_flat),
        jnp.asarray(hot), 0.99))
    got = np.asarray(new["vq"]["codebook"])
    np.testing.assert_allclose(got[:2], want_e[:2], rtol=1e-6)  # live codes: EMA only
    if threshold:
        assert any(np.array_equal(got[2], row) for row in z_flat), got[2]
        assert float(new["vq"]["cluster_size"][2]) == threshold
        np.testing.assert_allclose(new["vq"]["embed_sum"][2], threshold * got[2])
    else:
        np.testing.assert_allclose(got[2], want_e[2], rtol=1e-6)
        np.testing.assert_allclose(got[2], e[2], rtol=1e-4)  # as it was (up to smoothing)
        np.testing.assert_allclose(new["vq"]["cluster_size"], want_n, rtol=1e-6)


def test_dead_codes_need_the_ema_codebook():
    config = vq_config("gradient", **{"model.dead_code_threshold": 1.0})
    with pytest.raises(ValueError, match="EMA codebook"):
        build_model(config.model, (8, 8, 1))


def test_the_gradient_codebook_gets_gradient_only_from_the_codebook_term():
    config = vq_config("gradient")
    model = build_model(config.model, (8, 8, 1))
    x = jax.random.uniform(jax.random.PRNGKey(0), (4, 8, 8, 1))
    params = model.init(jax.random.PRNGKey(1), x)["params"]
    objective = make_objective(config.loss, model.output_activation)
    weights = {name: jnp.float32(1.0) for name in objective.term_names}

    def part(p, name):
        t, _ = model_term_inputs(model.apply, {"params": p}, x, model_kwargs={"train": True})
        return jnp.mean(objective(t, weights)[1][name])

    grad = jax.jit(jax.grad(part), static_argnums=1)

    def norms(name):
        g = grad(params, name)
        return (float(jnp.linalg.norm(g["quantizer"]["codebook"])),
                float(jnp.linalg.norm(g["projection"]["kernel"])))

    codebook, encoder = norms("bce")
    assert codebook == 0 and encoder > 0  # straight-through: to the encoder, not the codes
    codebook, encoder = norms("vq_commitment")
    assert codebook == 0 and encoder > 0
    codebook, encoder = norms("vq_codebook")
    assert codebook > 0 and encoder == 0


def test_perplexity_is_exp_of_the_entropy_of_the_mean_usage():
    usage = jnp.asarray([0.5, 0.25, 0.25, 0.0])  # H = 1.5 log 2 (0 log 0 = 0)
    got = VQVAE.finalize_metrics({"_code_usage": usage})["perplexity"]
    assert float(got) == pytest.approx(2 ** 1.5, rel=1e-6)
    runs = perplexity(jnp.asarray([[1.0, 0, 0, 0], [0.25] * 4]))  # vmapped runs: (R, K)
    np.testing.assert_allclose(runs, [1.0, 4.0], rtol=1e-6)


# -- short digits runs --------------------------------------------------------------------------
def _rows(workdir):
    return [json.loads(line) for line in open(f"{workdir}/metrics.jsonl")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{update: workdir} of a 5-epoch digits run of each codebook kind."""
    from ae_jax.engine import train_and_evaluate

    out = {}
    for update in ("ema", "gradient"):
        workdir = str(tmp_path_factory.mktemp(f"vq_{update}"))
        train_and_evaluate(vq_config(update), workdir)
        out[update] = workdir
    return out


@pytest.mark.slow
@pytest.mark.parametrize("update", ["ema", "gradient"])
def test_a_digits_run_lowers_the_loss_and_reports_the_perplexity(trained, update):
    rows = _rows(trained[update])
    for split in ("train", "test"):
        mine = [r for r in rows if r["split"] == split]
        assert len(mine) == 5
        assert mine[-1]["loss"] < 0.8 * mine[0]["loss"], (split, mine[0], mine[-1])
        assert all(1.0 <= r["perplexity"] <= K for r in mine)
        assert "_code_usage" not in mine[-1]


@pytest.mark.slow
def test_the_test_perplexity_is_that_of_the_test_indices(trained):
    """metrics.jsonl's last test perplexity against exp(H) of the code frequencies over the
    test split, counted from `code_indices` of the trained model."""
    import ae_jax

    run = ae_jax.load(trained["ema"])
    idx = np.asarray(run.map("code_indices", lambda s, b: run.family.call(
        s, "code_indices", b.astype(jnp.float32) / 255.0), run.dataset.test))
    p = np.bincount(idx.ravel(), minlength=K) / idx.size
    want = np.exp(-np.sum(p[p > 0] * np.log(p[p > 0])))
    test = [r for r in _rows(trained["ema"]) if r["split"] == "test"][-1]
    assert test["perplexity"] == pytest.approx(want, rel=1e-4)


@pytest.mark.slow
def test_decode_quantises_and_codebook_vectors_decode_as_themselves(trained):
    import ae_jax
    from ae_jax.evaluation.samplers.vq import as_vq_codes, codebook_of, training_indices

    run = ae_jax.load(trained["gradient"])
    x = run.dataset.test[:32]
    recon = run.reconstruct(x)
    np.testing.assert_allclose(run.decode(run.encode(x).reshape(32, 4, 4, D)), recon,
                               atol=1e-6)
    grids = as_vq_codes(codebook_of(run), training_indices(run, {"fit_examples": 32}))
    first = run.dataset.train[:32]
    np.testing.assert_allclose(run.decode(grids), run.reconstruct(first), atol=1e-6)
    noisy = grids + 1e-3 * np.random.default_rng(0).standard_normal(grids.shape)
    np.testing.assert_allclose(run.decode(noisy.astype(np.float32)), run.decode(grids),
                               atol=1e-6)


@pytest.mark.slow
def test_both_samplers_give_codebook_codes_that_decode_to_images(trained):
    import ae_jax
    from ae_jax.evaluation.samplers import SAMPLERS
    from ae_jax.evaluation.samplers.vq import (
        codebook_of,
        fit_histogram,
        fit_pixelcnn,
        histogram_nll,
        pixelcnn_nll,
        training_indices,
    )

    run = ae_jax.load(trained["ema"])
    codebook = codebook_of(run)
    for name in ("vq_histogram", "vq_pixelcnn"):
        sampler = SAMPLERS.get(name)(run, {"steps": 300}, jax.random.PRNGKey(0))
        codes = sampler(jax.random.PRNGKey(1), 6)
        assert codes.shape == (6, *run.code_shape()) == (6, 4, 4, D)
        flat = codes.reshape(-1, D)
        assert all(np.any(np.all(codebook == row, axis=1)) for row in flat), name
        images = run.decode(codes)
        assert images.shape == (6, 8, 8, 1) and 0 <= images.min() and images.max() <= 1
        np.testing.assert_array_equal(codes, sampler(jax.random.PRNGKey(1), 6))  # same key

    indices = training_indices(run, SAMPLERS.get("vq_pixelcnn").resolve({}))
    model, params = fit_pixelcnn(indices, K, jax.random.PRNGKey(0), steps=600)
    pixelcnn = pixelcnn_nll(model, params, indices)
    histogram = histogram_nll(fit_histogram(indices, K), indices)
    assert pixelcnn < histogram < np.log(K), (pixelcnn, histogram)


# -- the PixelCNN prior on its own -----------------------------------------------------------
def test_the_pixelcnn_is_causal_in_raster_order():
    from ae_jax.evaluation.samplers.vq import PixelCNN

    model = PixelCNN(num_codes=5, features=8, num_layers=3)
    idx = jax.random.randint(jax.random.PRNGKey(0), (1, 4, 4), 0, 5)
    params = model.init(jax.random.PRNGKey(1), idx)["params"]
    apply = jax.jit(lambda i: model.apply({"params": params}, i))
    base = np.asarray(apply(idx))
    changed = np.asarray(apply(idx.at[0, 1, 2].set((idx[0, 1, 2] + 1) % 5)))
    moved = np.any(base != changed, axis=-1)[0].ravel()  # (16,) positions in raster order
    position = 1 * 4 + 2
    assert not moved[:position + 1].any()  # itself and everything before it: unchanged
    assert moved[position + 1]  # the next position reads it


def test_the_pixelcnn_learns_what_per_position_histograms_cannot():
    """Grids that repeat one random code at all 16 positions: each position's histogram is
    about uniform (log K nats per index), while the first index determines the rest."""
    from ae_jax.evaluation.samplers.vq import (
        fit_histogram,
        fit_pixelcnn,
        histogram_nll,
        pixelcnn_nll,
        sample_pixelcnn,
    )

    codes = np.random.default_rng(0).integers(0, 8, size=512)
    indices = np.broadcast_to(codes[:, None, None], (512, 4, 4)).astype(np.int32)
    histogram = histogram_nll(fit_histogram(indices, 8), indices)
    model, params = fit_pixelcnn(indices, 8, jax.random.PRNGKey(0), steps=300,
                                 features=16, num_layers=3)
    pixelcnn = pixelcnn_nll(model, params, indices)
    assert histogram > 0.95 * np.log(8)
    assert pixelcnn < 0.5 * histogram, (pixelcnn, histogram)
    grids = sample_pixelcnn(model, params, jax.random.PRNGKey(2), 16, (4, 4))
    constant = np.all(grids == grids[:, :1, :1], axis=(1, 2))
    assert constant.mean() >= 0.75, grids[:, :, :].reshape(16, -1)
