"""Scan Message Processor system.log files for southbound TLS handshake failures (the runbook's MP log step).

A record starts with a timestamp (``2017-10-23 05:28:57,813``); anything else is a continuation of the record before
it (stack frames, or a record wrapped over several lines by a terminal or a ticket). ``HTTPClient$Context
.handshakeFailed() ... Remote host:IP:PORT ... handshake failed, message: Received fatal alert: bad_certificate``
records are grouped by org, env, api, rev, remote host:port and alert, with counts, first/last time and message IDs.
Rotated logs (``system.log.1``, ``system.log.2.gz``) are read in order, oldest first.
"""
from __future__ import annotations

import glob
import gzip
import os
import re

from ansible.module_utils.mtls_errors import MtlsError

RECORD_START = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[,.]\d{3})\s+(.*)$")
FIELD = re.compile(r"\b(org|env|api|rev|messageid):(\S*)")
REMOTE = re.compile(r"Remote\s+host:\s*/?([^\s#\]]+?):(\d+)\s*#?")
MESSAGE = re.compile(r"handshake\s+failed,\s+message:\s*(.+?)\s*$", re.S)
ALERT = re.compile(r"Received fatal alert:\s*([A-Za-z_]+)")
MAX_IDS = 20


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


def iter_raw_records(lines):
    """Group lines into records as logged: yields the list of a record's lines (continuations included, verbatim).
    Lines before the first timestamp belong to no record and are dropped."""
    record = []
    for line in lines:
        if RECORD_START.match(line.rstrip("\r\n")):
            if record:
                yield record
            record = [line]
        elif record:
            record.append(line)
    if record:
        yield record


def iter_records(lines):
    """Join continuation lines to their record: yields (timestamp, text)."""
    for record in iter_raw_records(lines):
        m = RECORD_START.match(record[0].rstrip("\r\n"))
        parts = [m.group(2)] + [line.strip() for line in record[1:]]
        yield m.group(1), " ".join(parts)


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
        "time": ts.replace(".", ","), "org": fields.get("org"), "env": fields.get("env"), "api": fields.get("api"),
        "rev": fields.get("rev"), "message_id": fields.get("messageid"),
        "remote_host": remote.group(1) if remote else None, "remote_port": int(remote.group(2)) if remote else None,
        "message": message, "alert": alert.group(1) if alert else None,
    }


def scan(paths, include_rotated=True, org=None, env=None, api=None, since=None):
    """Group handshake failures from MP logs. Returns {"groups": [...], "records": n, "files": [...]}"""
    files = expand_paths(paths, include_rotated)
    groups = {}
    total = 0
    for path in files:
        with _open(path) as fh:
            for ts, text in iter_records(fh):
                f = parse_failure(ts, text)
                if f is None:
                    continue
                if (org and f["org"] != org) or (env and f["env"] != env) or (api and f["api"] != api):
                    continue
                if since and f["time"] < since:
                    continue
                total += 1
                key = (f["org"], f["env"], f["api"], f["rev"], f["remote_host"], f["remote_port"], f["alert"])
                g = groups.get(key)
                if g is None:
                    g = groups[key] = {"org": f["org"], "env": f["env"], "api": f["api"], "rev": f["rev"],
                                       "remote": "%s:%s" % (f["remote_host"], f["remote_port"]),
                                       "remote_host": f["remote_host"], "remote_port": f["remote_port"],
                                       "alert": f["alert"], "message": f["message"], "count": 0,
                                       "first": f["time"], "last": f["time"], "message_ids": []}
                g["count"] += 1
                g["first"] = min(g["first"], f["time"])
                g["last"] = max(g["last"], f["time"])
                if f["message_id"] and f["message_id"] not in g["message_ids"] and len(g["message_ids"]) < MAX_IDS:
                    g["message_ids"].append(f["message_id"])
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["org"] or "", g["env"] or "", g["api"] or ""))
    return {"groups": ordered, "records": total, "files": files}
