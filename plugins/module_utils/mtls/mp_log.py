"""Scan Message Processor system.log files for southbound TLS handshake failures (the runbook's MP log step).

A record starts with a timestamp (``2017-10-23 05:28:57,813``); anything else is a continuation of the record before
it (stack frames, or a record wrapped over several lines by a terminal or a ticket). ``HTTPClient$Context
.handshakeFailed() ... Remote host:IP:PORT ... handshake failed, message: Received fatal alert: bad_certificate``
records are grouped by org, env, api, rev, remote host:port and alert, with counts, first/last time and message IDs.
Rotated logs (``system.log.1``, ``system.log.2.gz``) are read in order, oldest first.

Apigee hybrid's message processor is the ``apigee-runtime`` container, whose log is its standard output, read with
``kubectl logs`` (runtime_log.py). Its records are read here too: Google's hybrid documentation ("Runtime logs") shows
them as ``hybrid-runtime [org:... env:...] <thread> <LEVEL> <logger> - <Class.method()> : <message>``, without a time of
their own; with ``kubectl logs --timestamps`` every line (continuations too) starts with the RFC 3339 time the
container runtime recorded, which is then the record's time. That format is taken from the documentation's examples,
not from a live cluster: a record in another shape is not recognised (and so not counted).
"""
from __future__ import annotations

import datetime as _dt
import glob
import gzip
import os
import re
import socket

from ansible.module_utils.mtls.errors import MtlsError

RECORD_START = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d{3})\s+(.*)$")
# `kubectl logs --timestamps`: each line as the container runtime stored it, after its RFC 3339 (nano) time
KUBECTL_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})\s(.*)$", re.S)
HYBRID_START = re.compile(r"^hybrid-runtime\s+(.*)$", re.S)
FIELD = re.compile(r"\b(org|env|api|rev|messageid):(\S*)")
REMOTE = re.compile(r"Remote\s+host:\s*/?([^\s#\]]+?):(\d+)\s*#?")
MESSAGE = re.compile(r"handshake\s+failed,\s+message:\s*(.+?)\s*$", re.S)
ALERT = re.compile(r"Received fatal alert:\s*([A-Za-z_]+)")
MAX_IDS = 20
MP_LOG_MAX_IDS = 5  # message IDs kept per link in the report's evidence
SYSTEM_LOG = "/opt/apigee/var/log/edge-message-processor/system.log"  # a Private Cloud MP's log


def log_files_argument_spec() -> dict:
    """The options of every module that reads MP logs: which files, and whether their rotations too."""
    return {"paths": {"type": "list", "elements": "path", "default": [SYSTEM_LOG]},
            "include_rotated": {"type": "bool", "default": True}}


