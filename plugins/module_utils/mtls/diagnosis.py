"""The diagnosis pipeline for whole environments: links -> keystores -> probes -> verdicts -> the report dict.

``run_diagnosis`` joins the stages: links (Apigee API) -> keystores (read once each, concurrently) -> probes (distinct
host/port/SNI, bounded thread pool) -> verdicts (pure rules) -> report dict (schema docs/mtls-report.schema.json).
One call handles every link of the given environments.
"""
from __future__ import annotations

import datetime as _dt
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.links import check_org, discover_all, list_keystores, read_keystore
from ansible.module_utils.mtls.material import load_ca_bundle
from ansible.module_utils.mtls.mp_log import MP_LOG_MAX_IDS, attach_mp_log_evidence, resolve_hosts
from ansible.module_utils.mtls.probe import probe_many, public_probe
from ansible.module_utils.mtls.report import SCHEMA_VERSION, jsonable
from ansible.module_utils.mtls.verdicts import diagnose, summarize


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
                  key_manager="SunX509"):
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
        result = diagnose(link, ks, pr, bag, at=at, backend_kind=kind, key_manager=key_manager)
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
        "certificate_request": pp.get("certificate_request"),
        "handshake": handshake,
        "verdict": result["verdict"], "evidence": jsonable(result["evidence"]),
        "remediation": jsonable(result["remediation"]), "notes": list(link.notes),
    }
