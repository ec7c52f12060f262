"""Keras 3 peer: the four workloads with `model.compile` + `model.fit`, as the course code does.

    KERAS_BACKEND=tensorflow python benchmarks/peers/keras_peer.py --model dense --epochs 3
    KERAS_BACKEND=jax        python benchmarks/peers/keras_peer.py --model vae --epochs 2

`fit(x, x, batch_size=128, shuffle=True, validation_data=...)` on all training images (the
last batch partial), Adam 1e-3, sigmoid outputs with Keras's binary cross-entropy. A callback
stamps when training ends and validation begins in each epoch. Prints one JSON line.
"""

from __future__ import annotations

import time

from _idx import parser, report, workload_data


def dense_stack(keras, sizes: tuple[int, ...]):
    """784 -> Dense(relu) for each of `sizes` -> Dense(784, sigmoid)."""
    inputs = keras.Input((784,))
    h = inputs
    for units in sizes:
        h = keras.layers.Dense(units, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(784, activation="sigmoid")(h))


def conv_dae(keras):
    """Conv32-pool-Conv32-pool -> Conv32-up-Conv32-up-Conv1 sigmoid, 3x3 'same', relu."""
    layers = keras.layers

    def conv(features, h, activation="relu"):
        return layers.Conv2D(features, 3, activation=activation, padding="same")(h)

    inputs = keras.Input((28, 28, 1))
    h = layers.MaxPooling2D(2, padding="same")(conv(32, inputs))
    h = layers.MaxPooling2D(2, padding="same")(conv(32, h))
    h = layers.UpSampling2D(2)(conv(32, h))
    h = layers.UpSampling2D(2)(conv(32, h))
    return keras.Model(inputs, conv(1, h, "sigmoid"))


def vae(keras, hidden: int = 256, latent: int = 2):
    """784 -> 256 -> (mean, log-variance) -> z -> 256 -> 784 sigmoid; the sampling layer adds
    KL(q(z|x) || N(0, I)), summed over the latent and averaged over the batch, as a loss."""
    layers, ops = keras.layers, keras.ops

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seeds = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            mean, logvar = inputs
            kl = -0.5 * ops.sum(1.0 + logvar - ops.square(mean) - ops.exp(logvar), axis=1)
            self.add_loss(ops.mean(kl))
            eps = keras.random.normal(ops.shape(mean), seed=self.seeds)
            return mean + ops.exp(0.5 * logvar) * eps

    inputs = keras.Input((784,))
    h = layers.Dense(hidden, activation="relu")(inputs)
    z = Sampling()([layers.Dense(latent)(h), layers.Dense(latent)(h)])
    h = layers.Dense(hidden, activation="relu")(z)
    return keras.Model(inputs, layers.Dense(784, activation="sigmoid")(h))


def build(keras, name: str):
    """(model, loss) of a workload: BCE per pixel; for the VAE BCE summed over the pixels."""
    if name == "vae":
        def reconstruction(y_true, y_pred):  # Keras averages BCE over the pixels: sum = 784x
            return 784.0 * keras.losses.binary_crossentropy(y_true, y_pred)
        return vae(keras), reconstruction
    model = {"dense": lambda: dense_stack(keras, (32,)),
             "deep": lambda: dense_stack(keras, (128, 64, 32, 64, 128)),
             "conv_dae": lambda: conv_dae(keras)}[name]()
    return model, "binary_crossentropy"


def epoch_timer(keras, backend: str):
    """A callback recording each epoch's training seconds and whole seconds (+ validation)."""
    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train_s, self.epoch_s = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.t_val = time.perf_counter(), None

        def on_test_begin(self, logs=None):
            if backend == "jax":  # asynchronous dispatch: wait for the epoch's updates
                import jax

                jax.block_until_ready([v.value for v in self.model.variables])
            self.t_val = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            t1 = time.perf_counter()
            self.epoch_s.append(t1 - self.t0)
            self.train_s.append((self.t_val or t1) - self.t0)

    return Timer()


def backend_versions(keras) -> dict:
    versions = {"keras": keras.__version__, "backend": keras.backend.backend()}
    if versions["backend"] == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    elif versions["backend"] == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions


def main():
    args = parser(__doc__.split("\n\n")[0]).parse_args()
    t_start = time.perf_counter()
    import keras  # after the CLI: `--help` needs no backend

    keras.utils.set_random_seed(args.seed)
    versions = backend_versions(keras)
    in_train, x_train, in_test, x_test = workload_data(args)
    model, loss = build(keras, args.model)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss)
    timer = epoch_timer(keras, versions["backend"])
    t_fit = time.perf_counter()
    history = model.fit(in_train, x_train, epochs=args.epochs, batch_size=args.batch,
                        shuffle=True, validation_data=(in_test, x_test), callbacks=[timer],
                        verbose=0)
    fit_total = time.perf_counter() - t_fit
    report(f"keras-{versions['backend']}", versions, args, params=model.count_params(),
           train_samples=len(x_train), val_samples=len(x_test), train_s=timer.train_s,
           epoch_s=timer.epoch_s, train_losses=history.history["loss"],
           val_losses=history.history["val_loss"], setup_s=t_fit - t_start,
           fit_total_s=fit_total)


if __name__ == "__main__":
    main()
