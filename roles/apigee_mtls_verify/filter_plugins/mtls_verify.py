"""Filters of the apigee_mtls_verify role: which verification calls to make after the fixes.

The logic lives in plugins/module_utils/mtls_keystore_sync.py (imported the way AnsiballZ ships it)."""
from __future__ import annotations

import os

import ansible.module_utils

_MU = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "plugins", "module_utils")
_MU = os.path.normpath(_MU)
if _MU not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_MU)

from ansible.module_utils.mtls_keystore_sync import verification_calls  # noqa: E402


def mtls_verify_calls(urls, report, renamed=None, remediation=None, base_url=""):
    """{calls, not_ok, unknown}: the verification calls split by the diagnosis after the fixes, each id followed
    through the renames of this run (`renamed`, old id -> new id) and of the remediation report (`remediation`, the
    remediation.json document or its rows)."""
    rows = remediation.get("links") if isinstance(remediation, dict) else remediation
    return verification_calls(urls or [], report or {}, renamed or {}, rows or [], base_url or "")


class FilterModule:
    def filters(self):
        return {"mtls_verify_calls": mtls_verify_calls}
