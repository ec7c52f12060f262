"""The maximum mean discrepancy between the codes and the prior: the penalty of WAE-MMD
(Tolstikhin, Bousquet, Gelly and Schoelkopf, 2018, "Wasserstein Auto-Encoders", ICLR 2018)
and of InfoVAE / MMD-VAE (Zhao, Song and Ermon, 2017, "InfoVAE: Information Maximizing
Variational Autoencoders", arXiv:1706.02262).

For a kernel k, the squared MMD between the aggregate posterior q(z) = E_x q(z | x) and the
prior p(z) = N(0, I) is

    MMD^2(q, p) = E k(z, z') + E k(y, y') - 2 E k(z, y),    z, z' ~ q,  y, y' ~ p,

zero if and only if q = p (for the characteristic kernels below). On a batch of n codes
z_1..z_n (the batch's sample of q) and n prior draws y_1..y_n, the term is the unbiased
U-statistic of the WAE paper (Algorithm 2):

    MMD^2_u = 1/(n(n-1)) sum_{i != j} k(z_i, z_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
              - 2/n^2 sum_{i, j} k(z_i, y_j).

The z and y samples are independent, so the cross term's i = j pairs are unbiased too:
E[MMD^2_u] = MMD^2(q, p) exactly, and the estimate can be negative when q = p.

Kernels (`loss.mmd_kernel`), on the squared distance r = ||a - b||^2 and a scale C (squared
code units) with the WAE paper's base C_0 = 2 d_z sigma_p^2 (d_z the code size, sigma_p = 1
the prior's scale) times `loss.mmd_scale`:

    imq   k(a, b) = sum_c  c C_0 / (c C_0 + r)                 (inverse multiquadratics)
    rbf   k(a, b) = sum_c  exp(-r / (c C_0)),  i.e. exp(-r / (2 s^2)) with 2 s^2 = c C_0

summed over the multipliers c of `loss.mmd_scales`. Its default () is the kernel's own:
for imq the seven scales c in {.1, .2, .5, 1, 2, 5, 10} that the WAE authors' code sums
(github.com/tolstikhin/wae, wae.py `mmd_penalty`: a sum of positive-definite kernels is one,
and heavy-tailed IMQ at several widths keeps gradients for far-away codes); for rbf the one
width c = 1, s^2 = d_z sigma_p^2 (the WAE code picks the RBF width by the median heuristic
instead; a fixed width keeps the term a smooth function of the codes). E||y - y'||^2 = 2 d_z
for y, y' ~ N(0, I), so c = 1 puts the kernel's width at the prior's typical distance.

Codes: a VAE's sample z ~ q(z | x) (aux["z"], a draw from the aggregate posterior) when the
model has one, else the deterministic code aux["code"] (a WAE's encoder), flattened to
(B, d_z). The prior draws come from the term's key `t.key`, one per row (row i from
fold_in(key, i), so the draws of the real rows do not depend on the padding). Evaluation
padding (`t.mask` = 0) enters no sum: n is the number of real rows, and the n prior draws
are those of the real rows. The value is one number per batch, broadcast to (B,) as
`l2_weights` is, so the batch mean of the loss adds exactly weight * MMD^2_u.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax.objectives.terms import TERMS, PerExample, TermInputs

WAE_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # imq's default multipliers (WAE code)
DEFAULT_SCALES = {"imq": WAE_SCALES, "rbf": (1.0,)}
PRIOR_SCALE = 1.0  # sigma_p of the prior N(0, sigma_p^2 I)


def squared_distances(a, b) -> jax.Array:
    """||a_i - b_j||^2 for every pair: (N, K), (M, K) -> (N, M), clipped at 0 (the
    expansion ||a||^2 + ||b||^2 - 2 a.b can round below it). The products in full float32
    (an accelerator's default TF32 / bfloat16 passes would spoil the cancellation)."""
    cross = jnp.matmul(a, b.T, precision=jax.lax.Precision.HIGHEST)  # (N, M)
    sq = jnp.sum(jnp.square(a), axis=1)[:, None] + jnp.sum(jnp.square(b), axis=1)[None, :]
    return jnp.maximum(sq - 2.0 * cross, 0.0)


def kernel_matrix(a, b, kernel: str, base: float, scales) -> jax.Array:
    """k(a_i, b_j) of the module docstring, (N, M): imq or rbf summed over the multipliers
    `scales` of the base scale C_0 = `base` (squared code units)."""
    r = squared_distances(a, b)  # (N, M)
    if kernel == "imq":
        return sum(c * base / (c * base + r) for c in scales)
    if kernel == "rbf":
        return sum(jnp.exp(-r / (c * base)) for c in scales)
    raise ValueError(f"unknown loss.mmd_kernel {kernel!r}: use 'imq' or 'rbf'")


def base_scale(dim: int, mmd_scale: float) -> float:
    """C_0 = mmd_scale * 2 d_z sigma_p^2 (squared code units)."""
    return mmd_scale * 2.0 * dim * PRIOR_SCALE ** 2


def mmd_u(z, y, mask, kernel: str, base: float, scales) -> jax.Array:
    """MMD^2_u of the module docstring, a scalar, between the rows of z (B, K) and y (B, K)
    whose `mask` (B,) is 1 (n = sum(mask) of them; needs n >= 2)."""
    real = mask > 0  # (B,)
    pairs = real[:, None] & real[None, :]  # (B, B): both rows real
    distinct = pairs & ~jnp.eye(len(mask), dtype=bool)  # ... and i != j
    n = jnp.sum(real.astype(jnp.float32))
    total = {}
    for name, (a, b, where) in {"zz": (z, z, distinct), "yy": (y, y, distinct),
                                "zy": (z, y, pairs)}.items():
        # where(), not a product with the mask: garbage (even inf) in padded rows stays out
        total[name] = jnp.sum(jnp.where(where, kernel_matrix(a, b, kernel, base, scales), 0.0))
    within = (total["zz"] + total["yy"]) / jnp.maximum(n * (n - 1.0), 1.0)
    return within - 2.0 * total["zy"] / jnp.maximum(n * n, 1.0)


def codes_of(aux) -> jax.Array:
    """The batch's sample of q(z): aux["z"] (a VAE's z ~ q(z | x)) if present, else
    aux["code"] (a deterministic encoder), as (B, d_z) float32 rows."""
    code = aux["z"] if "z" in aux else aux["code"]
    return code.reshape((code.shape[0], -1)).astype(jnp.float32)  # (B, ...) -> (B, d_z)


def prior_draws(key, n: int, dim: int) -> jax.Array:
    """(n, dim) draws of N(0, sigma_p^2 I), row i from fold_in(key, i)."""
    rows = jnp.arange(n)
    return PRIOR_SCALE * jax.vmap(
        lambda i: jax.random.normal(jax.random.fold_in(key, i), (dim,)))(rows)  # (n, dim)


def kernel_scales(loss_config) -> tuple[float, ...]:
    """`loss.mmd_scales`, or the kernel's default multipliers when it is ()."""
    scales = tuple(loss_config.mmd_scales)
    if scales:
        return scales
    kernel = loss_config.mmd_kernel
    if kernel not in DEFAULT_SCALES:
        raise ValueError(f"unknown loss.mmd_kernel {kernel!r}: use 'imq' or 'rbf'")
    return DEFAULT_SCALES[kernel]


@TERMS.register("mmd")
def mmd(t: TermInputs) -> PerExample:
    """MMD^2_u(q(z), N(0, I)) of the batch's codes against as many prior draws (module
    docstring): 1/(n(n-1)) sum_{i != j} [k(z_i, z_j) + k(y_i, y_j)] - 2/n^2 sum_{i, j}
    k(z_i, y_j), kernel loss.mmd_kernel with the scales loss.mmd_scale, loss.mmd_scales.
    Batch-level over the real rows, broadcast to (B,)."""
    if t.key is None:
        raise ValueError("loss term mmd draws from the prior and needs a key (TermInputs.key)")
    z = codes_of(t.aux)  # (B, d_z)
    y = prior_draws(t.key, z.shape[0], z.shape[1])  # (B, d_z)
    value = mmd_u(z, y, t.real(), t.config.mmd_kernel, base_scale(z.shape[1],
                  t.config.mmd_scale), kernel_scales(t.config))
    return jnp.full((t.batch_size,), value, dtype=jnp.float32)
