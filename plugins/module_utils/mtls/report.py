"""The diagnosis report: JSON (schema docs/mtls-report.schema.json) and Markdown, and writing them.

Also the few accessors every consumer of a report row uses (``verdict_code``, ``remediation_of``), so that no consumer
guesses the report's shape.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re

from ansible.module_utils.mtls.report_diagram import chain_diagram, chain_svg, svg_name
from ansible.module_utils.mtls.report_text import EXPLAIN as _EXPLAIN
from ansible.module_utils.mtls.report_text import words
from ansible.module_utils.mtls.verdicts import VERDICTS

SCHEMA_VERSION = 1


def verdict_code(row: dict) -> str:
    """The verdict code of a report row ("unknown" for a row without one)."""
    return row.get("verdict") or "unknown"


def remediation_of(row: dict) -> dict:
    """The remediation plan of a report row ({} for a row without one)."""
    rem = row.get("remediation")
    return rem if isinstance(rem, dict) else {}

def jsonable(obj):
    """Plain JSON data (datetimes, bytes, names and sets turned into strings and lists)."""
    return json.loads(json.dumps(obj, default=_default))


def _default(o):
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    if isinstance(o, bytes):
        return o.decode("ascii", "replace")
    if hasattr(o, "rfc4514_string"):
        return o.rfc4514_string()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


# --------------------------------------------------------------------------- Markdown
EXPLAIN = _EXPLAIN["en"]   # the English explanations (report_text.py has both languages)


def _cell(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


# verdicts that the link's configuration decides, whatever the backend answers
DECIDED_BEFORE_THE_PROBE = ("tls_disabled", "reference_missing", "dynamic_keystore", "keystore_missing",
                            "alias_missing",
                            "no_client_certificate")


def render_markdown(report, lang="en"):
    """The Markdown report, in English or Japanese (report_text.py); the JSON report is the same in both."""
    t, explain, actions = words(lang)
    lines = [t["title"] % (report["org"], ", ".join("`%s`" % e for e in report["envs"])), "",
             t["generated"] % (
                 report["generated_at"], report["summary"]["total"], report["summary"]["ok"],
                 report["summary"]["broken"], report["stats"].get("api_requests"), report["stats"].get("probes"),
                 report["stats"].get("wall_seconds")),
             ""]
    soon = report["summary"].get("expiring_links") or []
    if soon:
        days = next((r["expiry"]["warn_days"] for r in report["links"] if r.get("expiry")), None)
        lines += [t["expiring"] % days, "", t["expiring_head"], "|---|---|---|---|---|"]
        for e in soon:
            lines.append("| `%s` | %s | %s | %s | %d |" % (_cell(e["id"]), e["what"], _cell(e["subject"]),
                                                            e["not_after"], e["days_left"]))
        lines.append("")
    lines += [t["verdict_head"], "|---|---|"]
    for v in VERDICTS:
        n = report["summary"]["by_verdict"].get(v, 0)
        if n:
            lines.append("| %s | %d |" % (v, n))
    lines += ["", t["links_head"], "|---|---|---|---|---|"]
    for row in report["links"]:
        ks = row["keystore"] or "-"
        if row["reference"]:
            ks = "ref://%s -> %s" % (row["reference"], row["keystore"] or "?")
        action = row["remediation"]["action"]
        lines.append("| `%s` | %s:%s | %s / %s | **%s** | %s |" % (
            _cell(row["id"]), _cell(row["host"]), _cell(row["port"]), _cell(ks), _cell(row["alias"] or "-"),
            row["verdict"], actions.get(action, action)))
    broken = [r for r in report["links"] if r["verdict"] != "ok"]
    if broken:
        lines += ["", t["broken"], ""]
    for row in broken:
        lines += ["### `%s`: %s" % (row["id"], row["verdict"]), "", explain.get(row["verdict"], ""), ""]
        diagram = chain_diagram(row)
        if diagram:
            lines += ["```mermaid", diagram, "```", "", t["svg"] % (DIAGRAMS, svg_name(row["id"])), ""]
        lines.append(t["backend"] % (row["host"], row["port"], t["sni"] % row["sni"] if row.get("sni") else ""))
        if row.get("used_by"):
            lines.append(t["used_by"] % ", ".join(t["used_by_item"] % (
                u.get("api"), u.get("revision"), ", ".join(u.get("basepaths") or []) or "-") for u in row["used_by"]))
        if row["acceptable_cas"]:
            lines.append(t["acceptable"])
            openssl_forms = row["acceptable_cas_openssl"] or row["acceptable_cas"]
            for rfc, ossl in zip(row["acceptable_cas"], openssl_forms, strict=False):
                lines.append("  - `%s`  (OpenSSL: `%s`)" % (rfc, ossl))
        req = row.get("certificate_request")
        if req:
            lines.append(t["certificate_request"] % (
                req.get("tls_version"), ", ".join(req.get("certificate_types") or []) or "-",
                ", ".join(req.get("signature_algorithms") or []) or "-",
                "; signature_algorithms_cert %s" % ", ".join(req["signature_algorithms_cert"])
                if req.get("signature_algorithms_cert") else ""))
        tls = row.get("tls_versions") or {}
        if tls.get("per_version") and row["verdict"] not in DECIDED_BEFORE_THE_PROBE:
            lines.append(t["tls_versions"] % (
                tls.get("java"), ", ".join(tls.get("allowed") or []) or "-", tls.get("negotiated") or "none",
                "; ".join("%s %s%s" % (v, o.get("verdict"), "" if o.get("answered") else t["not_answered"])
                          for v, o in tls["per_version"].items())))
        kev = row["evidence"].get("keystore")
        if kev:
            names = kev.get("aliases") or []
            lines.append(t["keystore_aliases"] % (kev.get("name"), len(names),
                                                  ": %s" % ", ".join("`%s`" % n for n in names) if names else ""))
        if row["chain_summary"]:
            lines.append(t["stored_chain"] % (row["keystore"], row["alias"]))
            for c in row["chain_summary"]:
                lines.append(t["chain_item"] % (c.get("subject"), c.get("issuer"), c.get("not_before"),
                                                c.get("not_after")))
        sel = row["evidence"].get("jsse_selection")
        if sel:
            lines.append(t["jsse"] % (t["sends"] if sel.get("sent") else t["sends_nothing"],
                                      sel.get("reason") or sel.get("matched_issuer")))
        mp_log = row["evidence"].get("mp_log")
        if mp_log:
            lines.append(mp_log_line(mp_log, lang))
            if mp_log.get("record") and not (row["evidence"].get("trace") or {}).get("mp_log_records"):
                lines += [t["mp_log_record"], *_block(mp_log["record"])]
        lines += trace_lines(row["evidence"].get("trace"), lang)
        lines += capture_lines(row["evidence"].get("capture"), lang)
        hs = row.get("handshake")
        if hs:
            lines.append(t["handshake"] % (hs.get("alert_text") or ("HTTP %s" % hs.get("http_status")
                                                                      if hs.get("http_status") else
                                                                      hs.get("error") or t["completed"])))
        if hs and hs.get("completed") and not hs.get("client_certificate_presented") and \
                str(hs.get("http_status") or "").startswith("4"):
            lines.append(t["http_400"] % hs.get("http_status"))
        rem = row["remediation"]
        lines += ["", t["fix"] % (actions.get(rem["action"], rem["action"]), rem["text"]), ""]
        if rem["action"] == "upload_chain" and rem.get("certificates"):
            lines.append(t["upload"] % (rem.get("keystore"), rem.get("alias")))
            for c in rem["certificates"]:
                lines.append("- `%s` (SHA-256 `%s`)%s" % (c["subject"], c["sha256"], t["missing"] if any(
                    m["sha256"] == c["sha256"] for m in rem.get("missing") or []) else ""))
            lines.append("")
        if rem["action"] == "trust_issuer":
            lines.append(t["trust"] % (rem["subject"], rem.get("sha256")))
            for c in rem.get("ca_chain") or []:
                lines.append(t["chain"] % (c["subject"], c["sha256"]))
            lines.append("")
    return "\n".join(lines) + "\n"


def _block(text):
    return ["", "  ```", *("  " + x for x in text.splitlines()), "  ```"]


def trace_lines(trace, lang="en"):
    """The runbook's trace step for one link: where the call failed, error.cause, the message ID and its records."""
    if not trace:
        return []
    t = words(lang)[0]
    if trace.get("error_cause") or trace.get("phase"):
        lines = [t["trace"] % (trace.get("api"), trace.get("revision"),
                               "error.cause `%s`" % trace.get("error_cause") if trace.get("error_cause") else "-",
                               trace.get("phase") or "-", trace.get("status", "-"), trace.get("message_id") or "-")]
    else:
        what = trace.get("note") or ("%s, HTTP %s, X-Apigee.Message-ID `%s`" % (
            t["trace_ok"], trace.get("status", "-"), trace.get("message_id") or "-"))
        lines = [t["trace_none"] % (trace.get("api"), trace.get("revision"), what)]
    if trace.get("target_url"):
        lines.append(t["trace_target"] % trace["target_url"])
    for i, record in enumerate(trace.get("mp_log_records") or []):
        if i == 0:
            lines.append(t["trace_records"] % trace.get("message_id"))
        lines += _block(record)
    return lines


