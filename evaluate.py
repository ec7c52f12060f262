"""Evaluate a trained workdir:

    python evaluate.py --workdir=<dir> --task=<task> [--option=key=value ...]

Writes <dir>/eval/<task>.json and the task's figures in <dir>/eval/.
"""

import json
import os

from absl import app, flags, logging

from ae_jax.errors import reports_user_errors
from ae_jax.evaluation import get_task
from ae_jax.files import write_atomic
from ae_jax.run import load

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "a training workdir")
flags.DEFINE_string("task", "reconstruction", "evaluation task")
flags.DEFINE_multi_string("option", [], "task option as key=value (repeatable)")
flags.mark_flags_as_required(["workdir"])


def _parse_options(pairs):
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise app.UsageError(f"--option needs key=value, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


@reports_user_errors
def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    task = get_task(FLAGS.task)  # unknown names fail before any loading
    run = load(FLAGS.workdir)
    out_dir = os.path.join(FLAGS.workdir, "eval")
    os.makedirs(out_dir, exist_ok=True)
    result = task(run, out_dir, _parse_options(FLAGS.option))
    path = os.path.join(out_dir, f"{FLAGS.task}.json")
    write_atomic(path, json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    logging.info("wrote %s", path)


if __name__ == "__main__":
    app.run(main)
