"""Plain Flax (linen) + optax peer: the four workloads as the Flax examples train a model.

    python benchmarks/peers/flax_peer.py --model dense --epochs 3 [--scan] [--bce fast]

Default ("flax-step"): a TrainState, one `jax.jit` training step per batch, called from a
Python loop over host-side numpy batches of a numpy permutation (the last partial batch is
dropped, as in the examples). --scan ("flax-scan"): the data on the device once, an epoch is
one jitted `lax.scan` over batches of an on-device permutation (one dispatch per epoch).
Validation: the 10,000 test images in chunks of 1,000 inside one jit. Prints one JSON line.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from _idx import parser, report, workload_data
from flax.training import train_state

EVAL_CHUNK = 1000


class MLP(nn.Module):
    """Dense layers with relu between them; the last one emits logits."""

    features: tuple[int, ...]

    @nn.compact
    def __call__(self, x):
        for f in self.features[:-1]:
            x = nn.relu(nn.Dense(f)(x))
        return nn.Dense(self.features[-1])(x)


def _upsample(x):
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)  # UpSampling2D(2), nearest


class ConvDAE(nn.Module):
    """Conv32-pool-Conv32-pool -> Conv32-up-Conv32-up-Conv1 (logits), 3x3 'same', NHWC."""

    @nn.compact
    def __call__(self, x):
        def conv(features, h):
            return nn.Conv(features, (3, 3), padding="SAME")(h)

        def pool(h):
            return nn.max_pool(h, (2, 2), strides=(2, 2))

        h = pool(nn.relu(conv(32, x)))
        h = pool(nn.relu(conv(32, h)))
        h = _upsample(nn.relu(conv(32, h)))
        h = _upsample(nn.relu(conv(32, h)))
        return conv(1, h)


class VAE(nn.Module):
    """784 -> 256 (relu) -> mean, log-variance (2) ; z -> 256 (relu) -> 784 logits."""

    hidden: int = 256
    latent: int = 2

    @nn.compact
    def __call__(self, x, key):
        h = nn.relu(nn.Dense(self.hidden)(x))
        mean, logvar = nn.Dense(self.latent)(h), nn.Dense(self.latent)(h)
        z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape)
        return nn.Dense(784)(nn.relu(nn.Dense(self.hidden)(z))), mean, logvar


def make_model(name: str) -> nn.Module:
    return {"dense": lambda: MLP((32, 784)), "deep": lambda: MLP((128, 64, 32, 64, 128, 784)),
            "vae": VAE, "conv_dae": ConvDAE}[name]()


def bce_fast(logits, labels):
    """optax.sigmoid_binary_cross_entropy's value with one exp and one log1p per element
    (TensorFlow's sigmoid_cross_entropy_with_logits form) instead of two log-sigmoids."""
    return jnp.maximum(logits, 0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def make_loss(model_name: str, apply_fn: Callable, bce: Callable) -> Callable:
    """loss(params, inputs, targets, key) -> the batch mean: BCE per pixel for the
    autoencoders; for the VAE, BCE summed over pixels + KL(q(z|x) || N(0, I)) per example."""
    def loss(params, inputs, targets, key):
        if model_name == "vae":
            logits, mean, logvar = apply_fn({"params": params}, inputs, key)
            kl = -0.5 * jnp.sum(1 + logvar - mean**2 - jnp.exp(logvar), axis=-1)
            return jnp.mean(bce(logits, targets).sum(-1) + kl)
        return jnp.mean(bce(apply_fn({"params": params}, inputs), targets))
    return loss


def make_step(loss: Callable) -> Callable:
    """One Adam step: (state, inputs, targets, key) -> (state, loss)."""
    def step(state, inputs, targets, key):
        value, grads = jax.value_and_grad(loss)(state.params, inputs, targets, key)
        return state.apply_gradients(grads=grads), value
    return step


def make_scan_epoch(step: Callable, n: int, batch: int) -> Callable:
    """(state, key, inputs, targets) -> (state, mean loss): one lax.scan over the batches of
    an on-device permutation (the partial batch dropped). The data are arguments, not
    closed-over constants (which XLA would bake into the program)."""
    steps = n // batch

    @functools.partial(jax.jit, donate_argnums=0)
    def epoch(state, key, inputs, targets):
        perm_key, step_key = jax.random.split(key)
        idx = jax.random.permutation(perm_key, n)[:steps * batch].reshape(steps, batch)

        def body(state, xs):
            i, k = xs
            return step(state, inputs[i], targets[i], k)

        state, losses = jax.lax.scan(body, state, (idx, jax.random.split(step_key, steps)))
        return state, jnp.mean(losses)
    return epoch


def make_python_epoch(step: Callable, n: int, batch: int, seed: int) -> Callable:
    """The same epoch as a Python loop: one jitted step per host-side numpy batch."""
    jit_step = jax.jit(step, donate_argnums=0)
    rng = np.random.default_rng(seed)
    steps = n // batch

    def epoch(state, key, inputs, targets):
        idx = rng.permutation(n)[:steps * batch].reshape(steps, batch)
        keys = jax.random.split(key, steps)
        losses = []
        for s in range(steps):
            state, value = jit_step(state, inputs[idx[s]], targets[idx[s]], keys[s])
            losses.append(value)
        return state, jnp.mean(jnp.stack(losses))
    return epoch


def make_evaluate(loss: Callable, n: int) -> Callable:
    """(params, inputs, targets, key) -> the mean loss over the n test images, in chunks of
    EVAL_CHUNK (lax.map keeps the conv activations small; one chunk if n is no multiple)."""
    chunk = EVAL_CHUNK if n % EVAL_CHUNK == 0 else n

    @jax.jit
    def evaluate(params, inputs, targets, key):
        chunks = [x.reshape(-1, chunk, *x.shape[1:]) for x in (inputs, targets)]
        keys = jax.random.split(key, chunks[0].shape[0])
        return jnp.mean(jax.lax.map(lambda a: loss(params, *a), (*chunks, keys)))
    return evaluate


def main():
    ap = parser(__doc__.split("\n\n")[0])
    ap.add_argument("--scan", action="store_true", help="on-device data, a lax.scan epoch")
    ap.add_argument("--bce", choices=["optax", "fast"], default="optax",
                    help="optax.sigmoid_binary_cross_entropy (the examples') or bce_fast")
    args = ap.parse_args()
    t_start = time.perf_counter()
    in_train, x_train, in_test, x_test = workload_data(args)
    model = make_model(args.model)
    key, init_key, noise_key = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    init_args = (in_train[:1], noise_key) if args.model == "vae" else (in_train[:1],)
    params = model.init(init_key, *init_args)["params"]
    num_params = sum(x.size for x in jax.tree_util.tree_leaves(params))
    state = train_state.TrainState.create(apply_fn=model.apply, params=params,
                                          tx=optax.adam(1e-3))
    bce = bce_fast if args.bce == "fast" else optax.sigmoid_binary_cross_entropy
    loss = make_loss(args.model, model.apply, bce)
    n = len(in_train)
    if args.scan:
        epoch = make_scan_epoch(make_step(loss), n, args.batch)
        in_train, x_train = jax.device_put(in_train), jax.device_put(x_train)
    else:
        epoch = make_python_epoch(make_step(loss), n, args.batch, args.seed)
    evaluate = make_evaluate(loss, len(x_test))
    in_test, x_test = jax.device_put(in_test), jax.device_put(x_test)

    train_s, epoch_s, train_losses, val_losses = [], [], [], []
    t_fit = time.perf_counter()
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        key, epoch_key, val_key = jax.random.split(key, 3)
        state, train_loss = epoch(state, epoch_key, in_train, x_train)
        train_losses.append(float(train_loss))  # waits for the epoch
        t1 = time.perf_counter()
        val_losses.append(float(evaluate(state.params, in_test, x_test, val_key)))
        train_s.append(t1 - t0)
        epoch_s.append(time.perf_counter() - t0)
    fit_total = time.perf_counter() - t_fit
    framework = ("flax-scan" if args.scan else "flax-step") + ("+fastbce" * (args.bce == "fast"))
    report(framework, {"jax": jax.__version__, "flax": flax.__version__,
                       "optax": optax.__version__, "backend": jax.default_backend()}, args,
           params=num_params,
           train_samples=n // args.batch * args.batch, val_samples=len(x_test),
           train_s=train_s, epoch_s=epoch_s, train_losses=train_losses, val_losses=val_losses,
           setup_s=t_fit - t_start, fit_total_s=fit_total)


if __name__ == "__main__":
    main()
