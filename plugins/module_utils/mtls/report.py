"""The diagnosis report: JSON (schema docs/mtls-report.schema.json) and Markdown, and writing them.

Also the few accessors every consumer of a report row uses (``verdict_code``, ``remediation_of``), so that no consumer
guesses the report's shape.
"""
from __future__ import annotations

import datetime as _dt
import json
import os

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
EXPLAIN = {
    "ok": "Nothing to do.",
    "tls_disabled": "The link is configured for TLS but TLS is off, so no handshake (and no client certificate) "
                    "happens at all.",
    "mp_restart_pending": "The management API holds a chain the backend accepts, but it was changed in place (same "
                          "keystore name) and no Message Processor restart has been recorded since: the MPs keep "
                          "the keystore they loaded until they restart, so calls may still fail with the old chain.",
    "dynamic_keystore": "The SSLInfo KeyStore or KeyAlias is set per request from flow variables whose values the "
                        "tool was not given, so what the MP sends could not be checked: declare the values.",
    "reference_missing": "The SSLInfo KeyStore is a reference (ref://) that does not exist, so the MP has no "
                         "keystore to take a client certificate from (runbook cause 1, missing client certificate).",
    "keystore_missing": "The keystore the link uses does not exist (runbook cause 1, missing client certificate).",
    "alias_missing": "The KeyAlias named in SSLInfo is not in the keystore, so the MP has no client certificate "
                     "to send (runbook cause 1).",
    "no_client_certificate": "The keystore holds no client certificate with its key: in the packet capture the MP's "
                             "Certificate message has Certificate Length: 0 and the backend answers with a fatal "
                             "alert (runbook cause 1).",
    "client_auth_disabled": "The backend asks for a client certificate but ClientAuthEnabled is false, so the MP "
                            "sends none.",
    "backend_unreachable": "No TLS connection could be opened from the probe's host; nothing else could be checked.",
    "backend_no_client_auth": "The MP is configured for two-way TLS but the backend never asks for a client "
                              "certificate.",
    "certificate_expired": "The client certificate the MP would send, or a CA certificate of its chain, has expired.",
    "certificate_not_yet_valid": "The client certificate the MP would send is not valid yet.",
    "chain_incomplete": "JSSE sends the chain only when an issuer of a certificate in it is among the backend's "
                        "acceptable CAs; the stored chain lacks the intermediate(s) that would connect it. Upload "
                        "the complete chain (leaf + intermediates) to the keystore.",
    "ca_mismatch": "The CA that issued the leaf is not one of the CAs the backend accepts, so the MP (Java) sends no "
                   "certificate (runbook cause 2, CA mismatch). Put the issuing CA into the backend truststore.",
    "rejected_by_backend": "The MP sends a certificate but the backend still refuses it.",
    "key_type_not_accepted": "The backend's CertificateRequest allows only signature algorithms (and, in TLS 1.2, "
                             "certificate types) for other key types than the client certificate's, so JSSE asks its "
                             "key manager for those key types only and sends an empty Certificate message, whatever "
                             "CAs the backend names.",
    "signature_algorithm_rejected": "The MP's PKIX key manager skips a chain in which a certificate (an attached root "
                                    "included) is signed with an algorithm the backend does not list, or has a key "
                                    "below the JDK's limits: it sends an empty Certificate message.",
    "no_certificate_verify_scheme": "The MP sends its chain, then aborts the handshake itself: no signature "
                                    "algorithm the backend allows fits its key (ECDSA schemes are bound to a curve).",
    "certificate_request_unreadable": "The backend asks for a client certificate, but its CertificateRequest could "
                                      "not be read: which key types and signature algorithms it allows is not known, "
                                      "so the link is not known to work.",
}


