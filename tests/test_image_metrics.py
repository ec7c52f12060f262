"""PSNR and SSIM (ae_jax/image_metrics.py); the `denoising` task is tested with the
denoising configs in tests/test_regularisers.py."""

import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.image_metrics import gaussian_window, largest_window, psnr, ssim

RNG = np.random.default_rng(0)


def test_psnr_by_hand():
    ref = jnp.zeros((2, 4, 4, 1))
    x = ref.at[0].set(0.1).at[1, 0, 0, 0].set(1.0)  # MSE 0.01 and 1/16
    np.testing.assert_allclose(psnr(x, ref), [20.0, 10 * np.log10(16)], rtol=1e-6)
    assert float(psnr(ref, ref)[0]) == pytest.approx(100.0)  # identical: floored MSE


def test_ssim_by_hand():
    g = gaussian_window(11, 1.5)
    assert g.shape == (11,) and float(jnp.sum(g)) == pytest.approx(1.0)
    assert float(g[5]) == pytest.approx(float(g.max()))
    x = jnp.asarray(RNG.random((2, 16, 16, 1)), jnp.float32)
    np.testing.assert_allclose(ssim(x, x), [1.0, 1.0], rtol=1e-6)
    # constant images a and b: sigma = 0 everywhere, so SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b, c1 = 0.2, 0.6, 0.01**2
    value = ssim(jnp.full((1, 12, 12, 1), a), jnp.full((1, 12, 12, 1), b))
    # float32: w * x^2 - mu^2 cancels to ~1e-7, against C2 = 9e-4 in the contrast term
    np.testing.assert_allclose(value, [(2 * a * b + c1) / (a * a + b * b + c1)], rtol=3e-4)
    with pytest.raises(ValueError, match="odd window_size <= the image side"):
        ssim(jnp.zeros((1, 8, 8, 1)), jnp.zeros((1, 8, 8, 1)))
    assert (largest_window(28, 28), largest_window(8, 8), largest_window(10, 12)) == (11, 7, 9)


def test_psnr_and_ssim_match_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    ref = RNG.random((3, 28, 28, 1)).astype(np.float32)
    noisy = np.clip(ref + 0.2 * RNG.standard_normal(ref.shape), 0, 1).astype(np.float32)
    expected = [metrics.structural_similarity(
        ref[i], noisy[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=1.0, channel_axis=-1) for i in range(3)]
    np.testing.assert_allclose(ssim(jnp.asarray(noisy), jnp.asarray(ref)), expected, atol=1e-5)
    expected = [metrics.peak_signal_noise_ratio(ref[i], noisy[i], data_range=1.0)
                for i in range(3)]
    np.testing.assert_allclose(psnr(jnp.asarray(noisy), jnp.asarray(ref)), expected, rtol=1e-5)
    rgb_ref = RNG.random((2, 16, 20, 3)).astype(np.float32)
    rgb = np.clip(rgb_ref + 0.1 * RNG.standard_normal(rgb_ref.shape), 0, 1).astype(np.float32)
    expected = [metrics.structural_similarity(
        rgb_ref[i], rgb[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=1.0, channel_axis=-1) for i in range(2)]
    np.testing.assert_allclose(ssim(jnp.asarray(rgb), jnp.asarray(rgb_ref)), expected,
                               atol=1e-5)
