"""Filters for the diagnosis report's console lines (role apigee_mtls_diagnose).

The logic lives in plugins/module_utils/mtls/expiry.py."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))

from ansible.module_utils.mtls.expiry import warning_text  # noqa: E402


def mtls_expiry_text(item):
    """'<link id>: the <what> <subject> expires on <date> (in N days)' for an item of summary.expiring_links."""
    return "expiring soon: " + warning_text(item.get("id"), item)


class FilterModule:
    def filters(self):
        return {"mtls_expiry_text": mtls_expiry_text}
