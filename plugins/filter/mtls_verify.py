"""Filters used by the apigee_mtls_verify role: which verification calls to make after the fixes.

The logic lives in plugins/module_utils/mtls/ (remediation.py, verification.py)."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_path = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_path)

verification_calls = _path.lazy("mtls.verification", "verification_calls")


def mtls_verify_calls(urls, report, renamed=None, remediation=None, base_url=""):
    """{calls, not_ok, unknown}: the verification calls split by the diagnosis after the fixes, each id followed
    through the renames of this run (`renamed`, old id -> new id) and of the remediation report (`remediation`, the
    remediation.json document or its rows)."""
    rows = remediation.get("links") if isinstance(remediation, dict) else remediation
    earlier = remediation.get("renames") if isinstance(remediation, dict) else None
    return verification_calls(urls or [], report or {}, renamed or {}, rows or [], base_url or "", earlier or {})


class FilterModule:
    def filters(self):
        return {"mtls_verify_calls": mtls_verify_calls}
