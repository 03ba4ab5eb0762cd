"""Shared pytest set-up: make `ansible.module_utils.mtls` importable exactly as AnsiballZ does on a host."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for extra in (ROOT, os.path.join(ROOT, "lab")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

import plugins.filter._path  # noqa: E402,F401  (the one place that extends ansible.module_utils.__path__)
