"""The diagnosis pipeline for whole environments, and its reports (JSON per docs/mtls-report.schema.json, Markdown).

``run_diagnosis`` joins the stages: links (Apigee API) -> keystores (read once each, concurrently) -> probes (distinct
host/port/SNI, bounded thread pool) -> verdicts (pure rules) -> report dict. One call handles every link of the
given environments.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils import certcore
from ansible.module_utils.mtls_errors import MtlsError
from ansible.module_utils.mtls_links import check_org, discover_all, list_keystores, read_keystore
from ansible.module_utils.mtls_probe import probe_many
from ansible.module_utils.mtls_verdicts import VERDICTS, diagnose, summarize

SCHEMA_VERSION = 1
MP_LOG_MAX_IDS = 5


def load_ca_bundle(items):
    """CA certificates from a list of PEM texts or file paths."""
    certs = []
    for item in items or []:
        if not item:
            continue
        if "-----BEGIN" in item:
            data, source = item.encode("ascii", "replace"), "ca_bundle (inline PEM)"
        else:
            path = os.path.expanduser(item)
            if not os.path.isfile(path):
                raise MtlsError("ca_bundle file %s does not exist" % item)
            with open(path, "rb") as fh:
                data, source = fh.read(), "ca_bundle file %s" % item
        certs.extend(certcore.load_certificates(data, source))
    return certs


def _read_keystores(client, wanted, max_workers):
    def run(key):
        env, name = key
        return key, read_keystore(client, env, name, certcore.load_certificates)

    out = {}
    if not wanted:
        return out
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(wanted)))) as pool:
        for key, ks in pool.map(run, sorted(wanted)):
            out[key] = ks
    return out


def public_probe(p):
    """A probe result without the internal x509 objects."""
    if p is None:
        return None
    return {k: v for k, v in p.items() if k != "acceptable_ca_names"}


def run_diagnosis(client, envs, target_servers=None, proxies=None, ca_bundle=None, scan_env_keystores=True,
                  use_sni=True, probe_timeout=10.0, tls_versions=None, max_workers=16, at=None, probe_fn=None,
                  backend_kinds=None, mp_log_groups=None, mp_log_max_ids=MP_LOG_MAX_IDS, resolve_fn=None):
    """Diagnose every southbound TLS link of envs. Returns the report dict (schema docs/mtls-report.schema.json).

    mp_log_groups: the groups of an MP system.log scan (``mtls_logscan.scan``); matching groups are attached to each
    link as ``evidence.mp_log`` (evidence only, verdicts are unchanged)."""
    started = time.monotonic()
    if not envs:
        raise MtlsError("no environment given: set apigee_envs (a list of environment names)")
    check_org(client)
    links = discover_all(client, envs, target_servers=target_servers, proxies=proxies)

    wanted = set()
    for link in links:
        if link.keystore.name:
            wanted.add((link.env, link.keystore.name))
        if link.truststore.name:
            wanted.add((link.env, link.truststore.name))
    if scan_env_keystores:
        for env in envs:
            for name in list_keystores(client, env):
                wanted.add((env, name))
    keystores = _read_keystores(client, wanted, max_workers)

    bag = list(load_ca_bundle(ca_bundle))
    seen = {certcore.fingerprint_sha256(c) for c in bag}
    for ks in keystores.values():
        for rec in ks["aliases"].values():
            for cert in rec.get("chain") or []:
                fp = certcore.fingerprint_sha256(cert)
                if fp not in seen and certcore.is_ca(cert):
                    seen.add(fp)
                    bag.append(cert)

    targets = []
    for link in links:
        if link.tls_enabled and link.host and link.port:
            targets.append((link.host, int(link.port), link.sni if use_sni else None))
    runner = probe_fn or probe_many
    probes = runner(targets, max_workers=max_workers, timeout=probe_timeout, tls_versions=tls_versions, at=at)

    rows = []
    for link in links:
        key = (link.host, int(link.port) if link.port else None, link.sni if use_sni else None)
        pr = probes.get(key)
        ks = keystores.get((link.env, link.keystore.name)) if link.keystore.name else None
        kind = (backend_kinds or {}).get("%s:%s" % (link.host, link.port))
        result = diagnose(link, ks, pr, bag, at=at, backend_kind=kind)
        rows.append(_link_row(link, ks, pr, result, at))

    if mp_log_groups:
        attach_mp_log_evidence(rows, mp_log_groups, getattr(client, "org", None), max_ids=mp_log_max_ids,
                               host_addresses=resolve_hosts({r["host"] for r in rows if r["host"]}, resolve_fn))
    summary = summarize(rows)
    stats = dict(client.stats()) if hasattr(client, "stats") else {"api_requests": getattr(client, "request_count", 0)}
    stats.update({"probes": len(probes), "links": len(rows), "wall_seconds": round(time.monotonic() - started, 3)})
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "mgmt_url": getattr(client, "mgmt_url", None),
        "org": getattr(client, "org", None),
        "envs": list(envs),
        "probe_host": None,
        "summary": summary,
        "stats": stats,
        "links": rows,
    }


def _link_row(link, ks, pr, result, at):
    chain = []
    if ks and link.ssl.key_alias and link.ssl.key_alias in ks.get("aliases", {}):
        chain = ks["aliases"][link.ssl.key_alias].get("chain") or []
    pp = public_probe(pr) or {}
    handshake = pp.get("handshake") or pp.get("handshake_without_certificate")
    return {
        "id": link.id, "env": link.env, "source": link.source, "name": link.name, "host": link.host,
        "port": int(link.port) if link.port is not None else None, "sni": link.sni, "api": link.api,
        "revision": link.revision, "url": link.url, "used_by": link.used_by, "tls_enabled": link.tls_enabled,
        "client_auth_enabled": link.ssl.client_auth_enabled, "keystore": link.keystore.name,
        "reference": link.keystore.reference, "alias": link.ssl.key_alias, "truststore": link.truststore.name,
        "chain_summary": certcore.chain_summary(chain, at) if chain else [],
        "acceptable_cas": list(pp.get("acceptable_client_cas") or []),
        "acceptable_cas_openssl": list(pp.get("acceptable_client_cas_openssl") or []),
        "client_auth_requested": pp.get("client_auth_requested"),
        "handshake": handshake,
        "verdict": result["verdict"], "evidence": _jsonable(result["evidence"]),
        "remediation": _jsonable(result["remediation"]), "notes": list(link.notes),
    }


# --------------------------------------------------------------------------- MP system.log evidence


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
    if row.get("source") == "proxy":
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
        "groups": [{"api": g.get("api"), "rev": g.get("rev"), "remote": g.get("remote"), "alert": g.get("alert"),
                    "count": g.get("count"), "first": g.get("first"), "last": g.get("last")}
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


def _jsonable(obj):
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
    "certificate_expired": "The client certificate the MP would send has expired.",
    "certificate_not_yet_valid": "The client certificate the MP would send is not valid yet.",
    "chain_incomplete": "JSSE sends the chain only when an issuer of a certificate in it is among the backend's "
                        "acceptable CAs; the stored chain lacks the intermediate(s) that would connect it. Upload "
                        "the complete chain (leaf + intermediates) to the keystore.",
    "ca_mismatch": "The CA that issued the leaf is not one of the CAs the backend accepts, so the MP (Java) sends no "
                   "certificate (runbook cause 2, CA mismatch). Put the issuing CA into the backend truststore.",
    "rejected_by_backend": "The MP sends a certificate but the backend still refuses it.",
}


def _cell(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(report):
    lines = ["# Southbound mTLS diagnosis: org `%s`, env %s" % (report["org"], ", ".join(
        "`%s`" % e for e in report["envs"])), "",
        "Generated %s. %d link(s): %d ok, %d broken. API requests: %s; probes: %s; wall time %ss." % (
            report["generated_at"], report["summary"]["total"], report["summary"]["ok"], report["summary"]["broken"],
            report["stats"].get("api_requests"), report["stats"].get("probes"), report["stats"].get("wall_seconds")),
        "", "| verdict | links |", "|---|---|"]
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
