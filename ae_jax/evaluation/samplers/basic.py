"""The prior, and a Gaussian mixture fitted to the training codes (Ghosh et al. 2020's
ex-post density estimation, which makes deterministic autoencoders generative)."""

from __future__ import annotations

import jax
import numpy as np

from ae_jax.evaluation.options import Option
from ae_jax.evaluation.samplers import FIT_EXAMPLES, as_codes, sampler, training_codes


@sampler("prior")
def prior(run, options: dict, key):
    """The model's own prior p(z), or N(0, I) for a model that declares none.

    The declared prior: a VAE's N(0, I), the VampPrior's mixture of posteriors, a GAN's
    N(0, I); for a deterministic autoencoder, N(0, I) over its code shape (the prior a WAE
    is trained towards)."""
    if "sample" in run.abilities():
        return lambda k, n: run.sample_codes(n, k)
    shape = run.code_shape()
    return lambda k, n: np.asarray(jax.random.normal(k, (n, *shape)), np.float32)


@sampler("gmm", Option("components", 10, "Gaussian components of the mixture"), FIT_EXAMPLES)
def gmm(run, options: dict, key):
    """A Gaussian mixture with full covariances, fitted by EM to the training codes.

    z ~ sum_c pi_c N(mu_c, S_c): scikit-learn's GaussianMixture, fitted to the codes of
    `fit_examples` training examples."""
    from sklearn.mixture import GaussianMixture

    codes = training_codes(run, options)
    seed = int(jax.random.randint(key, (), 0, 2 ** 31 - 1))
    mixture = GaussianMixture(options["components"], covariance_type="full",
                              random_state=seed, reg_covar=1e-5).fit(codes)

    def sample(k, n):
        # sklearn draws from its own RandomState: seeded from the key, equal keys agree
        seed = int(jax.random.randint(k, (), 0, 2 ** 31 - 1))
        mixture.random_state = seed
        flat, _ = mixture.sample(n)  # (n, K), grouped by component: shuffle the rows
        return as_codes(run, np.random.default_rng(seed).permutation(flat))

    return sample
