"""Task `nll`: -log p(x) in nats: the importance-weighted bound -L_K, the exact value by
quadrature for latents of dimension <= 2, IWAE bounds, ELBO, KL, active units.

    p(x) = E_{z ~ q(z|x)} [p(x | z) p(z) / q(z | x)]
    log p(x) ~= logsumexp_k log w_k - log K,
    log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x),   z_k ~ q(z | x)

(Rezende et al. 2014; Burda et al. 2016). Its expectation is the bound L_K, which rises with K
towards log p(x); K = 5,000 is the usual reported setting. Samples are drawn `sample_chunk`
at a time for `example_batch` examples, sized so the decoder outputs of one chunk,
(S, B, D) floats, stay under `max_elements`; each example's K log-weights are reduced with
log-sum-exp.

Reported in nats per example (sums over the pixels), averaged over the examples:
  neg_log_px_bound -L_K with K samples: an upper bound on -log p(x) in expectation (its
                   std and standard error over the images, not the estimator's error)
  neg_log_px       the exact -log p(x) by quadrature (ae_jax/evaluation/quadrature.py),
                   where the latent has 1 or 2 dimensions, and how far the bound lies above
  gap_L1_minus_LK  the tail of the per-image gap (-L_1) - (-L_K): where it is large, q misses
                   posterior mass and the bound has not converged
  iwae             -L_k for k = 1, 10, 100, ... from disjoint groups of the K samples;
                   -L_1 is the Monte Carlo negative ELBO (with a defensive proposal, these
                   and the reconstruction are of the mixture's draws)
  negative_elbo    reconstruction + KL (the training loss at beta = 1)
  reconstruction   E_q[-log p(x | z)] (K samples), also per pixel
  kl               KL(q(z | x) || p(z)), the Monte Carlo mean of log q - log p over the K
                   draws (any q and p: Gaussian, flow, VampPrior mixture, hierarchy)
  active_units     latent dims d with Cov_x(E_q[z_d]) > 0.01 over the whole test set
                   (Burda et al. 2016), whatever num_examples is
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from ae_jax import viz, viz_latent
from ae_jax.data import to_float
from ae_jax.distributions import log_normal, reparameterize
from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.quadrature import DEFAULT_POINTS, prior_mass_on_grid, quadrature_log_px
from ae_jax.objectives.vae import importance_log_weights


def chunk_size(num_samples: int, per_sample_elements: int, max_elements: int) -> int:
    """The largest divisor S of num_samples with S * per_sample_elements <= max_elements."""
    fits = max(1, max_elements // max(1, per_sample_elements))
    return max(s for s in range(1, min(num_samples, fits) + 1) if num_samples % s == 0)


def defensive_draws(key, mean, logvar, num_samples: int, alpha: float, scale: float):
    """(z (S, B, L), log r(z) - log q(z | x) (S, B)) from the defensive mixture proposal

        r(z) = (1 - alpha) q(z | x) + alpha N(z; 0, scale^2 I)

    (Hesterberg 1995): the wide component bounds the weights p(x, z) / r(z) where q misses
    posterior mass, at the cost of a noisier estimate where q is good."""
    k_q, k_wide, k_pick = jax.random.split(key, 3)
    z_q = reparameterize(k_q, mean, logvar, num_samples)  # (S, B, L)
    z_wide = scale * jax.random.normal(k_wide, z_q.shape, z_q.dtype)
    pick = jax.random.bernoulli(k_pick, alpha, z_q.shape[:2])[..., None]  # (S, B, 1)
    z = jnp.where(pick, z_wide, z_q)
    log_q = log_normal(z, mean, logvar)
    log_wide = log_normal(z, 0.0, jnp.full_like(mean, 2.0 * math.log(scale)))
    log_r = jnp.logaddexp(math.log1p(-alpha) + log_q, math.log(alpha) + log_wide)
    return z, log_r - log_q


@dataclasses.dataclass(frozen=True)
class DensityFunctions:
    """A trained model's functions of (state, ...) that the bounds need (DENSITY ability).

    posterior_samples(state, x, S, key) -> (z (S, B, L), log q(z | x) (S, B))
    log_prior(state, z) -> log p(z) over the last axis
    decode(state, z (N, L)) -> the decoder's logits (bernoulli) or its mean (gaussian)
    posterior(state, x) -> (mean, logvar) of a Gaussian q: only for the defensive proposal
    """

    posterior_samples: Callable
    log_prior: Callable
    decode: Callable
    posterior: Callable | None = None


def _draws(fns: DensityFunctions, num_samples, defensive, state, x, key):
    """(z (S, B, L), log of the proposal's density (S, B)): q itself, or the defensive
    mixture of a Gaussian q (`defensive_draws`) when its alpha > 0."""
    alpha, scale = defensive
    if alpha <= 0:
        return fns.posterior_samples(state, x, num_samples, key)
    if fns.posterior is None:
        raise ValueError("--option=defensive needs a model with a Gaussian posterior "
                         "(ability 'posterior')")
    mean, logvar = fns.posterior(state, x)
    z, log_r_over_q = defensive_draws(key, mean, logvar, num_samples, alpha, scale)
    return z, log_normal(z, mean, logvar) + log_r_over_q


def _chunk_log_weights(fns: DensityFunctions, likelihood, num_samples, defensive, state, x,
                       key, output_logvar):
    """(log w, log p(x|z), log q(z|x) - log p(z)) of `num_samples` draws for a batch x,
    each (S, B). `defensive` = (alpha, scale) of the proposal; alpha 0 draws from q."""
    x = to_float(x)  # uint8 -> [0, 1]; floats pass through
    b = x.shape[0]
    z, log_q = _draws(fns, num_samples, defensive, state, x, key)  # (S, B, L), (S, B)
    out = fns.decode(state, z.reshape((num_samples * b, -1)))  # (S, B, L) -> (S*B, L)
    out = out.reshape((num_samples, b, -1))  # (S*B, H, W, C) -> (S, B, D)
    log_p_z = fns.log_prior(state, z)
    log_w, log_px = importance_log_weights(x.reshape((b, -1)), out, log_q, log_p_z,
                                           likelihood, output_logvar, with_likelihood=True)
    return log_w, log_px, log_q - log_p_z


def iwae_bounds(log_w: np.ndarray, ks) -> dict[int, np.ndarray]:
    """L_k per example for each k <= K: the mean over floor(K / k) disjoint groups of
    logsumexp(group) - log k. log_w is (K, B); returns k -> (B,)."""
    num = log_w.shape[0]
    out = {}
    for k in ks:
        if k > num:
            continue
        groups = np.asarray(log_w[: (num // k) * k], np.float64)
        groups = groups.reshape((num // k, k, -1))  # (K', B) -> (G, k, B)
        out[k] = np.mean(logsumexp(groups, axis=1) - math.log(k), axis=0)
    return out


def importance_sampled_stats(fns: DensityFunctions, state, x, key, num_samples: int,
                             likelihood: str = "bernoulli", output_logvar=0.0,
                             example_batch: int = 100, max_elements: int = 2 ** 24,
                             ks=(1, 10, 100, 1000), defensive=(0.0, 1.0)
                             ) -> dict[str, np.ndarray]:
    """Per-example log p^(x) (K samples), L_k, E_q log p(x|z) and KL, as numpy arrays.

    `fns`: the model's DensityFunctions. x is (N, ...), uint8 (scaled to [0, 1]) or floats.
    Batch i, chunk c draws with fold_in(fold_in(key, i), c). KL is the Monte Carlo
    E_q[log q(z|x) - log p(z)] over the K draws (of the proposal's, when defensive).
    """
    per_sample = min(example_batch, len(x)) * math.prod(x.shape[1:])
    chunk = chunk_size(num_samples, per_sample, max_elements)
    fn = jax.jit(functools.partial(_chunk_log_weights, fns, likelihood, chunk,
                                   tuple(defensive)))
    ks = tuple(sorted({k for k in ks if k < num_samples} | {num_samples}))
    stats = {"log_px": [], "log_px_given_z": [], "kl": [], **{f"L_{k}": [] for k in ks}}
    for i, start in enumerate(range(0, len(x), example_batch)):
        xb = jnp.asarray(x[start:start + example_batch])
        parts = [fn(state, xb, jax.random.fold_in(jax.random.fold_in(key, i), c),
                    output_logvar) for c in range(num_samples // chunk)]
        log_w = np.concatenate([np.asarray(p[0]) for p in parts])  # (K, B)
        for k, bound in iwae_bounds(log_w, ks).items():
            stats[f"L_{k}"].append(bound)
        stats["log_px"].append(stats[f"L_{num_samples}"][-1])
        stats["log_px_given_z"].append(np.mean([np.asarray(p[1]).mean(0) for p in parts], 0))
        stats["kl"].append(np.mean([np.asarray(p[2]).mean(0) for p in parts], 0))
    return {k: np.concatenate(v) for k, v in stats.items()}


def active_units(means: np.ndarray, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    """Burda et al. (2016): dimension d is active when Cov_x(E_q[z_d]) > threshold.

    means: posterior means (N, L) over a dataset; returns (count, per-dimension variance).
    """
    variance = np.var(np.asarray(means, np.float64), axis=0)
    return int(np.sum(variance > threshold)), variance


def model_functions(run) -> tuple[DensityFunctions, jax.Array]:
    """(DensityFunctions, output log-variance) of a trained model for
    `importance_sampled_stats`: its q, p(z) and decoder (logits for a Bernoulli decoder,
    the mean for a Gaussian one)."""
    run.require("density", "task 'nll'")
    family = run.family
    likelihood = run.config.loss.likelihood
    decode = family.decode_logits if likelihood == "bernoulli" else family.decode
    if run.model.learn_output_variance:
        output_logvar = family.call(run.state, "output_logvar")
    else:
        output_logvar = 2.0 * math.log(float(run.config.loss.output_stddev))
    posterior = family.posterior if "posterior" in run.abilities() else None
    fns = DensityFunctions(family.posterior_samples, family.log_prior, decode, posterior)
    return fns, jnp.float32(output_logvar)


def gap_tail(stats: dict, num_samples: int) -> dict:
    """The per-image gap (-L_1) - (-L_K) >= 0 in nats: its quantiles and the images where it
    is largest. A long tail says the bound has not converged for those images (q misses
    posterior mass there)."""
    gap = stats[f"L_{num_samples}"] - stats["L_1"]
    q = np.quantile(gap, [0.5, 0.9, 0.99])
    worst = np.argsort(gap)[::-1][:5]
    return {"median": float(q[0]), "q90": float(q[1]), "q99": float(q[2]),
            "max": float(gap.max()), "largest_at_images": [int(i) for i in worst]}


def _bound_numbers(stats: dict, num_samples: int, n: int, pixels: int) -> dict:
    bound = -stats[f"L_{num_samples}"]
    recon = -stats["log_px_given_z"]
    iwae = {k: float(-stats[f"L_{k}"].mean()) for k in sorted(
        int(name[2:]) for name in stats if name.startswith("L_"))}
    return {
        "neg_log_px_bound_nats": float(bound.mean()),
        "neg_log_px_bound_is": f"-L_K with K = {num_samples}: an upper bound on -log p(x) in "
                               "expectation (mean over images)",
        "neg_log_px_bound_std_over_images": float(bound.std()),
        "neg_log_px_bound_stderr_over_images": float(bound.std() / math.sqrt(n)),
        "iwae_nats": {str(k): v for k, v in iwae.items()},
        "gap_L1_minus_LK_nats": gap_tail(stats, num_samples) if 1 in iwae else None,
        "negative_elbo_nats": float((recon + stats["kl"]).mean()),
        "reconstruction_nats": float(recon.mean()),
        "reconstruction_per_pixel": float(recon.mean() / pixels),
        "kl_nats": float(stats["kl"].mean()),
    }


GRID_POINTS = Option("grid_points", 0, "quadrature points per latent axis (0: "
                     f"{DEFAULT_POINTS[2]} in 2-D, {DEFAULT_POINTS[1]} in 1-D)")
GRID_RADIUS = Option("grid_radius", 5.0, "the quadrature grid spans [-r, r] per latent axis "
                     "(prior standard deviations)")


def exact_numbers(run, fns: DensityFunctions, x, likelihood, output_logvar, options) -> dict:
    """-log p(x) by quadrature over the 1- or 2-D latent (ae_jax/evaluation/quadrature.py),
    on the grid of options `grid_points` and `grid_radius` (GRID_POINTS, GRID_RADIUS)."""
    latent = int(np.prod(run.code_shape()))
    points = options["grid_points"] or DEFAULT_POINTS[latent]
    radius = options["grid_radius"]
    mass = prior_mass_on_grid(fns.log_prior, run.state, latent, radius, points)
    if mass < 0.999:
        logging.warning("the quadrature grid [-%g, %g]^%d holds only %.4f of the prior's mass: "
                        "raise --option=grid_radius", radius, radius, latent, mass)
    fine, coarse = quadrature_log_px(fns.decode, fns.log_prior, run.state, x, latent, likelihood,
                                     output_logvar, radius, points)
    return {"neg_log_px_nats": float(-fine.mean()),
            "neg_log_px_is": f"exact up to the quadrature: a {points}^{latent} grid over "
                             f"[-{radius:g}, {radius:g}]^{latent}",
            "neg_log_px_std_over_images": float(fine.std()),
            "quadrature_max_change_at_half_the_points": float(np.max(np.abs(fine - coarse))),
            "prior_mass_on_grid": mass,
            "_per_image": -fine}


@task("nll",
      Option("num_samples", 5000, "importance samples K per example"),
      Option("num_examples", 0, "the first N test examples (0: all)"),
      Option("example_batch", 100, "examples per batch of the importance sampler"),
      Option("max_elements", 2 ** 24, "decoder outputs (floats) per chunk of samples"),
      Option("seed", 0, "folded into the run's evaluation key for the samples"),
      Option("method", "auto", "auto (importance sampling, plus quadrature for latents of "
             "dimension <= 2), quadrature or importance"),
      GRID_POINTS, GRID_RADIUS,
      Option("defensive", 0.0, "alpha: weight of N(0, s^2 I) in a defensive mixture "
             "proposal (0: q alone)"),
      Option("defensive_scale", 2.0, "s: the standard deviation of that wide component"))
def nll(run, out_dir: str, options: dict) -> dict:
    """-log p(x) in nats: the importance-weighted bound, the exact value in 1-2 D, IWAE, KL."""
    method = options["method"]
    if method not in ("auto", "quadrature", "importance"):
        raise ValueError(f"unknown --option=method={method!r}; use auto, quadrature or "
                         "importance")
    fns, output_logvar = model_functions(run)
    num_samples = options["num_samples"]
    n = options["num_examples"] or len(run.dataset.test)
    x = run.dataset.test[:n]
    key = jax.random.fold_in(run.eval_key, options["seed"])
    likelihood = run.config.loss.likelihood
    defensive = (options["defensive"], options["defensive_scale"])
    t0 = time.perf_counter()
    stats = importance_sampled_stats(
        fns, run.state, x, key, num_samples, likelihood, output_logvar,
        options["example_batch"], options["max_elements"],
        defensive=defensive)
    result = {"epoch": run.epoch, "likelihood": likelihood, "num_examples": int(n),
              "num_samples": num_samples, "defensive": list(defensive),
              **_bound_numbers(stats, num_samples, n, math.prod(run.dataset.example_shape))}
    if method == "quadrature" or (method == "auto" and np.prod(run.code_shape()) <= 2):
        exact = exact_numbers(run, fns, x, likelihood, output_logvar, options)
        gap = -stats[f"L_{num_samples}"] - exact.pop("_per_image")
        result.update(exact, bound_minus_exact_nats=float(gap.mean()),
                      bound_minus_exact_max_nats=float(gap.max()))
    result["seconds"] = time.perf_counter() - t0
    count, variance = active_units(run.encode(run.dataset.test))
    result.update(active_units=count, posterior_mean_variance=[float(v) for v in variance])
    iwae = result["iwae_nats"]
    viz.save(viz_latent.bound_curve([int(k) for k in iwae], list(iwae.values()),
                                    f"-L_k on {n} test examples (nats)"),
             os.path.join(out_dir, "nll_iwae_bounds.png"))
    return result
