"""Train an experiment:

    python train.py --config=configs/<name>.py --workdir=<dir> [--config.<field>=<value> ...]

Rerunning the same command resumes from the newest checkpoint in <dir>.
"""

import sys

from ae_jax import signals

signals.install()  # before the heavy imports: a Ctrl-C during start-up is never lost

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from ae_jax.cli import add_table_entries, take_table_entries  # noqa: E402
from ae_jax.engine import quiet_libraries, train_and_evaluate  # noqa: E402
from ae_jax.errors import reports_user_errors  # noqa: E402

# `--config.loss.terms.<name>=<w>` may add a name (ae_jax/cli.py); ml_collections reads the
# override flags from sys.argv, so they leave it before the config flag is defined
sys.argv[:], TABLE_ENTRIES = reports_user_errors(take_table_entries)(sys.argv)

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
flags.DEFINE_string("workdir", None, "directory for checkpoints, metrics and plots")
flags.mark_flags_as_required(["config", "workdir"])


@reports_user_errors
def main(argv, table_entries=()):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    quiet_libraries()
    add_table_entries(FLAGS.config, table_entries)
    try:
        train_and_evaluate(FLAGS.config, FLAGS.workdir)
    except signals.TrainingInterrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_status)


if __name__ == "__main__":
    app.run(lambda argv: main(argv, TABLE_ENTRIES))
