"""The font study's only door into the training engine.

Every name the study takes from the engine's modules (`ae_jax.engine`, `ae_jax.families`,
`ae_jax.objectives`, `ae_jax.state`) is imported here and nowhere else in `projects/fonts/`;
the other modules of the study import these names from this one. When the engine moves or
changes them, only this file is re-pointed. The rest of the study uses public library modules
directly (`ae_jax.data`, `ae_jax.models`, `ae_jax.sweeps`, `ae_jax.viz`, `ae_jax.corruption`).

  train_and_evaluate   train (or resume) a config in a workdir and return its final state
                       (the `generate` and `denoise` parts, the tests)
  quiet_libraries      silence the libraries' log chatter (the command line)
  make_objective       the config's loss from `config.loss` and the output activation
  initial_weights      the loss-term weights, as a train state holds them

and three helpers that hold the engine's conventions in one place:

  model_params         the autoencoder's parameters in a train state (one run or stacked)
  example_losses       per-example training loss of a reconstruction (how the objective is
                       called: `TermInputs`)
  initial_params       the initial parameters of `seed` (the model family's initialisation)
"""

from __future__ import annotations

from ae_jax.engine import quiet_libraries, train_and_evaluate
from ae_jax.families import build_family
from ae_jax.objectives import initial_weights, make_objective, model_term_inputs

__all__ = ["example_losses", "initial_params", "initial_weights", "make_objective",
           "model_params", "quiet_libraries", "train_and_evaluate"]


def model_params(state):
    """The parameters of the autoencoder (the family's one network, "model") of a train
    state; with a leading run axis for a stacked state of several runs."""
    return state.nets["model"].params


def example_losses(model, objective, params, loss_weights, inputs, targets):
    """The training loss of each example (B,) for the reconstruction of `inputs` against
    `targets` (the same array, or clean targets of noisy inputs), float (B, H, W, C).

    The terms see what they see in training (`ae_jax.objectives.TermInputs`): the model's
    logits and aux, its parameters, and its other methods with the same parameters."""
    t, _ = model_term_inputs(model.apply, {"params": params}, targets, inputs)
    return objective(t, loss_weights)[0]


def initial_params(config, example_shape, seed):
    """The parameters a run of `seed` starts from (those `train_and_evaluate` would use) for
    the model of `config` on examples of `example_shape`."""
    return model_params(build_family(config, example_shape, 1).init(seed))