def capture_lines(capture, lang="en"):
    """The runbook's Wireshark step for one link: per connection the CertificateRequest, the client's Certificate
    (Certificate Length: 0) and the alerts."""
    if not capture:
        return []
    t = words(lang)[0]
    conns = capture.get("connections") or []
    lines = []
    if capture.get("contradiction"):
        lines.append(t["capture_contradiction"] % capture["contradiction"])
    lines.append(t["capture"] % (capture.get("file"), len(conns)))
    for c in conns[-5:]:
        lines.append(t["capture_conn"] % (c.get("client"), c.get("server"), c.get("version") or "?",
                                          ", ".join(c.get("messages") or []) or "-"))
        req = c.get("certificate_request")
        if req:
            lines.append(t["capture_req"] % (", ".join(req.get("certificate_types") or []) or "-",
                                             "; ".join("`%s`" % d for d in req.get("distinguished_names") or [])
                                             or "(none)"))
        cert = c.get("client_certificate")
        if cert:
            lines.append(t["capture_cert"] % (cert.get("certificates_length"), cert.get("certificates") or 0))
        elif req:
            lines.append(t["capture_no_cert"])
        for a in c.get("alerts") or []:
            lines.append(t["capture_alert"] % (a.get("from"), a.get("level"), a.get("description")))
        if c.get("encrypted"):
            lines.append(t["capture_encrypted"])
    if capture.get("note"):
        lines.append(t["capture_note"] % capture["note"])
    return lines


