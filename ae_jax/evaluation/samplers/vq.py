"""Priors over a VQ-VAE's code indices, fitted to the training split after training (van
den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning", sample
from a PixelCNN over the latent grid; the masks are those of van den Oord, Kalchbrenner &
Kavukcuoglu 2016, "Pixel Recurrent Neural Networks").

A VQ-VAE codes an image as an h x w grid of indices k_ij in {0 .. K-1} (ae_jax/models/vq.py:
`code_indices`, `codebook`). The samplers here draw index grids and return the codes
e_{k_ij}, shape (n, h, w, D), for `run.decode`:

    vq_histogram   p(k) = prod_ij p_ij(k_ij),  p_ij the empirical frequency of each code at
                   position (i, j) of the training grids (positions independent)
    vq_pixelcnn    p(k) = prod_ij p(k_ij | k_<ij) in raster order: embedding -> masked conv
                   type A (sees only the positions before (i, j)) -> residual masked convs
                   type B (also the position itself, whose features already exclude it) ->
                   1x1 layers -> softmax over K; trained with Adam on the cross-entropy of
                   the training grids, sampled position by position (h*w passes)

`*_nll` give the mean negative log-likelihood per index in nats (log K for the uniform
prior).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ae_jax.data import to_float
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.samplers import FIT_EXAMPLES, sampler

# the PixelCNN's options (`fit_pixelcnn`'s and `PixelCNN`'s defaults come from here)
STEPS = Option("steps", 1000, "Adam steps of the PixelCNN")
BATCH_SIZE = Option("batch_size", 128, "index grids per Adam step")
LEARNING_RATE = Option("learning_rate", 1e-3, "Adam's learning rate")
FEATURES = Option("features", 32, "channels of the PixelCNN's layers")
LAYERS = Option("layers", 4, "residual masked type-B 3x3 convolutions after the type-A one")


# -- the training indices and the codebook of a run -------------------------------------------
def training_indices(run, options: dict) -> np.ndarray:
    """Code indices (N, h, w) int32 of the first `options["fit_examples"]` (FIT_EXAMPLES;
    0: all) training examples."""
    n = options["fit_examples"] or len(run.dataset.train)
    x = run.dataset.train[:n]
    return np.asarray(run.map("code_indices",
                              lambda s, b: run.family.call(s, "code_indices", to_float(b)),
                              x), np.int32)


def codebook_of(run) -> np.ndarray:
    """The run's codebook e: (K, D) float32."""
    return np.asarray(run.family.call(run.state, "codebook"), np.float32)


def as_vq_codes(codebook: np.ndarray, indices) -> np.ndarray:
    """Index grids (n, h, w) -> codes codebook[indices] (n, h, w, D) float32."""
    return np.asarray(codebook, np.float32)[np.asarray(indices)]


# -- independent per-position histograms --------------------------------------------------------
def fit_histogram(indices: np.ndarray, num_codes: int) -> np.ndarray:
    """p_ij(k): the frequency of code k at position (i, j) of `indices` (N, h, w) ->
    (h, w, K), each row summing to 1."""
    one_hot = np.eye(num_codes, dtype=np.float64)[indices]  # (N, h, w) -> (N, h, w, K)
    return one_hot.mean(axis=0)


def histogram_nll(probs: np.ndarray, indices: np.ndarray) -> float:
    """-mean_{n,i,j} log p_ij(k_nij), nats per index (p floored at 1e-300: an index never
    seen at its position, possible on other grids than the fitted ones, costs 690 nats)."""
    h, w = probs.shape[:2]
    picked = probs[np.arange(h)[:, None], np.arange(w)[None, :], indices]  # (N, h, w)
    return float(-np.mean(np.log(np.maximum(picked, 1e-300))))


