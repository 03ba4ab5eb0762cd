"""The diagnosis pipeline for whole environments: links -> keystores -> probes -> verdicts -> the report dict.

``run_diagnosis`` joins the stages: links (Apigee API) -> keystores (read once each, concurrently) -> probes (distinct
host/port/SNI, bounded thread pool) -> verdicts (pure rules) -> report dict (schema docs/mtls-report.schema.json).
One call handles every link of the given environments.
"""
from __future__ import annotations

import datetime as _dt
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.mtls import certcore, jsse_profile
from ansible.module_utils.mtls.cipher_suites import cipher_plan, no_handshake_reason, unmeasured_for
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.expiry import DEFAULT_WARN_DAYS, forecast
from ansible.module_utils.mtls.links import check_org, discover_all, list_keystores, read_keystore
from ansible.module_utils.mtls.material import load_ca_bundle
from ansible.module_utils.mtls.mp_log import MP_LOG_MAX_IDS, attach_mp_log_evidence, resolve_hosts
from ansible.module_utils.mtls.probe import probe_many, public_probe
from ansible.module_utils.mtls.report import SCHEMA_VERSION, jsonable
from ansible.module_utils.mtls.server_trust import jsse_sni
from ansible.module_utils.mtls.verdicts import diagnose, summarize
from ansible.module_utils.mtls.verdicts import restart_pending as verdicts_restart_pending


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


def run_diagnosis(client, envs, target_servers=None, proxies=None, ca_bundle=None, scan_env_keystores=True,
                  use_sni=True, probe_timeout=10.0, tls_versions=None, max_workers=16, at=None, probe_fn=None,
                  backend_kinds=None, mp_log_groups=None, mp_log_max_ids=MP_LOG_MAX_IDS, resolve_fn=None,
                  key_manager="SunX509", java=None, flow_values=None, restart_pending=None,
                  expiry_warn_days=DEFAULT_WARN_DAYS):
    """Diagnose every southbound TLS link of envs. Returns the report dict (schema docs/mtls-report.schema.json).

    Each link is probed once per TLS version it allows (its SSLInfo <Protocols>, or the defaults of the MP's Java
    profile ``java``; ``tls_versions`` overrides them for every link), and decided on the version the MP negotiates
    (the highest the backend answers); the other versions' outcomes are kept in the row's ``tls_versions``.

    flow_values: the values a proxy gives the flow variables its SSLInfo names ({"ssl.keystore": "ks1"}); a link
    whose KeyStore/KeyAlias needs one that is not given is ``dynamic_keystore``, never guessed.

    expiry_warn_days: every row gets ``expiry`` (expiry.forecast: its stored chain and the CAs the backend names, as
    far as their certificates are known, expiring within that many days); ok links with one are listed in
    ``summary.expiring_links``, soonest first (a scheduled run sees the outage coming).

    restart_pending: keystores a fix changed in place with no MP restart recorded since ({"env/keystore": when});
    a link on one of them that would be ``ok`` is ``mp_restart_pending`` (the MPs may still hold the old chain).

    mp_log_groups: the groups of an MP system.log scan (``mtls_logscan.scan``); matching groups are attached to each
    link as ``evidence.mp_log`` (evidence only, verdicts are unchanged)."""
    started = time.monotonic()
    if not envs:
        raise MtlsError("no environment given: set apigee_envs (a list of environment names)")
    check_org(client)
    links = discover_all(client, envs, target_servers=target_servers, proxies=proxies, flow_values=flow_values,
                         workers=max_workers)

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

    prof = jsse_profile.profile(java)
    targets = []
    for link in links:
        if link.tls_enabled and link.host and link.port:
            suites = link_suites(link)
            for version in link_tls_versions(link, prof, tls_versions):
                targets.append((link.host, int(link.port), jsse_sni(link.sni) if use_sni else None, version) +
                               suites)
    runner = probe_fn or probe_many
    probes = runner(targets, max_workers=max_workers, timeout=probe_timeout, at=at)
    # where the highest version's pinned probe ended before a ServerHello with no alert (a reset, a timeout, a server
    # that drops a ClientHello it does not like), the pinned probes cannot tell which version the MP would get: offer
    # the link's versions in one ClientHello, as JSSE does, and let the server pick
    ranges = [t for t in {_range_key(link, prof, tls_versions, use_sni) for link in links
                          if link.tls_enabled and link.host and link.port} if t and
              unanswered(probes.get(t[:3] + (t[3][0],) + t[4:]))]
    if ranges:
        probes.update(runner(ranges, max_workers=max_workers, timeout=probe_timeout, at=at))

    rows = []
    for link in links:
        ks = keystores.get((link.env, link.keystore.name)) if link.keystore.name else None
        ts = keystores.get((link.env, link.truststore.name)) if link.truststore.name else None
        kind = (backend_kinds or {}).get("%s:%s" % (link.host, link.port))

        def decide(pr, link=link, ks=ks, kind=kind, ts=ts):
            return diagnose(link, ks, pr, bag, at=at, backend_kind=kind, key_manager=key_manager, java=prof,
                            truststore=ts)

        versions = link_tls_versions(link, prof, tls_versions)
        key = (link.host, int(link.port) if link.port else None, jsse_sni(link.sni) if use_sni else None)
        per_version = [(v, probes.get(key + (v,) + link_suites(link))) for v in versions]
        if link.tls_enabled and link.host and link.port and not versions:
            per_version = [(None, no_protocol_probe(link, prof))]
        offered = probes.get(key + (tuple(versions),) + link_suites(link)) if len(versions) > 1 else None
        result, pr, tls = decide_per_version(per_version, decide, versions, prof, offered=offered)
        result = verdicts_restart_pending(result, link.env, link.keystore.name, restart_pending)
        row = _link_row(link, ks, pr, result, at)
        row["tls_versions"] = tls
        plan = cipher_plan(getattr(link.ssl, "ciphers", None))
        if plan:
            tls["ciphers"] = {k: plan[k] for k in ("listed", "unknown", "disabled", "tls13", "tls12")}
            unmeasured = unmeasured_for(plan, prof.java)
            if unmeasured:
                tls["ciphers"]["not_checked"] = unmeasured
                row["notes"].append("SSLInfo <Ciphers> names %s: how Java %s takes them was not checked (the "
                                    "suite table is Java 17's); the verdict assumes Java 17's handling" % (
                                        ", ".join(unmeasured), prof.java))
        chain = (ks or {}).get("aliases", {}).get(link.ssl.key_alias or "", {}).get("chain") or []
        row["expiry"] = forecast(chain, (pr or {}).get("acceptable_ca_names") or (), bag, expiry_warn_days, at)
        rows.append(row)

    if mp_log_groups:
        attach_mp_log_evidence(rows, mp_log_groups, getattr(client, "org", None), max_ids=mp_log_max_ids,
                               host_addresses=resolve_hosts({r["host"] for r in rows if r["host"]}, resolve_fn))
    summary = summarize(rows)
    soon = sorted(((e, r["id"]) for r in rows if r["verdict"] == "ok" for e in r["expiry"]["expiring"]),
                  key=lambda pair: pair[0]["not_after"])
    summary["expiring"] = len({link_id for _e, link_id in soon})
    summary["expiring_links"] = [dict(e, id=link_id) for e, link_id in soon]
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


