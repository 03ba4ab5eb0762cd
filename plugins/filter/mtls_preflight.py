"""Filter of the mtls_preflight role: inventory values that still hold the example inventory's placeholders.

The logic lives in plugins/module_utils/mtls/preflight.py."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_path = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_path)

placeholders = _path.lazy("mtls.preflight", "placeholders")


def mtls_placeholders(values, ignore=None):
    """One message per value still holding a placeholder (CHANGE-ME, myorg, example.com hosts); secrets by name only."""
    return placeholders(dict(values or {}), ignore or [])


class FilterModule:
    def filters(self):
        return {"mtls_placeholders": mtls_placeholders}
