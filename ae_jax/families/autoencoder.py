"""The autoencoder family: every model with one network trained by an objective,
loss(x) = L(x, x_hat) + sum_i w_i term_i(x) (ae_jax/objectives): dense, deep, conv,
denoising, sparse, contractive, tied, linear AEs, PCA, VAEs and what the zoo adds.

One step, with the run's named streams at the step (ae_jax/rng.py):

    inputs = corrupt(noise key, x)           the target stays the clean x (denoising)
    logits, aux = model(inputs)               "sample" key for the reparameterisation
    loss = mean_b [L(x_b, logits_b) + sum_i w_i term_i(t_b)]   one term key per term

Mutable collections of the model (batch statistics, an EMA codebook) are updated by the
training forward pass and kept in the state; evaluation reads them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax import rng
from ae_jax.corruption import make_corruption
from ae_jax.data.binarize import dynamic_binarize
from ae_jax.families import FAMILIES
from ae_jax.families.base import RECONSTRUCT, SAMPLE, SCORE, Family
from ae_jax.forward import split_labels, unflatten
from ae_jax.models import build_model
from ae_jax.models.abilities import (
    CONDITIONAL,
    DECODE,
    POSTERIOR,
    PRIOR,
    abilities_of,
    train_kwargs,
)
from ae_jax.models.activations import get_activation
from ae_jax.objectives import initial_weights, make_objective, model_term_inputs
from ae_jax.optimizers import make_optimizer
from ae_jax.state import Net, State

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. (2016): Cov_x(E_q[z_d]) above it is active


def model_metrics(aux) -> dict:
    """A model's own per-example values, aux["metrics"]: {name: (B, ...)} (none if absent).
    Their means are test metrics (names with "_" only feed `finalize_metrics`)."""
    return dict(aux.get("metrics", {}))


def _public(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.startswith("_")}


@FAMILIES.register("autoencoder")
class Autoencoder(Family):
    name = "autoencoder"
    main = "model"

    def __init__(self, config, example_shape, steps_per_epoch: int):
        super().__init__(config, example_shape, steps_per_epoch)
        self.model = build_model(config.model, self.example_shape)
        self.networks = {"model": self.model}
        self.input_shapes = {"model": self.example_shape}
        self.optimizer_fields = {"model": "optimizer"}
        self.objective = make_objective(config.loss, self.model.output_activation,
                                        steps_per_epoch)
        self.corrupt = make_corruption(config.corruption)
        self.tx = make_optimizer(config.optimizer, steps_per_epoch, max(1, config.num_epochs))
        self._activation = get_activation(self.model.output_activation)
        self.dynamic_binarization = config.data.binarize == "dynamic"

    # -- state and steps -------------------------------------------------------------------
    def init(self, seed) -> State:
        """Parameters from fold_in(PRNGKey(seed), "init"), the loss weights as arrays."""
        key = jax.random.PRNGKey(seed)
        x = jnp.zeros((1, *self.example_shape), jnp.float32)
        labels = {"labels": jnp.zeros((1,), jnp.int32)} if self.uses_labels() else {}
        variables = self.model.init(
            {"params": rng.stream(key, "init"), "sample": rng.stream(key, "sample")}, x,
            **labels)
        return State.create(key, {"model": Net.create(self.model, self.tx, variables)},
                            initial_weights(self.config.loss))

    def term_inputs(self, net: Net, params, x, inputs, keys: dict, mask, train: bool,
                    labels=None):
        """(TermInputs of the batch: the model applied to `inputs` (and the class `labels`
        of a conditional model) with `params`, the clean target `x`; updated mutable
        collections or None)."""
        mutable = list(net.collections) if train else ()
        kwargs = train_kwargs(self.model, train)
        if labels is not None:
            kwargs["labels"] = labels
        return model_term_inputs(net.apply_fn, net.variables(params), x, inputs,
                                 {"sample": keys["sample"]}, mutable, kwargs,
                                 key=keys["terms"], mask=mask)

    def examples(self, batch):
        """(x (B, H, W, C) floats, labels (B,) int32 or None) of a batch of flat rows."""
        labels = None
        if self.uses_labels():
            batch, labels = split_labels(batch)
        return unflatten(batch, self.example_shape), labels

    def _inputs(self, key, x):
        return self.corrupt(key, x) if self.corrupt is not None else x

    step_streams = ("noise", "sample", "terms", "binarize")  # the step's named keys

    def extra_loss(self, state: State, t) -> tuple[jax.Array, dict]:
        """Hook: (B,) values added to the objective's per-example total, and their parts
        (reported as metrics); none here. A family with another network on the model's
        outputs (FactorVAE's discriminator) adds its term here."""
        return jnp.zeros((t.batch_size,), jnp.float32), {}

    def after_step(self, state: State, nets: dict, aux, keys: dict) -> tuple[dict, dict]:
        """Hook: (nets, metrics) after the model's update, given the forward pass's aux
        (gradients stopped): the place to update other networks; nothing here."""
        return nets, {}

    def train_step(self, state: State, batch):
        x, labels = self.examples(batch)
        keys = {name: rng.stream_at(state.key, name, state.step) for name in self.step_streams}
        if self.dynamic_binarization:  # fresh {0, 1} pixels each step (ae_jax/data/binarize.py)
            x = dynamic_binarize(keys["binarize"], x)
        inputs = self._inputs(keys["noise"], x)
        net = state.nets["model"]
        weights = self.objective.weights_at(state.loss_weights, state.step)

        def loss_fn(params):
            t, updates = self.term_inputs(net, params, x, inputs, keys, None, train=True,
                                          labels=labels)
            total, parts = self.objective(t, weights)
            more, more_parts = self.extra_loss(state, t)
            return jnp.mean(total + more), ({**parts, **more_parts}, model_metrics(t.aux),
                                            updates, t.aux)

        (loss, (parts, extra, updates, aux)), grads = jax.value_and_grad(
            loss_fn, has_aux=True)(net.params)
        extra_means = {k: jnp.mean(v, axis=0) for k, v in extra.items()}  # (B, ...) -> (...)
        metrics = {"loss": loss, **{k: jnp.mean(v) for k, v in parts.items()},
                   **_public(extra_means), **self.derived_model_metrics(extra_means)}
        nets = {**state.nets, "model": net.apply_gradients(grads, updates)}
        nets, more_metrics = self.after_step(state, nets, jax.lax.stop_gradient(aux), keys)
        return state.replace(step=state.step + 1, nets=nets), {**metrics, **more_metrics}

    def _per_example(self, state: State, x, key, mask, corrupt: bool = True, labels=None):
        keys = {name: rng.stream(key, name) for name in ("noise", "sample", "terms")}
        net = state.nets["model"]
        inputs = self._inputs(keys["noise"], x) if corrupt else x
        t, _ = self.term_inputs(net, net.params, x, inputs, keys, mask, train=False,
                                labels=labels)
        weights = self.objective.weights_at(state.loss_weights, state.step)
        total, parts = self.objective(t, weights)
        return t, total, parts

    def eval_step(self, state: State, batch, key, mask) -> dict:
        x, labels = self.examples(batch)
        t, total, parts = self._per_example(state, x, key, mask, labels=labels)
        out = {"loss": total, **parts, **model_metrics(t.aux)}
        if POSTERIOR in self.abilities():  # for the active units of the test split
            mean = t.apply("posterior", x)[0]  # (B, L)
            out.update(_mean=mean, _mean_sq=jnp.square(mean))
        return out

    def finalize(self, means) -> dict:
        """Drops the intermediates; with a posterior adds `active_units`, the dimensions d
        with Var_x(E_q[z_d]) = E[m_d^2] - E[m_d]^2 above 0.01 on the test split."""
        out = super().finalize({**means, **self.derived_model_metrics(means)})
        if "_mean" in means:
            var = means["_mean_sq"] - jnp.square(means["_mean"])  # (..., L)
            out["active_units"] = jnp.sum(var > ACTIVE_UNIT_THRESHOLD, axis=-1).astype(
                jnp.float32)
        return out

    def derived_model_metrics(self, means) -> dict:
        """Metrics the model derives from the means of its `aux["metrics"]`: its class's
        `finalize_metrics(means) -> dict` (e.g. VQ-VAE's codebook perplexity from the mean
        code usage), or none."""
        derive = getattr(type(self.model), "finalize_metrics", None)
        return dict(derive(means)) if derive is not None else {}

    # -- abilities ---------------------------------------------------------------------
    def abilities(self) -> frozenset[str]:
        own = abilities_of(self.model)
        # a conditional model reconstructs and scores only with labels: through its steps
        extra = set() if CONDITIONAL in own else {RECONSTRUCT, SCORE}
        extra |= {SAMPLE} if {PRIOR, DECODE} <= own else set()
        return own | extra

    def call(self, state: State, method, *args, key=None):
        """The model's `method` (None: __call__) with the state's variables."""
        net = state.nets["model"]
        rngs = None if key is None else {"sample": key}
        return net.apply_fn(net.variables(), *args, method=method, rngs=rngs)

    def encode(self, state: State, x):
        return self.call(state, "encode", x)

    def decode(self, state: State, z):
        """Outputs in the data's range: output_activation(decode(z))."""
        return self._activation(self.call(state, "decode", z))

    def decode_logits(self, state: State, z):
        return self.call(state, "decode", z)

    def posterior(self, state: State, x):
        return self.call(state, "posterior", x)

    def posterior_samples(self, state: State, x, num_samples: int, key):
        return self.call(state, "posterior_samples", x, num_samples, key=key)

    def log_prior(self, state: State, z):
        return self.call(state, "log_prior", z)

    def reconstruct(self, state: State, x, key):
        logits, _ = self.call(state, None, x, key=key)
        return self._activation(logits)

    def score(self, state: State, x, key):
        """The training objective of each example given as it is (no corruption: an anomaly
        score), (B,)."""
        return self._per_example(state, x, key, None, corrupt=False)[1]

    def sample_codes(self, state: State, key, n: int):
        return self.call(state, "sample_prior", key, n)

    def example_rows(self, state: State, x, key) -> dict:
        """Rows of the reconstruction figure: inputs, corrupted inputs, reconstructions."""
        rows = {"input": x}
        if self.corrupt is not None:
            x = rows["corrupted input"] = self.corrupt(key, x)
        rows["reconstruction"] = self.reconstruct(state, x, key)
        return rows
