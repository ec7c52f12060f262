"""WAE-MMD's and InfoVAE's MMD term: the estimator against a double loop in numpy, its
unbiasedness and spread when q = p, the closed form of the RBF MMD between two Gaussians,
the mask, and short training runs on real data."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.engine import train_and_evaluate
from ae_jax.objectives import TERMS, TermInputs
from ae_jax.objectives.mmd import WAE_SCALES, base_scale, mmd_u, prior_draws
from tests.conftest import digits_config, loss_config

KERNELS = {"imq": WAE_SCALES, "rbf": (1.0,)}  # the default multipliers of each kernel


def numpy_kernel(a, b, kernel, base, scales) -> float:
    r = float(np.sum((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    if kernel == "imq":
        return sum(c * base / (c * base + r) for c in scales)
    return sum(math.exp(-r / (c * base)) for c in scales)


def numpy_mmd(z, y, kernel, base, scales) -> float:
    """The U-statistic by explicit loops over the pairs."""
    n = len(z)
    zz = yy = zy = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                zz += numpy_kernel(z[i], z[j], kernel, base, scales)
                yy += numpy_kernel(y[i], y[j], kernel, base, scales)
            zy += numpy_kernel(z[i], y[j], kernel, base, scales)
    return (zz + yy) / (n * (n - 1)) - 2.0 * zy / n ** 2


def term(aux, key, mask=None, **fields):
    """The registered term on a batch whose aux is `aux`, with loss config `fields`."""
    x = next(iter(aux.values()))
    t = TermInputs(x=x, inputs=x, logits=x, aux=aux, key=key, mask=mask,
                   config=loss_config(**fields))
    return TERMS.get("mmd")(t)


def gaussian(key, n, dim, shift=0.0):
    return jax.random.normal(key, (n, dim)) + shift


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_the_term_is_the_double_loop_on_its_prior_draws(kernel):
    """5 codes of 3 units against the term's own prior draws (row i from fold_in(key, i)),
    C_0 = 2 d_z * mmd_scale, the kernel's default scales; broadcast to (B,)."""
    rng = np.random.default_rng(0)
    z = jnp.asarray(rng.normal(size=(5, 3)) * 1.5 + 0.3, jnp.float32)
    key = jax.random.PRNGKey(7)
    got = term({"code": z}, key, mmd_kernel=kernel, mmd_scale=0.5)
    y = np.asarray(prior_draws(key, 5, 3))
    assert np.std(y) > 0.3  # real N(0, I) draws
    want = numpy_mmd(np.asarray(z), y, kernel, 0.5 * 2 * 3, KERNELS[kernel])
    assert got.shape == (5,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_explicit_scales_and_a_vae_sample_are_used():
    """loss.mmd_scales replaces the default sum; a VAE's aux["z"] is taken over its
    aux["code"] (the posterior mean)."""
    rng = np.random.default_rng(1)
    z = jnp.asarray(rng.normal(size=(6, 2)), jnp.float32)
    key = jax.random.PRNGKey(3)
    got = term({"z": z, "code": z + 10.0}, key, mmd_kernel="imq", mmd_scales=(0.3, 3.0))
    want = numpy_mmd(np.asarray(z), np.asarray(prior_draws(key, 6, 2)), "imq", 4.0, (0.3, 3.0))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_about_zero_for_two_samples_of_one_gaussian(kernel):
    """q = p: MMD^2_u is (to O(n^-3/2)) a degenerate U-statistic of
    h = k(z,z') + k(y,y') - k(z,y') - k(z',y) (E[h | z, y] = 0 when q = p: Gretton et al.
    2012, JMLR, "A Kernel Two-Sample Test"), so Var = 2 E[h^2] / (n(n-1)) (Hoeffding's
    variance of a U-statistic with zeta_1 = 0; Serfling 1980, section 5.2.1), and
    |h| <= 2 k_max, k_max the number of scales summed (each kernel is in (0, 1]). So
    sd <= 2 k_max sqrt(2 / (n(n-1))): the estimate stays within 5 such sd (n = 2000: 0.0071
    for rbf, 0.049 for imq's 7 scales), while a mean shift of 0.5 gives more than that
    bound."""
    n, dim, scales = 2000, 2, KERNELS[kernel]
    z, y, shifted = (gaussian(jax.random.PRNGKey(s), n, dim, shift)
                     for s, shift in ((0, 0.0), (1, 0.0), (2, 0.5)))
    bound = 5 * 2 * len(scales) * math.sqrt(2 / (n * (n - 1)))
    same = float(mmd_u(z, y, jnp.ones(n), kernel, base_scale(dim, 1.0), scales))
    apart = float(mmd_u(shifted, y, jnp.ones(n), kernel, base_scale(dim, 1.0), scales))
    assert abs(same) < bound
    assert apart > bound


def test_unbiased_when_q_equals_p():
    """Over 400 pairs of samples of n = 40 from one Gaussian the mean estimate is 0 within
    4 standard errors; the V-statistic (diagonals kept) would be biased by
    2/n (k(z, z) - E k(z, z')) = 2/40 (1 - 1/2) = 0.025 here (rbf with s^2 = d_z = 2:
    E k(z, z') = (s^2 / (s^2 + 2))^(d/2) = 1/2), some 30 standard errors."""
    n, dim = 40, 2
    keys = jax.random.split(jax.random.PRNGKey(0), 400)

    def one(key):
        kz, ky = jax.random.split(key)
        return mmd_u(gaussian(kz, n, dim), gaussian(ky, n, dim), jnp.ones(n), "rbf",
                     base_scale(dim, 1.0), (1.0,))

    values = np.asarray(jax.vmap(one)(keys))
    sem = values.std() / math.sqrt(len(values))
    assert abs(values.mean()) < 4 * sem
    v_statistic_bias = 2 / n * (1.0 - 0.5)
    assert 4 * sem < 0.5 * v_statistic_bias  # the test would see that bias


def rbf_gaussian_mmd(shift, dim, s2) -> float:
    """Closed form of MMD^2(N(0, I), N(m, I)) for exp(-r / (2 s^2)), ||m|| = shift:
    E k over z - z' ~ N(d, 2I) is (s^2 / (s^2 + 2))^(dim/2) exp(-||d||^2 / (2 (s^2 + 2)))."""
    a = (s2 / (s2 + 2.0)) ** (dim / 2)
    return 2 * a * (1.0 - math.exp(-shift ** 2 / (2 * (s2 + 2.0))))


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_grows_with_a_mean_shift(kernel):
    """MMD^2_u(N(0, I), N(m, I)) for ||m|| = 0, 0.5, 1, 2 (shift along one axis) increases;
    for rbf it matches the closed form (s^2 = d_z at mmd_scale 1)."""
    n, dim, scales = 2000, 2, KERNELS[kernel]
    y = gaussian(jax.random.PRNGKey(1), n, dim)
    shifts = (0.0, 0.5, 1.0, 2.0)
    values = []
    for shift in shifts:
        z = gaussian(jax.random.PRNGKey(0), n, dim) + jnp.array([shift, 0.0])
        values.append(float(mmd_u(z, y, jnp.ones(n), kernel, base_scale(dim, 1.0), scales)))
    assert all(b > a for a, b in zip(values, values[1:], strict=False)), values
    if kernel == "rbf":
        want = [rbf_gaussian_mmd(s, dim, s2=float(dim)) for s in shifts]
        np.testing.assert_allclose(values, want, atol=0.01)
        assert want[-1] > 0.3


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_padding_is_left_out(kernel):
    """The same 30 codes plus 10 padded rows of garbage (large values and NaN), masked out:
    the same value, that of the 30 real rows alone."""
    z = gaussian(jax.random.PRNGKey(0), 30, 4, 0.7)
    key = jax.random.PRNGKey(5)
    full = term({"code": z}, key, mmd_kernel=kernel)
    garbage = jnp.full((10, 4), 50.0).at[3].set(jnp.nan)
    mask = jnp.concatenate([jnp.ones(30), jnp.zeros(10)])
    padded = term({"code": jnp.concatenate([z, garbage])}, key, mask, mmd_kernel=kernel)
    assert padded.shape == (40,)
    # equal to float32 rounding (the sums run over 40 x 40 instead of 30 x 30 entries)
    np.testing.assert_allclose(padded[:30], full, rtol=1e-4, atol=1e-5)
    assert float(full[0]) > 0.01  # the codes are off the prior: a value that would show a leak


def test_an_unknown_kernel_is_an_error():
    z = jnp.zeros((4, 2))
    with pytest.raises(ValueError, match="mmd_kernel"):
        term({"code": z}, jax.random.PRNGKey(0), mmd_kernel="gauss")
    with pytest.raises(ValueError, match="key"):
        term({"code": z}, None)


def _final_test_metrics(workdir):
    rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
    return [r for r in rows if r["split"] == "test"][-1]


@pytest.mark.slow
def test_a_wae_trains_on_digits_and_lowers_the_mmd(tmp_path):
    """The same deterministic AE (linear code of 8) with MMD weight 0 and 100: the WAE ends
    with the lower test MMD to N(0, I) (test split of 360 in one padded batch of 1000)."""
    base = {"model.latent_activation": "linear", "loss.reconstruction": "mse",
            "loss.reduction": "sum", "num_epochs": 8}
    final = {}
    for name, weight in (("ae", 0.0), ("wae", 100.0)):
        config = digits_config(**base, **{"loss.terms": {"mmd": weight}})
        train_and_evaluate(config, str(tmp_path / name))
        final[name] = _final_test_metrics(tmp_path / name)
    assert final["wae"]["mmd"] < 0.25 * final["ae"]["mmd"], final
    assert final["wae"]["mse"] < 8.0  # still reconstructs (64 pixels in [0, 1])
