"""The report's rows: what the later plays read of a diagnosis (plan, fixes, verification, run status), without the
evidence.

At a thousand links the whole report is megabytes (chains, acceptable CAs, handshakes, traces); Ansible would carry
it through every fact and template. The rows are the summary and, per link, the fields that the remediation plan
(remediation.py), the verification (verification.py), the run status (run_status.py) and the roles read; the whole
report stays in its file, named by ``path``.
"""
from __future__ import annotations

# per link: identity, where it points, what it uses, the verdict and its remediation (the plan reads these)
ROW_FIELDS = ("id", "env", "source", "name", "api", "revision", "host", "port", "keystore", "reference", "alias",
              "truststore", "tls_enabled", "client_auth_enabled", "verdict", "remediation", "expiry")
# the report's own fields kept beside the rows
HEAD_FIELDS = ("schema_version", "generated_at", "mgmt_url", "org", "envs", "probe_host", "summary", "stats")


def link_row(link: dict) -> dict:
    """One link's row: ROW_FIELDS it has, and ``message_id``, the traced call's MP message ID, when it was traced."""
    row = {k: link[k] for k in ROW_FIELDS if k in link}
    trace = (link.get("evidence") or {}).get("trace")
    if isinstance(trace, dict) and trace.get("message_id"):
        row["message_id"] = trace["message_id"]
    return row


def report_rows(report: dict, path: str | None = None) -> dict:
    """The report as rows: its head fields, one row per link, and ``path``, the file holding the whole report
    (None when it was not written)."""
    out = {k: report[k] for k in HEAD_FIELDS if k in report}
    out["links"] = [link_row(link) for link in report.get("links") or []]
    out["path"] = path
    return out


def returned_report(report: dict, return_report: str, written: str | None) -> dict:
    """What a module returns as ``report`` (its option return_report): the whole report (``full``), or its rows
    naming ``written``, the file this run wrote it to (None in check mode, or when it wrote none)."""
    return report if return_report == "full" else report_rows(report, written)