def sample_histogram(probs: np.ndarray, key, n: int) -> np.ndarray:
    """n grids (n, h, w) int32, every position drawn independently from p_ij."""
    logits = jnp.log(jnp.asarray(probs, jnp.float32))  # (h, w, K); log 0 = -inf: never drawn
    return np.asarray(jax.random.categorical(key, logits, shape=(n, *probs.shape[:2])),
                      np.int32)


# -- a small PixelCNN ---------------------------------------------------------------------------
def causal_mask(kernel_size: int, mask_type: str) -> np.ndarray:
    """(k, k) mask of the positions a masked conv reads: the rows above the centre, the centre
    row left of the centre, and (type "B") the centre itself."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"unknown mask type {mask_type!r}: use A or B")
    c = kernel_size // 2
    mask = np.zeros((kernel_size, kernel_size), np.float32)
    mask[:c, :] = 1.0
    mask[c, :c] = 1.0
    mask[c, c] = 1.0 if mask_type == "B" else 0.0
    return mask


class MaskedConv(nn.Module):
    """'same' convolution restricted to the taps of `causal_mask` (no later position in
    raster order reaches an output), computed as one matmul of the shifted copies of x at
    those taps (12 of 25 for a 5x5 type A, 5 of 9 for a 3x3 type B): the masked kernel's
    zeros are never multiplied."""

    features: int
    kernel_size: int
    mask_type: str

    @nn.compact
    def __call__(self, x):
        n, h, w, c = x.shape
        r = self.kernel_size // 2
        taps = np.argwhere(causal_mask(self.kernel_size, self.mask_type) > 0)  # (T, 2)
        kernel = self.param("kernel", nn.initializers.lecun_normal(),
                            (len(taps) * c, self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        xp = jnp.pad(x, ((0, 0), (r, r), (r, r), (0, 0)))
        patches = jnp.concatenate([xp[:, dy:dy + h, dx:dx + w, :] for dy, dx in taps],
                                  axis=-1)  # (n, h, w, T*C)
        return patches @ kernel + bias  # (n, h, w, T*C) @ (T*C, F) -> (n, h, w, F)


class PixelCNN(nn.Module):
    """Index grids (n, h, w) int32 -> logits (n, h, w, K) of p(k_ij | k_<ij)."""

    num_codes: int
    features: int = FEATURES.default
    num_layers: int = LAYERS.default
    first_kernel: int = 5

    @nn.compact
    def __call__(self, indices):
        x = nn.Embed(self.num_codes, self.features, name="embed")(indices)  # (n, h, w, F)
        x = nn.relu(MaskedConv(self.features, self.first_kernel, "A", name="conv_a")(x))
        for i in range(self.num_layers):
            x = x + nn.relu(MaskedConv(self.features, 3, "B", name=f"conv_b{i}")(x))
        x = nn.relu(nn.Dense(self.features, name="hidden")(x))  # 1x1 layers from here
        return nn.Dense(self.num_codes, name="logits")(x)


def index_nll(logits, indices) -> jax.Array:
    """Cross-entropy -log softmax(logits)[k] per index: (n, h, w, K), (n, h, w) -> (n, h, w)."""
    return optax.softmax_cross_entropy_with_integer_labels(logits, indices)


@functools.lru_cache(maxsize=16)
def _jitted(model: PixelCNN, batch_size: int):
    """(apply, step) of `model` compiled once per architecture and batch size (a sampler
    fitted twice, or fitted and scored, compiles once): apply(params, idx) -> logits and
    one Adam step(params, opt_state, data, key, learning_rate) on a random batch of data."""
    adam = optax.scale_by_adam()

    def loss_fn(params, batch):
        return jnp.mean(index_nll(model.apply({"params": params}, batch), batch))

    @jax.jit
    def step(params, opt_state, data, key, learning_rate):
        rows = jax.random.randint(key, (batch_size,), 0, data.shape[0])
        grads = jax.grad(loss_fn)(params, data[rows])  # a (batch_size, h, w) batch
        updates, opt_state = adam.update(grads, opt_state)
        updates = jax.tree_util.tree_map(lambda u: -learning_rate * u, updates)
        return optax.apply_updates(params, updates), opt_state

    return jax.jit(lambda params, idx: model.apply({"params": params}, idx)), adam, step


def fit_pixelcnn(indices: np.ndarray, num_codes: int, key, steps: int = STEPS.default,
                 batch_size: int = BATCH_SIZE.default,
                 learning_rate: float = LEARNING_RATE.default,
                 features: int = FEATURES.default, num_layers: int = LAYERS.default):
    """(model, params): a PixelCNN trained with Adam on random batches of `indices`
    (N, h, w) for `steps` steps, minimising the mean index cross-entropy."""
    model = PixelCNN(num_codes, features, num_layers)
    _, adam, step = _jitted(model, batch_size)
    data = jnp.asarray(indices, jnp.int32)
    init_key, batch_key = jax.random.split(key)
    params = model.init(init_key, data[:1])["params"]
    opt_state = adam.init(params)
    rate = jnp.float32(learning_rate)
    for i in range(steps):
        params, opt_state = step(params, opt_state, data, jax.random.fold_in(batch_key, i),
                                 rate)
    return model, params


def pixelcnn_nll(model, params, indices: np.ndarray, batch_size: int = 1000) -> float:
    """-mean log p(k_ij | k_<ij) over the grids `indices` (N, h, w), nats per index."""
    apply = _jitted(model, BATCH_SIZE.default)[0]
    n, size = len(indices), min(batch_size, len(indices))  # one batch shape: one compile
    total = 0.0
    for start in range(0, n, size):
        rows = np.arange(start, start + size)
        batch = jnp.asarray(indices[rows % n])  # the last batch wraps around ...
        nll = index_nll(apply(params, batch), batch)  # (size, h, w)
        total += float(jnp.sum(nll[:n - start]))  # ... and its repeats are cut
    return total / indices.size


def sample_pixelcnn(model, params, key, n: int, grid: tuple[int, int]) -> np.ndarray:
    """n grids (n, h, w) int32 drawn position by position in raster order (h*w passes of
    one jitted logits function)."""
    apply = _jitted(model, BATCH_SIZE.default)[0]
    h, w = grid
    idx = jnp.zeros((n, h, w), jnp.int32)
    for pos in range(h * w):
        i, j = divmod(pos, w)
        logits = apply(params, idx)[:, i, j]  # (n, K): reads only the positions before (i, j)
        idx = idx.at[:, i, j].set(jax.random.categorical(jax.random.fold_in(key, pos), logits))
    return np.asarray(idx, np.int32)


# -- the registered samplers --------------------------------------------------------------------
@sampler("vq_histogram", FIT_EXAMPLES)
def vq_histogram(run, options: dict, key):
    """Independent per-position histograms of a VQ-VAE's training code indices.

    Fitted to the index grids of `fit_examples` training examples."""
    codebook = codebook_of(run)
    probs = fit_histogram(training_indices(run, options), len(codebook))
    return lambda k, n: as_vq_codes(codebook, sample_histogram(probs, k, n))


@sampler("vq_pixelcnn", FIT_EXAMPLES, STEPS, BATCH_SIZE, LEARNING_RATE, FEATURES, LAYERS)
def vq_pixelcnn(run, options: dict, key):
    """A PixelCNN prior over a VQ-VAE's code indices, sampled position by position.

    Trained with Adam from `key` on the index grids of `fit_examples` training examples."""
    codebook = codebook_of(run)
    indices = training_indices(run, options)
    model, params = fit_pixelcnn(
        indices, len(codebook), key, steps=options["steps"],
        batch_size=options["batch_size"], learning_rate=options["learning_rate"],
        features=options["features"], num_layers=options["layers"])
    grid = indices.shape[1:]
    return lambda k, n: as_vq_codes(codebook, sample_pixelcnn(model, params, k, n, grid))