def _cell(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


# verdicts that the link's configuration decides, whatever the backend answers
DECIDED_BEFORE_THE_PROBE = ("tls_disabled", "reference_missing", "dynamic_keystore", "keystore_missing",
                            "alias_missing",
                            "no_client_certificate")


def render_markdown(report):
    lines = ["# Southbound mTLS diagnosis: org `%s`, env %s" % (report["org"], ", ".join(
        "`%s`" % e for e in report["envs"])), "",
        "Generated %s. %d link(s): %d ok, %d broken. API requests: %s; probes: %s; wall time %ss." % (
            report["generated_at"], report["summary"]["total"], report["summary"]["ok"], report["summary"]["broken"],
            report["stats"].get("api_requests"), report["stats"].get("probes"), report["stats"].get("wall_seconds")),
        ""]
    soon = report["summary"].get("expiring_links") or []
    if soon:
        days = next((r["expiry"]["warn_days"] for r in report["links"] if r.get("expiry")), None)
        lines += ["## Expiring within %s days (these links work today)" % days, "",
                  "| link | certificate | subject | expires | days left |", "|---|---|---|---|---|"]
        for e in soon:
            lines.append("| `%s` | %s | %s | %s | %d |" % (_cell(e["id"]), e["what"], _cell(e["subject"]),
                                                            e["not_after"], e["days_left"]))
        lines.append("")
    lines += ["| verdict | links |", "|---|---|"]
    for v in VERDICTS:
        n = report["summary"]["by_verdict"].get(v, 0)
        if n:
            lines.append("| %s | %d |" % (v, n))
    lines += ["", "| link | backend | keystore / alias | verdict | fix |", "|---|---|---|---|---|"]
    for row in report["links"]:
        ks = row["keystore"] or "-"
        if row["reference"]:
            ks = "ref://%s -> %s" % (row["reference"], row["keystore"] or "?")
        lines.append("| `%s` | %s:%s | %s / %s | **%s** | %s |" % (
            _cell(row["id"]), _cell(row["host"]), _cell(row["port"]), _cell(ks), _cell(row["alias"] or "-"),
            row["verdict"], row["remediation"]["action"]))
    broken = [r for r in report["links"] if r["verdict"] != "ok"]
    if broken:
        lines += ["", "## Broken links", ""]
    for row in broken:
        lines += ["### `%s`: %s" % (row["id"], row["verdict"]), "", EXPLAIN.get(row["verdict"], ""), ""]
        lines.append("- Backend: `%s:%s`%s" % (row["host"], row["port"],
                                                 " (SNI `%s`)" % row["sni"] if row.get("sni") else ""))
        if row.get("used_by"):
            lines.append("- Used by: %s" % ", ".join("%s rev %s (%s)" % (u.get("api"), u.get("revision"),
                                                                        ", ".join(u.get("basepaths") or []) or "-")
                                                    for u in row["used_by"]))
        if row["acceptable_cas"]:
            lines.append("- Acceptable client CAs (from the backend's CertificateRequest):")
            openssl_forms = row["acceptable_cas_openssl"] or row["acceptable_cas"]
            for rfc, ossl in zip(row["acceptable_cas"], openssl_forms, strict=False):
                lines.append("  - `%s`  (OpenSSL: `%s`)" % (rfc, ossl))
        req = row.get("certificate_request")
        if req:
            lines.append("- Certificate Request (%s): certificate types %s; signature algorithms %s%s" % (
                req.get("tls_version"), ", ".join(req.get("certificate_types") or []) or "-",
                ", ".join(req.get("signature_algorithms") or []) or "-",
                "; signature_algorithms_cert %s" % ", ".join(req["signature_algorithms_cert"])
                if req.get("signature_algorithms_cert") else ""))
        tls = row.get("tls_versions") or {}
        if tls.get("per_version") and row["verdict"] not in DECIDED_BEFORE_THE_PROBE:
            lines.append("- TLS versions (MP Java %s): allowed %s; the MP negotiates %s; per version: %s" % (
                tls.get("java"), ", ".join(tls.get("allowed") or []) or "-", tls.get("negotiated") or "none",
                "; ".join("%s %s%s" % (v, o.get("verdict"), "" if o.get("answered") else " (not answered)")
                          for v, o in tls["per_version"].items())))
        if row["chain_summary"]:
            lines.append("- Stored chain in `%s` / `%s`:" % (row["keystore"], row["alias"]))
            for c in row["chain_summary"]:
                lines.append("  - subject `%s`, issuer `%s`" % (c.get("subject"), c.get("issuer")))
        sel = row["evidence"].get("jsse_selection")
        if sel:
            lines.append("- JSSE selection: %s (%s)" % ("sends the chain" if sel.get("sent") else "sends nothing",
                                                        sel.get("reason") or sel.get("matched_issuer")))
        mp_log = row["evidence"].get("mp_log")
        if mp_log:
            lines.append(mp_log_line(mp_log))
        hs = row.get("handshake")
        if hs:
            lines.append("- Handshake: %s" % (hs.get("alert_text") or ("HTTP %s" % hs.get("http_status")
                                                                       if hs.get("http_status") else
                                                                       hs.get("error") or "completed")))
        rem = row["remediation"]
        lines += ["", "**Fix (%s):** %s" % (rem["action"], rem["text"]), ""]
        if rem["action"] == "upload_chain" and rem.get("certificates"):
            lines.append("Complete chain to upload to `%s` / `%s`:" % (rem.get("keystore"), rem.get("alias")))
            for c in rem["certificates"]:
                lines.append("- `%s` (SHA-256 `%s`)%s" % (c["subject"], c["sha256"], " **missing**" if any(
                    m["sha256"] == c["sha256"] for m in rem.get("missing") or []) else ""))
            lines.append("")
        if rem["action"] == "trust_issuer":
            lines.append("CA to add to the backend truststore: `%s` (SHA-256 `%s`)" % (rem["subject"],
                                                                                     rem.get("sha256")))
            for c in rem.get("ca_chain") or []:
                lines.append("- chain: `%s` (SHA-256 `%s`)" % (c["subject"], c["sha256"]))
            lines.append("")
    return "\n".join(lines) + "\n"


def mp_log_line(mp_log):
    """The runbook's MP log step for one link, one Markdown bullet."""
    what = ", ".join(mp_log.get("messages") or ["Received fatal alert: %s" % a for a in mp_log.get("alerts") or []])
    text = "- MP system.log: %d handshake failure%s" % (mp_log["count"], "" if mp_log["count"] == 1 else "s")
    if what:
        text += ", %s" % what
    if mp_log.get("message_ids"):
        text += ", message IDs %s" % ", ".join("`%s`" % m for m in mp_log["message_ids"])
    if mp_log.get("first"):
        text += " (first %s, last %s)" % (mp_log["first"], mp_log["last"])
    return text


def write_reports(report, directory, check_mode=False):
    """Write mtls-report.json and mtls-report.md; returns (paths, changed). Content-equal files are left alone
    (the generated_at stamp and timings are ignored for that comparison)."""
    paths = {"json": os.path.join(directory, "mtls-report.json"), "markdown": os.path.join(directory, "mtls-report.md")}
    new_json = json.dumps(report, indent=2, sort_keys=True) + "\n"
    new_md = render_markdown(report)
    changed = False
    for kind, text in (("json", new_json), ("markdown", new_md)):
        old = None
        if os.path.exists(paths[kind]):
            with open(paths[kind], encoding="utf-8") as fh:
                old = fh.read()
        if old is None or _stable(old, kind) != _stable(text, kind):
            changed = True
            if not check_mode:
                os.makedirs(directory, exist_ok=True)
                tmp = paths[kind] + ".tmp"
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, paths[kind])
    return paths, changed


def _stable(text, kind):
    if kind == "json":
        try:
            data = json.loads(text)
        except ValueError:
            return text
        data.pop("generated_at", None)
        data.pop("stats", None)
        return json.dumps(data, sort_keys=True)
    return "\n".join(line for line in text.splitlines() if not line.startswith("Generated "))
