"""Shared pytest set-up: make `ansible.module_utils.<ours>` importable exactly as AnsiballZ does on a host."""
import os
import sys

import ansible.module_utils

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
if MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(MODULE_UTILS)
for extra in (ROOT, os.path.join(ROOT, "lab")):
    if extra not in sys.path:
        sys.path.insert(0, extra)
