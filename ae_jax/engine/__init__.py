"""The engine: one trainer for every model family (`train_and_evaluate`), its epoch loop,
workdir files and plots. Evaluation never imports it (tests/test_layers.py)."""

from ae_jax.engine.epoch_loop import NonFiniteLossError
from ae_jax.engine.trainer import quiet_libraries, train_and_evaluate

__all__ = ["NonFiniteLossError", "quiet_libraries", "train_and_evaluate"]
