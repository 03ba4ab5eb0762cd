"""Filters used by the apigee_mtls_remediate role: the remediation plan and the before/after comparison.

The logic lives in plugins/module_utils/mtls/ (remediation.py, verification.py)."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))

from ansible.module_utils.mtls.remediation import plan_remediation  # noqa: E402


def mtls_remediation_plan(report, materials=None, backends=None, strategy="rotate", enable_client_auth=False,
                          backend_group="mtls_backends"):
    return plan_remediation(report or {}, materials or [], backends or [], strategy, bool(enable_client_auth),
                            backend_group)


def _codes(report):
    links = report.get("links") if isinstance(report, dict) else report
    out = {}
    for link in links or []:
        v = link.get("verdict")
        out[link.get("id")] = v.get("code") if isinstance(v, dict) else (v or link.get("code") or "unknown")
    return out


def mtls_before_after(plan, before, after, renamed=None):
    """One row per link: id, verdict before, action, status, verdict after, missing input. `renamed` maps a link id
    to its id after the fix (a proxy fixed by a new revision)."""
    b, a = _codes(before), _codes(after)
    renamed = {k: v for k, v in (renamed or {}).items() if k != v}
    a = dict(a)
    for old, new in renamed.items():
        if new in a:
            a[old] = a.pop(new)
    rows = []
    ids = list(b) + [i for i in a if i not in b]
    by_id = {e["id"]: e for e in (plan or {}).get("links", [])}
    for link_id in ids:
        e = by_id.get(link_id, {})
        rows.append({"id": link_id, "before": b.get(link_id, "-"), "action": e.get("action", "-"),
                     "status": e.get("status", "-"), "after": a.get(link_id, "-"), "missing": e.get("missing"),
                     "now": renamed.get(link_id, link_id)})
    return rows


def mtls_row_text(row):
    text = "%s: %s -> %s (%s, %s)" % (row["id"], row["before"], row["after"], row["action"], row["status"])
    if row.get("missing"):
        text += "; missing: %s" % row["missing"]
    return text


class FilterModule:
    def filters(self):
        return {"mtls_remediation_plan": mtls_remediation_plan, "mtls_before_after": mtls_before_after,
                "mtls_row_text": mtls_row_text}