def link_tls_versions(link, prof, override=None):
    """The TLS versions the MP may negotiate on this link, highest first: the operator's override, else the link's
    SSLInfo <Protocols>, else the Java profile's client defaults; versions the profile disables are dropped, and so
    are versions none of the link's SSLInfo <Ciphers> works with (cipher_suites.cipher_plan: JSSE offers a version
    only with a suite for it; a name Java does not know leaves none)."""
    if not override and unknown_protocols(link):
        return []   # JSSE refuses the whole list: no version at all
    asked = override or link_protocols(link)
    versions = prof.usable_protocols(asked)
    plan = cipher_plan(getattr(link.ssl, "ciphers", None))
    return versions if plan is None else [v for v in versions if v in plan["versions"]]


def link_suites(link) -> tuple:
    """The probe key's part for a link's SSLInfo <Ciphers>: () for the client's defaults, else (the listed names,)."""
    plan = cipher_plan(getattr(link.ssl, "ciphers", None))
    return (tuple(plan["listed"]),) if plan else ()


def link_protocols(link) -> list:
    """The link's SSLInfo <Protocols> as written (JSSE takes the names exactly as they are)."""
    return [str(p).strip() for p in (getattr(link.ssl, "protocols", None) or []) if str(p).strip()]


def unknown_protocols(link) -> list:
    """The names in the link's <Protocols> that Java does not know (setEnabledProtocols: "Unsupported protocol")."""
    return [p for p in link_protocols(link) if p not in jsse_profile.JSSE_PROTOCOL_NAMES]


def no_protocol_probe(link, prof):
    """The probe a link gets when the MP's Java can offer no TLS version on it (every version it allows is disabled,
    or its SSLInfo <Ciphers> leaves none): there is no handshake."""
    plan = cipher_plan(getattr(link.ssl, "ciphers", None))
    why = no_handshake_reason(plan)
    unknown = unknown_protocols(link)
    if unknown:
        why = ("SSLInfo <Protocols> names %s, which Java does not know (its names are exact: TLSv1.2, TLSv1.3): JSSE "
               "refuses the list (\"Unsupported protocol\"), so the MP opens no TLS connection" % ", ".join(unknown))
    asked = link_protocols(link)
    if why is None and plan and prof.usable_protocols(asked):
        why = ("none of SSLInfo <Ciphers> (%s) works with the TLS versions the link allows (%s): the MP opens no TLS "
               "connection (\"No appropriate protocol (protocol is disabled or cipher suites are inappropriate)\")" % (
                   ", ".join(link.ssl.ciphers), ", ".join(getattr(link.ssl, "protocols", None) or [])
                   or "the defaults of Java %s" % prof.java))
    if why is None:
        why = ("the link allows only %s, which Java %s disables (jdk.tls.disabledAlgorithms): the MP cannot open TLS "
               "to this backend (\"No appropriate protocol\")" % (
                   ", ".join(getattr(link.ssl, "protocols", None) or []) or "no protocol", prof.java))
    return {"host": link.host, "port": link.port, "reachable": False, "error": why}


