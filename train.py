"""Train an experiment:

    python train.py --config=configs/<name>.py --workdir=<dir> [--config.<field>=<value> ...]

Rerunning the same command resumes from the newest checkpoint in <dir>.

    python train.py --list_configs                          the shipped configs
    python train.py --config=configs/<name>.py --show_config   its fields, values, meanings
"""

import os
import sys

from ae_jax import signals

signals.install()  # before the heavy imports: a Ctrl-C during start-up is never lost

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from ae_jax import compilation_cache  # noqa: E402
from ae_jax.cli import (  # noqa: E402
    add_table_entries,
    check_config_file,
    config_summaries,
    field_comments,
    show_config,
    take_table_entries,
)
from ae_jax.engine import quiet_libraries, train_and_evaluate  # noqa: E402
from ae_jax.engine.workdir import final_summary  # noqa: E402
from ae_jax.errors import reports_user_errors  # noqa: E402

# `--config.loss.terms.<name>=<w>` may add a name (ae_jax/cli.py); ml_collections reads the
# override flags from sys.argv, so they leave it before the config flag is defined
sys.argv[:], TABLE_ENTRIES = reports_user_errors(take_table_entries)(sys.argv)
reports_user_errors(check_config_file)(sys.argv)

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "experiment config file", lock_config=True)
flags.DEFINE_string("workdir", None, "directory for checkpoints, metrics and plots")
flags.DEFINE_bool("list_configs", False, "print the shipped configs (configs/*.py) and exit")
flags.DEFINE_bool("show_config", False, "print the resolved --config, each field with its "
                  "meaning, and exit")
CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


@reports_user_errors
def main(argv, table_entries=()):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.list_configs:
        for path, summary in config_summaries(CONFIGS):
            print(f"{path:<32} {summary}")
        return
    if FLAGS.config is None:
        raise ValueError("--config=configs/<name>.py is required (--list_configs lists them)")
    add_table_entries(FLAGS.config, table_entries)
    if FLAGS.show_config:
        print(show_config(FLAGS.config, field_comments(os.path.join(CONFIGS, "default.py"))))
        return
    if FLAGS.workdir is None:
        raise ValueError("--workdir=<dir> is required: where checkpoints and metrics go")
    logging.set_verbosity(logging.INFO)
    quiet_libraries()
    compilation_cache.enable()
    try:
        if train_and_evaluate(FLAGS.config, FLAGS.workdir) is not None:
            print(final_summary(FLAGS.workdir))
    except signals.TrainingInterrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_status)


if __name__ == "__main__":
    app.run(lambda argv: main(argv, TABLE_ENTRIES))
