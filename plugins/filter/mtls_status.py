"""Filter for the status a run writes for pipelines (roles apigee_mtls_diagnose and apigee_mtls_remediate).

The logic lives in plugins/module_utils/mtls/run_status.py."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_path = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_path)

diagnosis_status = _path.lazy("mtls.run_status", "diagnosis_status")
remediation_status = _path.lazy("mtls.run_status", "remediation_status")


def mtls_run_status(data, kind="diagnose", report_path=None, check_mode=False):
    """The run status: of a diagnosis report (kind=diagnose) or of the before/after rows (kind=remediate)."""
    if kind == "remediate":
        return remediation_status(data or [], report_path, check_mode)
    return diagnosis_status(data or {}, report_path, check_mode)


class FilterModule:
    def filters(self):
        return {"mtls_run_status": mtls_run_status}