def negotiated(pr, version) -> bool:
    """Whether the backend answered a probe pinned to ``version`` in that version (its ServerHello), so an MP that
    offers it and lower versions negotiates it."""
    if not pr or not pr.get("reachable"):
        return False
    if "server_hello_version" in pr:
        return pr["server_hello_version"] == version
    return pr.get("protocol") == version  # a recorded probe from before the probe kept the ServerHello's version


def refused_in_version(pr, version) -> bool:
    """Whether the backend took ``version`` from a probe pinned to it and then refused the handshake with an alert other
    than protocol_version (e.g. handshake_failure: no suite in common). A server picks the version before the suite
    (OpenSSL; JSSE's ServerHello negotiates the protocol first), so an MP offering this and lower versions meets the
    same refusal: it does not fall back to a lower version, and neither may the model."""
    if not version or not pr or not pr.get("reachable"):
        return False
    alert = (pr.get("handshake_without_certificate") or {}).get("alert")
    return bool(alert) and alert != "protocol_version" and not pr.get("client_auth_requested")


def unanswered(pr) -> bool:
    """Whether a probe reached the backend and ended before its ServerHello without an alert (a reset, a timeout, a
    close): it tells neither that the backend takes the version nor that it refuses it."""
    return bool(pr and pr.get("reachable") and not pr.get("server_hello_version")
                and not (pr.get("handshake_without_certificate") or {}).get("alert"))


def _range_key(link, prof, override, use_sni):
    """The probe key that offers all of a link's versions in one ClientHello (None for a link with one version)."""
    versions = link_tls_versions(link, prof, override)
    if len(versions) < 2:
        return None
    return (link.host, int(link.port), jsse_sni(link.sni) if use_sni else None, tuple(versions)) + link_suites(link)


def decide_per_version(per_version, decide, versions, prof, offered=None):
    """(result, probe, tls_versions row field) for one link from its probes per version (highest first): the MP
    negotiates the highest version the backend answers, so that version's outcome is the link's verdict.

    offered: the probe that offered all the versions in one ClientHello, made when the highest version's pinned
    probe was ``unanswered``: the version the backend picked there (its outcome is that probe's) is the MP's, and a
    backend that picked none fails the MP's handshake too. A lower version that answered when pinned is not the MP's
    on the strength of that alone."""
    if not per_version:
        return decide(None), None, {"allowed": [], "negotiated": None, "java": prof.java, "per_version": {}}
    chosen = None
    if offered is not None and per_version and unanswered(per_version[0][1]):
        picked = offered.get("server_hello_version") if offered.get("reachable") else None
        chosen = (picked if picked in versions else versions[0], offered)
    chosen = chosen or next(((v, pr) for v, pr in per_version if negotiated(pr, v) or refused_in_version(pr, v)),
                            None) or \
        next(((v, pr) for v, pr in per_version if pr and pr.get("reachable")), None) or per_version[0]
    result = decide(chosen[1])
    outcomes = {}
    for v, pr in per_version:
        if v is None:
            continue
        r = result if v == chosen[0] else decide(pr)
        req = (pr or {}).get("certificate_request") or {}
        outcomes[v] = {"verdict": r["verdict"], "answered": negotiated(pr, v),
                       "signature_algorithms": list(req.get("signature_algorithms") or []),
                       "certificate_authorities": list(req.get("certificate_authorities") or []),
                       "error": (pr or {}).get("error")}
    differing = {v: o["verdict"] for v, o in outcomes.items() if o["answered"] and o["verdict"] != result["verdict"]}
    if differing:
        result["remediation"]["text"] += " (The MP negotiates %s here; with %s the outcome would be %s.)" % (
            chosen[0], ", ".join(differing), ", ".join("%s: %s" % kv for kv in differing.items()))
    return result, chosen[1], {"allowed": list(versions), "negotiated": chosen[0] if negotiated(chosen[1], chosen[0])
                               else None, "java": prof.java, "per_version": outcomes}


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
        "certificate_request": pp.get("certificate_request"),
        "handshake": handshake,
        "verdict": result["verdict"], "evidence": jsonable(result["evidence"]),
        "remediation": jsonable(result["remediation"]), "notes": list(link.notes),
    }
