"""VQ-VAE: van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete Representation
Learning".

A conv encoder and a 1x1 projection give z_e(x) of shape (B, h, w, D); each of its h*w
vectors is replaced by its nearest codebook vector,

    k(i) = argmin_k ||z_e,i - e_k||^2,      z_q,i = e_k(i)        (codebook e: (K, D))

and the decoder reads the straight-through value

    z_st = z_e + sg(z_q - z_e)        (= z_q in the forward pass, d z_st / d z_e = I)

so the reconstruction gradient skips the (non-differentiable) argmin and reaches the
encoder unchanged. The loss (ae_jax/objectives/vq.py) is

    L = -log p(x | z_st) + ||sg(z_e) - z_q||^2 + beta ||z_e - sg(z_q)||^2    (beta 0.25)

Two ways to learn the codebook (`codebook_update`):

  "gradient"  e is a parameter, trained by the codebook term ||sg(z_e) - z_q||^2 only (the
              reconstruction does not reach it through the straight-through estimator, and
              the commitment term stops its gradient).
  "ema"       the paper's appendix A.1 (Sonnet's VectorQuantizerEMA): e, the cluster sizes
              N_k and the sums m_k live in the mutable collection "vq", and each training
              forward pass (train=True), with n_k the positions of the batch assigned to k,
              sets
                  N_k <- g N_k + (1 - g) n_k
                  m_k <- g m_k + (1 - g) sum_{i: k(i) = k} z_e,i
                  e_k  = m_k / N~_k,   N~_k = (N_k + eps) / (n + K eps) * n,   n = sum_k N_k
              (decay g = codebook_decay, Laplace smoothing eps = 1e-5 keeps e_k finite for a
              code that is never used). The quantised value of the batch uses the codebook
              before the update, as Sonnet does. The EMAs are not zero-debiased: N_k starts
              at 1 and m_k at the initial e_k (a pseudo-count of one at the random initial
              vector, so e = m / N~ holds from the start); the pseudo-count decays as g^t.
              The codebook term is left out (it would have no gradient to give).

Dead codes (EMA only, `dead_code_threshold` > 0): after the EMA update of a training
forward pass, every code whose N_k is below the threshold (units: positions per batch, the
unit of N_k) is re-initialised to the encoder output z_e,i of a position i of the batch
drawn uniformly with the "sample" rng, with N_k = threshold and m_k = threshold * e_k. It
fires in every training step in which some code's usage has decayed below the threshold
(with N_k <- g N_k + (1 - g) n_k, a re-initialised code falls below it again unless it is
assigned at least `threshold` positions of the next batch); never in evaluation.

aux: "code" = z_e (what `encode` returns; `decode` quantises it, so decode(code) is the
reconstruction), "z_e", "z_q" (the codebook vectors e_k(i), with the gradient to a
"gradient" codebook: the codebook term reads it), "indices" (B, h, w) int32, "hidden" the
encoder's activations, and aux["metrics"]["_code_usage"] (B, K): the fraction of each
example's positions assigned to each code; `finalize_metrics` turns its mean p into the
codebook perplexity exp(-sum_k p_k log p_k) (1: one code used; K: all used equally).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.abilities import DECODE, ENCODE
from ae_jax.models.activations import get_dtype
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.conv import ConvDecoder, ConvEncoder, feature_shape, resolve_impl
from ae_jax.models.initializers import affine_draw

LAPLACE_EPSILON = 1e-5  # eps of the Laplace-smoothed cluster sizes (Sonnet's default)
CODEBOOK_UPDATES = ("gradient", "ema")


def nearest_code(z: jax.Array, codebook: jax.Array) -> jax.Array:
    """argmin_k ||z_i - e_k||^2 for every vector of z (..., D); codebook (K, D) ->
    indices (...) int32 (ties: the lowest k)."""
    flat = z.reshape((-1, z.shape[-1]))  # (..., D) -> (N, D)
    dist = (jnp.sum(jnp.square(flat), axis=1, keepdims=True) - 2.0 * flat @ codebook.T
            + jnp.sum(jnp.square(codebook), axis=1)[None, :])  # (N, K)
    return jnp.argmin(dist, axis=1).astype(jnp.int32).reshape(z.shape[:-1])  # (N,) -> (...)


def straight_through(z_e: jax.Array, z_q: jax.Array) -> jax.Array:
    """z_e + sg(z_q - z_e): the value of z_q with the gradient of z_e (identity Jacobian)."""
    return z_e + jax.lax.stop_gradient(z_q - z_e)


def ema_update(cluster_size, embed_sum, z_flat, one_hot, decay: float,
               eps: float = LAPLACE_EPSILON):
    """One EMA step (module docstring): cluster sizes N (K,), sums m (K, D), the batch's
    vectors z_flat (N, D) and their one-hot assignments (N, K) -> (N', m', e')."""
    counts = jnp.sum(one_hot, axis=0)  # (K,): n_k
    sums = one_hot.T @ z_flat  # (K, D): sum of the vectors assigned to each code
    cluster_size = decay * cluster_size + (1.0 - decay) * counts
    embed_sum = decay * embed_sum + (1.0 - decay) * sums
    total = jnp.sum(cluster_size)
    smoothed = (cluster_size + eps) / (total + cluster_size.shape[0] * eps) * total  # (K,)
    return cluster_size, embed_sum, embed_sum / smoothed[:, None]


def reinit_dead_codes(key, codebook, cluster_size, embed_sum, z_flat, threshold: float):
    """Codes with N_k < threshold -> the vector of a uniformly drawn row of z_flat (N, D),
    with N_k = threshold and m_k = threshold * e_k; the others are kept. Returns
    (codebook, cluster_size, embed_sum)."""
    dead = cluster_size < threshold  # (K,)
    picks = jax.random.randint(key, cluster_size.shape, 0, z_flat.shape[0])  # (K,)
    fresh = z_flat[picks]  # (K, D)
    codebook = jnp.where(dead[:, None], fresh, codebook)
    embed_sum = jnp.where(dead[:, None], threshold * fresh, embed_sum)
    cluster_size = jnp.where(dead, threshold, cluster_size)
    return codebook, cluster_size, embed_sum


def perplexity(usage: jax.Array) -> jax.Array:
    """exp(-sum_k p_k log p_k) of code frequencies p (..., K) (0 log 0 = 0)."""
    p = usage / jnp.sum(usage, axis=-1, keepdims=True)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0),
                            axis=-1))