def _open(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _rotation_key(path):
    """system.log.3.gz < system.log.2 < system.log.1 < system.log (oldest first)."""
    base = os.path.basename(path)
    m = re.search(r"\.(\d+)(?:\.gz)?$", base)
    return (-int(m.group(1)) if m else 0, base)


def expand_paths(paths, include_rotated=True):
    """Files to read: globs expanded; for each file, its rotated siblings too (when include_rotated)."""
    found = []
    for item in paths or []:
        matches = sorted(glob.glob(os.path.expanduser(item))) or [item]
        for path in matches:
            if os.path.isdir(path):
                path = os.path.join(path, "system.log")
            group = [path] if os.path.exists(path) else []
            if include_rotated:
                group += [p for p in glob.glob(path + ".*") if re.search(r"\.\d+(\.gz)?$", p)]
            if not group:
                raise MtlsError("MP log %s does not exist" % item)
            for p in sorted(set(group), key=_rotation_key):
                if p not in found:
                    found.append(p)
    return found


def _kubectl_time(date: str, clock: str, fraction: str | None, zone: str) -> str:
    """An RFC 3339 time of `kubectl logs --timestamps` as this module's record time (``YYYY-MM-DD HH:MM:SS,mmm``,
    UTC)."""
    millis = (fraction or "0")[:3].ljust(3, "0")
    if zone in ("Z", "+00:00", "+0000", "-00:00", "-0000"):
        return "%s %s,%s" % (date, clock, millis)
    at = _dt.datetime.fromisoformat("%sT%s%s:%s" % (date, clock, zone[:3], zone[-2:])).astimezone(_dt.UTC)
    return at.strftime("%Y-%m-%d %H:%M:%S,") + millis


def record_head(line: str):
    """(time, text after the time) when this line starts a record, else None: a system.log record (its own time), or an
    apigee-runtime record of hybrid (``hybrid-runtime ...``, timed by the `kubectl logs --timestamps` prefix when there
    is one, else None)."""
    line = line.rstrip("\r\n")
    kube = KUBECTL_TIME.match(line)
    if kube:
        line = kube.group(5)
    m = RECORD_START.match(line)
    if m:
        return m.group(1), m.group(2)
    h = HYBRID_START.match(line)
    if h:
        return (_kubectl_time(*kube.groups()[:4]) if kube else None), h.group(1)
    return None


def _continuation(line: str) -> str:
    kube = KUBECTL_TIME.match(line.rstrip("\r\n"))
    return (kube.group(5) if kube else line).strip()


def iter_raw_records(lines):
    """Group lines into records as logged: yields the list of a record's lines (continuations included, verbatim).
    Lines before the first record start are dropped."""
    record = []
    for line in lines:
        if record_head(line) is not None:
            if record:
                yield record
            record = [line]
        elif record:
            record.append(line)
    if record:
        yield record


def iter_records(lines, raw=False):
    """Join continuation lines to their record: yields (timestamp, text), or (timestamp, text, lines as logged).
    The timestamp is None for a hybrid record read without `kubectl logs --timestamps`."""
    for record in iter_raw_records(lines):
        ts, head = record_head(record[0])
        parts = [head] + [_continuation(line) for line in record[1:]]
        yield (ts, " ".join(parts), record) if raw else (ts, " ".join(parts))


RECORD_MAX_LINES = 12


def verbatim(record_lines, max_lines=RECORD_MAX_LINES) -> str:
    """One record as logged, for a ticket: its first max_lines lines (the failure, the SSLInfo line, the top of the
    stack trace), then how many were left out."""
    lines = [line.rstrip("\r\n") for line in record_lines]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["\t... (%d more lines)" % (len(lines) - max_lines)]
    return "\n".join(lines)


def parse_failure(ts, text):
    """A handshake failure dict from one joined record, or None."""
    if "handshakeFailed" not in text or "handshake failed" not in text:
        return None
    fields = dict(FIELD.findall(text))
    remote = REMOTE.search(text)
    msg = MESSAGE.search(text)
    message = msg.group(1) if msg else None
    alert = ALERT.search(message or text)
    return {
        "time": ts.replace(".", ",") if ts else None,
        "org": fields.get("org"), "env": fields.get("env"), "api": fields.get("api"),
        "rev": fields.get("rev"), "message_id": fields.get("messageid"),
        "remote_host": remote.group(1) if remote else None, "remote_port": int(remote.group(2)) if remote else None,
        "message": message, "alert": alert.group(1) if alert else None,
    }


def group_failures(sources, org=None, env=None, api=None, since=None) -> tuple[list, int]:
    """(groups, records matched) from ``sources``, pairs (name, the lines of one log): the handshake failures grouped
    by org, env, api, rev, remote host:port and alert, most frequent first. A record whose time is unknown (hybrid,
    read without timestamps) is left out when ``since`` is given: it cannot be shown to be recent."""
    groups = {}
    total = 0
    for name, lines in sources:
        for ts, text, raw in iter_records(lines, raw=True):
            f = parse_failure(ts, text)
            if f is None:
                continue
            if (org and f["org"] != org) or (env and f["env"] != env) or (api and f["api"] != api):
                continue
            if since and (f["time"] is None or f["time"] < since):
                continue
            total += 1
            key = (f["org"], f["env"], f["api"], f["rev"], f["remote_host"], f["remote_port"], f["alert"])
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"org": f["org"], "env": f["env"], "api": f["api"], "rev": f["rev"],
                                   "remote": "%s:%s" % (f["remote_host"], f["remote_port"]),
                                   "remote_host": f["remote_host"], "remote_port": f["remote_port"],
                                   "alert": f["alert"], "message": f["message"], "count": 0,
                                   "first": f["time"], "last": f["time"], "message_ids": [], "sources": []}
            g["count"] += 1
            if name not in g["sources"]:
                g["sources"].append(name)
            if f["time"] is not None:
                g["first"] = min(g["first"] or f["time"], f["time"])
            if "record" not in g or (f["time"] or "") >= (g["last"] or ""):   # the latest failure's record, as logged
                g["record"] = verbatim(raw)
            if f["time"] is not None:
                g["last"] = max(g["last"] or f["time"], f["time"])
            if f["message_id"] and f["message_id"] not in g["message_ids"] and len(g["message_ids"]) < MAX_IDS:
                g["message_ids"].append(f["message_id"])
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["org"] or "", g["env"] or "", g["api"] or ""))
    return ordered, total


