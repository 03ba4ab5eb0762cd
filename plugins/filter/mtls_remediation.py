"""Filters used by the apigee_mtls_remediate role: the remediation plan and the before/after comparison.

The logic lives in plugins/module_utils/mtls/ (remediation.py, verification.py)."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_path = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_path)

item_options = _path.lazy("mtls.alias_chain", "item_options")
before_after_rows = _path.lazy("mtls.remediation", "before_after_rows")
change_records = _path.lazy("mtls.remediation", "change_records")
plan_markdown = _path.lazy("mtls.remediation", "plan_markdown")
plan_remediation = _path.lazy("mtls.remediation", "plan_remediation")
row_text = _path.lazy("mtls.remediation", "row_text")
with_material = _path.lazy("mtls.remediation", "with_material")


def mtls_remediation_plan(report, materials=None, backends=None, strategy="rotate", enable_client_auth=False,
                          backend_group="mtls_backends"):
    return plan_remediation(report or {}, materials or [], backends or [], strategy, bool(enable_client_auth),
                            backend_group)


def mtls_alias_items(items, strategy="rotate", include_root=True):
    """Keystore items (a plan's, or inventory entries carrying other keys too) as the options of
    apigee_keystore_aliases' items: only the option keys, ca_chain as the ca_bundle, the role's defaults."""
    return [item_options(i, strategy, include_root) for i in items or []]


class FilterModule:
    def filters(self):
        return {"mtls_remediation_plan": mtls_remediation_plan, "mtls_before_after": before_after_rows,
                "mtls_row_text": row_text, "mtls_plan_markdown": plan_markdown,
                "mtls_change_records": change_records, "mtls_with_material": with_material,
                "mtls_alias_items": mtls_alias_items}
