"""Filters for the diagnosis reports (role apigee_mtls_diagnose): the summary's expiring lines, this run's folder,
the report's rows.

The logic lives in plugins/module_utils/mtls/expiry.py, report_runs.py and report_rows.py."""
from __future__ import annotations

import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_path = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_path)

warning_text = _path.lazy("mtls.expiry", "warning_text")
report_runs = _path.lazy_module("mtls.report_runs")
report_rows = _path.lazy("mtls.report_rows", "report_rows")


def mtls_expiry_text(item):
    """'<link id>: the <what> <subject> expires on <date> (in N days)' for an item of summary.expiring_links."""
    return "expiring soon: " + warning_text(item.get("id"), item)


def mtls_run_folder(report_dir, org, envs):
    """This run's folder under report_dir: <report_dir>/runs/<UTC time now>-<org>-<envs> (report_runs.run_name)."""
    return os.path.join(report_dir, report_runs.RUNS, report_runs.run_name(None, org, envs))


def mtls_report_rows(report, path=None):
    """The report's summary and, per link, the fields later plays read; `path` names the file of the whole report."""
    return report_rows(report or {}, path)


class FilterModule:
    def filters(self):
        return {"mtls_expiry_text": mtls_expiry_text, "mtls_run_folder": mtls_run_folder,
                "mtls_report_rows": mtls_report_rows}