def mp_log_line(mp_log, lang="en"):
    """The runbook's MP log step for one link, one Markdown bullet."""
    t = words(lang)[0]
    what = ", ".join(mp_log.get("messages") or ["Received fatal alert: %s" % a for a in mp_log.get("alerts") or []])
    text = t["mp_log"] % mp_log["count"]
    if what:
        text += ", %s" % what
    if mp_log.get("message_ids"):
        text += t["mp_log_ids"] % ", ".join("`%s`" % m for m in mp_log["message_ids"])
    if mp_log.get("first"):
        text += t["mp_log_span"] % (mp_log["first"], mp_log["last"])
    return text


DIAGRAMS = "diagrams"


def diagram_files(report) -> dict:
    """``diagrams/<link>.svg`` -> the SVG picture of each broken link that has one (beside the Markdown, for mail)."""
    out = {}
    for row in report.get("links") or []:
        if row.get("verdict") != "ok":
            svg = chain_svg(row)
            if svg:
                out["%s/%s" % (DIAGRAMS, svg_name(row["id"]))] = svg
    return out


def report_texts(report, lang="en") -> dict:
    """The report's files as text, made once per run for both places they go (the report folder and the run's own
    folder): ``json``, ``markdown`` and ``diagrams`` ({"diagrams/<link>.svg": svg})."""
    return {"json": json.dumps(report, indent=2, sort_keys=True) + "\n", "markdown": render_markdown(report, lang),
            "diagrams": diagram_files(report)}


def run_files(texts: dict, stage: str) -> dict:
    """The run folder's copy of the report texts (report_runs.save_run): ``<stage>.json``, ``<stage>.md``, the
    diagrams."""
    return {"%s.json" % stage: texts["json"], "%s.md" % stage: texts["markdown"], **texts["diagrams"]}


def write_reports(report, directory, check_mode=False, lang="en", texts=None):
    """Write mtls-report.json, mtls-report.md and the diagrams' SVGs (``diagrams/``); returns (paths, changed).
    Content-equal files are left alone (the generated_at stamp and timings are ignored for that comparison).
    texts: the report's ``report_texts`` when the caller made them already."""
    texts = texts or report_texts(report, lang)
    paths = {"json": os.path.join(directory, "mtls-report.json"), "markdown": os.path.join(directory, "mtls-report.md")}
    files = [(paths["json"], texts["json"], "json"), (paths["markdown"], texts["markdown"], "markdown")]
    for name, svg in sorted(texts["diagrams"].items()):
        paths.setdefault("diagrams", []).append(os.path.join(directory, name))
        files.append((os.path.join(directory, name), svg, "svg"))
    changed = write_if_changed(files, check_mode)
    folder = os.path.join(directory, DIAGRAMS)
    keep = set(paths.get("diagrams") or [])
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        if name.endswith(".svg") and path not in keep:   # the picture of a link that is no longer broken
            changed = True
            if not check_mode:
                os.unlink(path)
    return paths, changed


def write_if_changed(files, check_mode=False) -> bool:
    """Write each (path, text, kind) whose content differs from the file there (kind ``json``: the generated_at
    stamp and the stats are ignored; ``markdown``: the "Generated" line; ``svg``: exact); atomically, nothing in check
    mode. Whether any differed."""
    changed = False
    for path, text, kind in files:
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                old = fh.read()
        if old is None or not same_content(old, text, kind):
            changed = True
            if not check_mode:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = path + ".tmp"
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, path)
    return changed


# the top-level generated_at line and stats block of a JSON file this module wrote (indent 2, sorted keys)
_VOLATILE_JSON = re.compile(r'^  "generated_at": [^\n]*\n|^  "stats": \{\n(?:    [^\n]*\n)*?  \},?\n', re.M)


def same_content(old: str, new: str, kind: str) -> bool:
    """Whether two texts of a report file say the same (``_stable``). JSON both written the way this module writes
    it is compared as text without its volatile lines (a 10 MB report is not parsed twice); anything else is parsed."""
    if kind == "json" and _VOLATILE_JSON.sub("", old) == _VOLATILE_JSON.sub("", new):
        return True
    return _stable(old, kind) == _stable(new, kind)


def _stable(text, kind):
    if kind == "json":
        try:
            data = json.loads(text)
        except ValueError:
            return text
        data.pop("generated_at", None)
        data.pop("stats", None)
        return json.dumps(data, sort_keys=True)
    if kind == "svg":
        return text
    return "\n".join(line for line in text.splitlines() if not line.startswith(("Generated ", "生成日時 ")))