class VectorQuantizer(nn.Module):
    """The codebook and the nearest-neighbour quantisation of vectors (..., D)."""

    num_codes: int
    embedding_dim: int
    update: str = "gradient"  # gradient | ema (module docstring)
    decay: float = 0.99
    dead_code_threshold: float = 0.0

    def setup(self):
        if self.update not in CODEBOOK_UPDATES:
            raise ValueError(f"unknown codebook_update {self.update!r}: use gradient or ema")
        limit = math.sqrt(3.0 / self.embedding_dim)  # Var(e_kd) = 1 / D, so ||e_k|| ~ 1
        init = affine_draw(jax.random.uniform, 2 * limit, -limit)  # U(-limit, limit)
        shape = (self.num_codes, self.embedding_dim)
        if self.update == "gradient":
            self.embeddings = self.param("codebook", init, shape)
            return
        self.ema_codebook = self.variable(
            "vq", "codebook", lambda: init(self.make_rng("params"), shape))
        self.cluster_size = self.variable("vq", "cluster_size", jnp.ones, (self.num_codes,))
        self.embed_sum = self.variable(  # a buffer of its own (the state's leaves are donated)
            "vq", "embed_sum", lambda: jnp.array(self.ema_codebook.value, copy=True))

    def codebook(self) -> jax.Array:
        """e: (K, D) float32."""
        return self.embeddings if self.update == "gradient" else self.ema_codebook.value

    def indices(self, z) -> jax.Array:
        """k(i) for vectors z (..., D): (...) int32."""
        return nearest_code(z.astype(jnp.float32), jax.lax.stop_gradient(self.codebook()))

    def quantize(self, z) -> jax.Array:
        """z_q: every vector of z (..., D) replaced by its nearest codebook vector."""
        return jnp.take(self.codebook(), self.indices(z), axis=0)

    def __call__(self, z_e, train: bool = False) -> dict:
        """{"z_q", "z_st", "indices", "usage" (B, K)} of z_e (B, h, w, D); with train and
        the EMA codebook, updates "vq" after quantising with the current codebook."""
        codebook = self.codebook()
        indices = self.indices(z_e)  # (B, h, w)
        z_q = jnp.take(codebook, indices, axis=0)  # (B, h, w, D)
        one_hot = jax.nn.one_hot(indices, self.num_codes, dtype=jnp.float32)  # (B, h, w, K)
        per_example = one_hot.reshape((z_e.shape[0], -1, self.num_codes))  # -> (B, h*w, K)
        usage = jnp.mean(per_example, axis=1)  # (B, K)
        if train and self.update == "ema":
            self._ema_step(jax.lax.stop_gradient(z_e),
                           one_hot.reshape((-1, self.num_codes)))  # (B, h, w, K) -> (N, K)
        return {"z_q": z_q, "z_st": straight_through(z_e, z_q), "indices": indices,
                "usage": usage}

    def _ema_step(self, z_e, one_hot):
        z_flat = z_e.reshape((-1, self.embedding_dim))  # (B, h, w, D) -> (N, D)
        size, sums, codebook = ema_update(self.cluster_size.value, self.embed_sum.value,
                                          z_flat, one_hot, self.decay)
        if self.dead_code_threshold > 0:
            codebook, size, sums = reinit_dead_codes(self.make_rng("sample"), codebook, size,
                                                     sums, z_flat, self.dead_code_threshold)
        self.cluster_size.value, self.embed_sum.value = size, sums
        self.ema_codebook.value = codebook


