"""User errors on the command line: one or two lines on stderr and exit status 2, no
traceback (set AE_JAX_TRACEBACK=1 for one). Internal errors keep their tracebacks.

A user error is what a command's input can cause and its message says how to fix: a
ValueError (bad names, values, configs, locked or mismatched workdirs, missing abilities),
an OSError naming a file, or one of the project's errors that carry USER_ERROR = True
(unreadable or corrupt checkpoints, unavailable data, a diverged run).
"""

from __future__ import annotations

import functools
import os
import sys


def is_user_error(e: BaseException) -> bool:
    return isinstance(e, (ValueError, OSError)) or getattr(type(e), "USER_ERROR", False)


def reports_user_errors(main):
    """Wrap an entry point (an absl `main(argv)`, say): a user error prints
    "error: <message>" and exits 2."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except BrokenPipeError:  # the output went to `head` or the like: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as e:  # noqa: BLE001 - sorted into user and internal errors
            if not is_user_error(e) or os.environ.get("AE_JAX_TRACEBACK"):
                raise
            message = str(e) or type(e).__name__
            if isinstance(e, OSError) and e.filename and e.filename not in message:
                message = f"{e.filename}: {message}"
            print(f"error: {message}\n(AE_JAX_TRACEBACK=1 shows the traceback)",
                  file=sys.stderr)
            sys.exit(2)

    return wrapped
