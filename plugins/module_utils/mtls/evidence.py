"""The evidence gathered after the diagnosis, joined to the report's links: the trace of the failing call
(``evidence.trace``, ``trace.py``), the MP system.log records its message ID selects (``evidence.trace.mp_log_records``,
and the handshake-failure one as ``evidence.mp_log.record``), and the packet capture's connections
(``evidence.capture``, ``capture.py``). Evidence only: verdicts and plans are left as they are; a capture that
contradicts the verdict says so in the evidence and in the report's notes.
"""
from __future__ import annotations

import datetime as _dt
import re

from ansible.module_utils.mtls.capture import attach_capture_evidence, read_capture
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.mp_log import log_records, resolve_hosts, verbatim
from ansible.module_utils.mtls.trace import trace_links, trace_targets, undeleted_warnings

MAX_RECORDS = 5
# the MP's own address and port of a southbound connection in its system.log ("SSLClientChannel[C:10.1.2.3:53210 #")
MP_CLIENT_PORT = re.compile(r"SSLClientChannel\[C:[^\s#\]]+:(\d+)")


def attach_traces(rows, traces) -> list:
    if not isinstance(traces, dict):
        raise MtlsError("traces must be a dict of link id -> trace evidence (apigee_trace's traces)")
    for row in rows:
        ev = traces.get(row.get("id"))
        if isinstance(ev, dict):
            row.setdefault("evidence", {})["trace"] = dict(ev)
    return rows


def attach_log_records(rows, records) -> list:
    """The records naming each traced call's message ID (as logged, the first lines of each), and the handshake
    failure among them as the link's ``evidence.mp_log.record``."""
    for row in rows:
        trace = (row.get("evidence") or {}).get("trace") or {}
        mid = trace.get("message_id")
        if not mid:
            continue
        mine = [verbatim(r.splitlines()) for r in records or [] if isinstance(r, str) and mid in r][:MAX_RECORDS]
        if not mine:
            continue
        trace["mp_log_records"] = mine
        failure = next((r for r in mine if "handshakeFailed" in r or "handshake failed" in r), None)
        mp_log = row["evidence"].get("mp_log")
        if failure and mp_log is not None:
            mp_log["record"] = failure
    return rows


def diagnosis_window(report):
    """(start, end) epoch seconds of the diagnosis run (its probes), a second of margin each side; None if unknown."""
    try:
        end = _dt.datetime.fromisoformat(str(report["generated_at"]).replace("Z", "+00:00")).timestamp()
        wall = float((report.get("stats") or {}).get("wall_seconds") or 0)
    except (KeyError, TypeError, ValueError):
        return None
    return end - wall - 1.0, end + 1.0


def attach_evidence(report, traces=None, records=None, captures=None, host_addresses=None) -> dict:
    """Join the evidence to ``report`` (in place) and return it. ``captures``: ``[{"file", "connections"}]``."""
    rows = report.get("links") or []
    attach_traces(rows, traces or {})
    attach_log_records(rows, records or [])
    windows = {}
    for row in rows:
        trace = (row.get("evidence") or {}).get("trace") or {}
        call = trace.get("call") or {}
        if call.get("started") and call.get("ended"):
            ports = {int(m) for r in trace.get("mp_log_records") or [] for m in MP_CLIENT_PORT.findall(r)}
            windows[row["id"]] = (float(call["started"]), float(call["ended"]), ports)
    exclude = diagnosis_window(report)
    for cap in captures or []:
        attach_capture_evidence(rows, cap.get("connections") or [], cap.get("file"), host_addresses, windows, exclude)
    for row in rows:
        contradiction = ((row.get("evidence") or {}).get("capture") or {}).get("contradiction")
        if contradiction:
            notes = row.setdefault("notes", [])
            if contradiction not in notes:
                notes.append(contradiction)
    return report


def gather_evidence(client, report, trace=False, link_ids=(), call_url="", call_urls=None, call_headers=None,
                    wait=20.0, verify=True, max_workers=8, mp_log_paths=(), captures=()) -> list:
    """Gather what this host can of the runbook's evidence and join it to ``report``: the trace of each broken link
    (or of link_ids), the MP log records of its message ID (logs readable here), the captures (files here).
    Evidence only: what cannot be gathered is a warning (returned), never a failure of the diagnosis."""
    warnings, traces, records, read = [], {}, [], []
    if trace or link_ids:
        targets = trace_targets(report["links"], call_urls or {}, call_url, list(link_ids or []))
        try:
            traces = trace_links(client, targets, call_headers=call_headers, wait=wait, verify=verify,
                                 max_workers=max_workers)
        except MtlsError as exc:
            warnings.append("no trace: %s" % exc.msg)
        warnings += undeleted_warnings(traces)
    ids = sorted({t["message_id"] for t in traces.values() if t.get("message_id")})
    if ids and mp_log_paths:
        try:
            records = log_records(list(mp_log_paths), ids)[0]
        except (MtlsError, OSError) as exc:
            warnings.append("MP log records not read: %s" % exc)
    for item in captures or ():
        path = item.get("path") if isinstance(item, dict) else item
        try:
            read.append({"file": path, "connections": read_capture(
                path, keylog=item.get("keylog") if isinstance(item, dict) else None)})
        except MtlsError as exc:
            warnings.append("capture %s not read: %s" % (path, exc.msg))
    if traces or read:
        hosts = {r["host"] for r in report["links"] if r.get("host")} if read else set()
        attach_evidence(report, traces, records, read, resolve_hosts(hosts))
        warnings += ["%s: %s" % (r["id"], r["evidence"]["capture"]["contradiction"]) for r in report["links"]
                     if ((r.get("evidence") or {}).get("capture") or {}).get("contradiction")]
    return warnings