def _file_sources(files):
    for path in files:
        with _open(path) as fh:
            yield path, fh


def scan(paths, include_rotated=True, org=None, env=None, api=None, since=None):
    """Group handshake failures from MP logs. Returns {"groups": [...], "records": n, "files": [...]}"""
    files = expand_paths(paths, include_rotated)
    groups, total = group_failures(_file_sources(files), org=org, env=env, api=api, since=since)
    return {"groups": groups, "records": total, "files": files}


def scan_groups(paths, org=None) -> tuple[list, list[str]]:
    """(the groups of ``scan``, warnings): a log that cannot be read is a warning, not an error (the logs are
    evidence; the diagnosis does not depend on them)."""
    try:
        return scan(paths, org=org)["groups"], []
    except (MtlsError, OSError) as exc:
        return [], ["MP system.log not scanned: %s" % (getattr(exc, "msg", None) or exc)]


def records_naming(lines, message_ids) -> list[str]:
    """The records of `lines` (one log, an MP's system.log or a runtime pod's) that name any of the message IDs, each as
    logged, continuation lines included."""
    ids = [m for m in message_ids or [] if m]
    records = []
    for record in iter_raw_records(lines) if ids else ():
        text = "".join(line if line.endswith("\n") else line + "\n" for line in record)
        if any(m in text for m in ids):
            records.append(text.rstrip("\n"))
    return records


def log_records(paths, message_ids, include_rotated: bool = True) -> tuple[list[str], list[str]]:
    """(records naming any of the message IDs, files read): each record as logged, continuation lines included."""
    ids = [m for m in message_ids or [] if m]
    if not ids or not paths:
        return [], []
    files = expand_paths(paths, include_rotated)
    records = []
    for path in files:
        with _open(path) as fh:
            records += records_naming(fh, ids)
    return records, files



# --------------------------------------------------------------------------- the report's evidence.mp_log


def resolve_hosts(hosts, resolve_fn=None):
    """host -> the IP addresses it resolves to (the MP logs the remote IP, a link names a host). Best effort: a name
    that does not resolve maps to no address."""
    fn = resolve_fn or _resolve
    out = {}
    for host in sorted(hosts):
        try:
            out[host] = sorted(set(fn(host)))
        except (OSError, UnicodeError):
            out[host] = []
    return out


