"""The prior, and a Gaussian mixture fitted to the training codes (Ghosh et al. 2020's
ex-post density estimation, which makes deterministic autoencoders generative)."""

from __future__ import annotations

import jax
import numpy as np

from ae_jax.evaluation.samplers import SAMPLERS, as_codes, training_codes


@SAMPLERS.register("prior")
def prior(run, options: dict, key):
    """The model's own prior p(z) where it declares one (a VAE's N(0, I), the VampPrior's
    mixture of posteriors, a GAN's N(0, I)); for a deterministic autoencoder, N(0, I) over
    its code shape (the prior a WAE is trained towards). Reads no option."""
    if "sample" in run.abilities():
        return lambda k, n: run.sample_codes(n, k)
    shape = run.code_shape()
    return lambda k, n: np.asarray(jax.random.normal(k, (n, *shape)), np.float32)


@SAMPLERS.register("gmm")
def gmm(run, options: dict, key):
    """z ~ sum_c pi_c N(mu_c, S_c): scikit-learn's GaussianMixture with full covariances,
    fitted by EM to the codes of `fit_examples` training examples (option, 10,000).
    Options: components (10), fit_examples."""
    from sklearn.mixture import GaussianMixture

    codes = training_codes(run, options)
    seed = int(jax.random.randint(key, (), 0, 2 ** 31 - 1))
    mixture = GaussianMixture(int(options.get("components", 10)), covariance_type="full",
                              random_state=seed, reg_covar=1e-5).fit(codes)

    def sample(k, n):
        # sklearn draws from its own RandomState: seeded from the key, equal keys agree
        seed = int(jax.random.randint(k, (), 0, 2 ** 31 - 1))
        mixture.random_state = seed
        flat, _ = mixture.sample(n)  # (n, K), grouped by component: shuffle the rows
        return as_codes(run, np.random.default_rng(seed).permutation(flat))

    return sample