class VQVAE(nn.Module):
    """Conv encoder -> 1x1 projection to embedding_dim -> VectorQuantizer -> conv decoder.

    Attributes:
      output_shape: (H, W, C) of one example.
      encoder_layers, decoder_layers: the conv layer language of ae_jax/models/conv.py; each
        "pool" halves the grid (28 -> 14 -> 7 with two), the decoder's "up"s undo it.
      num_codes: K, the codebook size; embedding_dim: D, the size of each code vector.
      codebook_update: "gradient" | "ema"; codebook_decay: the EMA's g;
      dead_code_threshold: EMA only; 0 turns the re-initialisation off (module docstring).
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE})
    HAS_TRAIN_MODE: ClassVar[bool] = True  # __call__(x, train): train updates the EMA codebook

    output_shape: Sequence[int]
    encoder_layers: Sequence[str]
    decoder_layers: Sequence[str]
    num_codes: int
    embedding_dim: int
    codebook_update: str = "gradient"
    codebook_decay: float = 0.99
    dead_code_threshold: float = 0.0
    kernel_size: int = 3
    activation: str = "relu"
    output_activation: str = "sigmoid"
    compute_dtype: str = "float32"
    conv_impl: str = "auto"  # see ae_jax.models.conv.resolve_impl

    @property
    def xla_conv_gradients(self) -> bool:
        return resolve_impl(self.conv_impl) == "lax"

    def setup(self):
        dtype = get_dtype(self.compute_dtype)
        grid = feature_shape(self.output_shape, self.encoder_layers, self.kernel_size)[:2]
        shared = dict(kernel_size=self.kernel_size, activation=self.activation, dtype=dtype,
                      conv_impl=self.conv_impl)
        self.encoder = ConvEncoder(tuple(self.encoder_layers), **shared)
        self.projection = nn.Dense(self.embedding_dim, name="projection")  # a 1x1 conv
        self.quantizer = VectorQuantizer(self.num_codes, self.embedding_dim,
                                         self.codebook_update, self.codebook_decay,
                                         self.dead_code_threshold)
        self.decoder = ConvDecoder(tuple(self.decoder_layers),
                                   output_shape=tuple(self.output_shape),
                                   code_shape=(*grid, self.embedding_dim), **shared)

    def _encode(self, x):
        h, hidden = self.encoder(x)
        return self.projection(h.astype(jnp.float32)), hidden  # (B, h, w, D) float32

    def encode(self, x):
        """z_e: (B, h, w, D), before quantisation."""
        return self._encode(x)[0]

    def decode(self, z):
        """Logits (B, H, W, C) of codes z (B, h, w, D), quantised first: any continuous code
        decodes as its nearest codebook vectors, and a codebook vector as itself."""
        return self.decoder(self.quantizer.quantize(z))

    def codebook(self):
        """e: (K, D)."""
        return self.quantizer.codebook()

    def code_indices(self, x):
        """k(i) of every position of x's code: (B, h, w) int32."""
        return self.quantizer.indices(self.encode(x))

    def __call__(self, x, train: bool = False):
        z_e, hidden = self._encode(x)
        q = self.quantizer(z_e, train)
        logits = self.decoder(q["z_st"])
        aux = {"code": z_e, "z_e": z_e, "z_q": q["z_q"], "indices": q["indices"],
               "hidden": hidden, "metrics": {"_code_usage": q["usage"]}}
        return logits, aux

    @staticmethod
    def finalize_metrics(means) -> dict:
        """{"perplexity": exp(H(p))} of the mean code usage p = means["_code_usage"] (K,)."""
        return {"perplexity": perplexity(means["_code_usage"])}


@MODELS.register("vq_vae")
def build_vq_vae(model_config, example_shape) -> VQVAE:
    """model.name="vq_vae": every VQVAE field from `model_config`."""
    if not model_config.encoder_layers or not model_config.decoder_layers:
        raise ValueError("vq_vae needs model.encoder_layers and model.decoder_layers")
    if model_config.dead_code_threshold > 0 and model_config.codebook_update != "ema":
        raise ValueError("model.dead_code_threshold re-initialises an EMA codebook only: set "
                         "model.codebook_update='ema' or dead_code_threshold=0")
    return module_from_config(VQVAE, model_config, output_shape=example_shape)
