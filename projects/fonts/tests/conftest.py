"""The font study's tests run from the repository root's view: `projects` and `configs`
import as they do for `python -m projects.fonts.study`."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
