"""The status of one run, for pipelines: did the run work, and are links broken? (plain Python, no Ansible)

A playbook run that worked writes ``mtls_status_file`` as its last step; a run that failed writes none. So a pipeline
tells "the run worked and found broken links" (exit code ``EXIT_BROKEN``) from "the run failed" (ansible-playbook's own
code, with no status of this run) -- ``scripts/mtls_run.py`` does exactly that around ansible-playbook.

    {"schema_version": 1, "playbook": "diagnose" | "remediate", "check_mode": bool, "status": "ok" | "broken",
     "exit_code": 0 | 10, "links": N, "ok": N, "not_ok": [{"id", "verdict"}], "report": "/abs/path"}
"""
from __future__ import annotations

import os

STATUS_SCHEMA_VERSION = 1
EXIT_OK = 0
EXIT_BROKEN = 10   # clear of ansible-playbook's own codes (1 error, 2 failed tasks, 4 unreachable, 5 options, 99, 250)


def _status(playbook: str, rows: list[tuple[str, str]], report_path: str | None, check_mode: bool) -> dict:
    not_ok = [{"id": link_id, "verdict": verdict} for link_id, verdict in rows if verdict != "ok"]
    return {
        "schema_version": STATUS_SCHEMA_VERSION,
        "playbook": playbook,
        "check_mode": bool(check_mode),
        "status": "broken" if not_ok else "ok",
        "exit_code": EXIT_BROKEN if not_ok else EXIT_OK,
        "links": len(rows),
        "ok": len(rows) - len(not_ok),
        "not_ok": not_ok,
        # in check mode the playbooks write no report
        "report": os.path.realpath(report_path) if report_path and not check_mode else None,
    }


def diagnosis_status(report: dict, report_path: str | None = None, check_mode: bool = False) -> dict:
    """The status of a diagnosis: every link's verdict in the report (a verdict other than ``ok`` is not ok)."""
    rows = [(r.get("id"), r.get("verdict") or "unknown") for r in (report or {}).get("links") or []]
    return _status("diagnose", rows, report_path, check_mode)


def remediation_status(rows: list[dict], report_path: str | None = None, check_mode: bool = False) -> dict:
    """The status of a remediation run: each link's verdict after the fixes (``after``; in check mode, nothing was
    fixed and ``after`` is the verdict before)."""
    pairs = []
    for row in rows or []:
        after = row.get("after")
        if after in (None, "-"):
            after = row.get("before") or "unknown"
        pairs.append((row.get("now") or row.get("id"), after))
    return _status("remediate", pairs, report_path, check_mode)