def _resolve(host):
    return [ai[4][0] for ai in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


def _norm_host(host):
    return str(host or "").strip().strip("[]").rstrip(".").lower()


def mp_log_groups_for_link(row, groups, org=None, host_addresses=None):
    """The MP system.log groups (``mtls_logscan.scan``) that belong to one report row (link).

    A group belongs to the link when its org (if both are known) and env are the link's, its remote port is the
    link's port, its remote host is the link's host or one of that host's addresses (``host_addresses``), and the
    proxy matches: for a proxy target endpoint the link's api and revision; for a target server an api in the link's
    ``used_by`` (any revision: the target server's SSLInfo applies to all of them)."""
    if not row.get("host") or row.get("port") is None:
        return []
    names = {_norm_host(row["host"])}
    names.update(_norm_host(a) for a in (host_addresses or {}).get(row["host"]) or [])
    if row.get("source") in ("proxy", "callout"):
        apis = None
    else:
        apis = {u.get("api") for u in row.get("used_by") or [] if u.get("api")}
    out = []
    for g in groups or []:
        if org and g.get("org") and g["org"] != org:
            continue
        if g.get("env") != row.get("env"):
            continue
        if g.get("remote_port") is None or int(g["remote_port"]) != int(row["port"]):
            continue
        if _norm_host(g.get("remote_host")) not in names:
            continue
        if apis is None:
            if g.get("api") != row.get("api"):
                continue
            if row.get("revision") is not None and g.get("rev") not in (None, "") and \
                    str(g["rev"]) != str(row["revision"]):
                continue
        elif g.get("api") not in apis:
            continue
        out.append(g)
    return out


def summarize_mp_log(groups, max_ids=MP_LOG_MAX_IDS):
    """One evidence dict from the matching groups: count, alerts, messages, first/last, up to max_ids message IDs."""
    ordered = sorted(groups, key=lambda g: (g.get("last") or ""), reverse=True)
    ids = []
    for g in ordered:  # the most recent failures first
        for mid in reversed(g.get("message_ids") or []):
            if mid not in ids and len(ids) < max_ids:
                ids.append(mid)
    alerts = sorted({g["alert"] for g in groups if g.get("alert")})
    messages = sorted({g["message"] for g in groups if g.get("message")})
    return {
        "count": sum(int(g.get("count") or 0) for g in groups),
        "alerts": alerts,
        "messages": messages,
        "first": min((g["first"] for g in groups if g.get("first")), default=None),
        "last": max((g["last"] for g in groups if g.get("last")), default=None),
        "message_ids": ids,
        "record": next((g["record"] for g in ordered if g.get("record")), None),
        "groups": [{"api": g.get("api"), "rev": g.get("rev"), "remote": g.get("remote"), "alert": g.get("alert"),
                    "count": g.get("count"), "first": g.get("first"), "last": g.get("last"),
                    **({"sources": g["sources"]} if g.get("sources") else {})}
                   for g in sorted(groups, key=lambda g: (-(g.get("count") or 0), str(g.get("rev"))))],
    }


def attach_mp_log_evidence(rows, groups, org=None, max_ids=MP_LOG_MAX_IDS, host_addresses=None):
    """Attach the matching MP system.log groups to each row as ``evidence.mp_log`` (only where some match).

    Evidence only: the verdict and the remediation plan are left as they are. Returns the rows."""
    if not isinstance(max_ids, int) or max_ids < 1:
        raise MtlsError("mp_log_max_ids must be a positive integer, got %r" % (max_ids,))
    for i, g in enumerate(groups or []):
        if not isinstance(g, dict):
            raise MtlsError("mp_log_groups[%d] is not a dict (expected a group of apigee_mp_log_scan)" % i)
        missing = [k for k in ("env", "remote_host", "remote_port", "count") if k not in g]
        if missing:
            raise MtlsError("mp_log_groups[%d] lacks %s (expected a group of apigee_mp_log_scan)" % (
                i, ", ".join(missing)))
        try:
            if g["remote_port"] is not None:
                int(g["remote_port"])
            int(g["count"])
        except (TypeError, ValueError):
            raise MtlsError("mp_log_groups[%d]: remote_port and count must be integers" % i) from None
    for row in rows:
        mine = mp_log_groups_for_link(row, groups, org=org, host_addresses=host_addresses)
        if mine:
            row.setdefault("evidence", {})["mp_log"] = summarize_mp_log(mine, max_ids=max_ids)
    return rows
