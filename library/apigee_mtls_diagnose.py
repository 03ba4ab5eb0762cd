#!/usr/bin/python
"""Ansible module: one verdict per southbound mTLS link of whole Apigee environments, with evidence and a fix."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_mtls_diagnose
short_description: Diagnose every southbound two-way TLS link of Apigee environments
description:
  - Reads every target server and every target endpoint of the deployed proxy revisions of the given environments,
    follows C(ref://) references to keystores, reads each keystore and alias once, probes each distinct backend
    (host, port, SNI) once from where the module runs, and gives one verdict per link from a closed list, the
    evidence, and a remediation plan (C(none), C(upload_chain), C(trust_issuer), C(enable_client_auth),
    C(renew_certificate), C(manual)).
  - One call handles whole environments; probes run concurrently in a bounded thread pool.
  - Run it where the probe sees the backends as the Message Processor does (C(delegate_to) a host in the MP's network).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  envs:
    description: The environments to diagnose.
    type: list
    elements: str
    required: true
  target_servers:
    description: Only these target servers (and the proxies using them); all when empty.
    type: list
    elements: str
    default: []
  proxies:
    description: Only these proxies' target endpoints (and the target servers they use); all when empty.
    type: list
    elements: str
    default: []
  ca_bundle:
    description:
      - Extra CA certificates (PEM text or file paths) used to complete chains and to name issuing CAs, besides the
        certificates found in the environment's keystores and truststores.
    type: list
    elements: str
    default: []
  scan_env_keystores:
    description: Also read every keystore/truststore of the environments as a source of CA certificates.
    type: bool
    default: true
  sni:
    description: Send SNI (the backend host name) in probes. Turn off for Private Cloud MPs with SNI disabled.
    type: bool
    default: true
  probe_timeout:
    description: Seconds per probe connection.
    type: float
    default: 10
  tls_versions:
    description:
      - TLS versions to probe for every link, overriding each link's SSLInfo C(Protocols). When empty (the default),
        each link is probed once per version its C(Protocols) allow (the MP Java's client defaults when it has none,
        see O(mp_java)) and judged on the version the MP negotiates, the highest the backend answers. The other
        versions' outcomes are in the link's C(tls_versions.per_version).
    type: list
    elements: str
    choices: [TLSv1.2, TLSv1.3]
    default: []
  max_workers:
    description: Size of the thread pool for keystore reads and probes.
    type: int
    default: 16
  backend_kinds:
    description: Optional C(host:port) to backend kind (C(jsse), C(nginx), ...), copied into trust_issuer plans.
    type: dict
    default: {}
  mp_log_groups:
    description:
      - The C(groups) returned by the C(apigee_mp_log_scan) module for a scan of the Message Processors'
        C(system.log) (the runbook's MP log step). Each group whose org, env, remote host:port and proxy (the api
        and revision of a proxy target endpoint; an api in the C(used_by) of a target server) match a link is
        attached to that link as C(evidence.mp_log) (count, alerts, messages, first and last time, up to
        O(mp_log_max_ids) message IDs) and shown under the broken link in the Markdown report.
      - A remote host written as an IP address matches a link whose host resolves to that address (resolved where
        the module runs).
      - Evidence only, it never changes a verdict or a plan.
    type: list
    elements: dict
    default: []
  mp_log_max_ids:
    description: At most this many message IDs (the most recent first) in each link's C(evidence.mp_log).
    type: int
    default: 5
  key_manager:
    description:
      - The key manager of the Message Processors' JSSE client. Edge MPs use C(SunX509) unless configured otherwise;
        C(PKIX) also refuses a chain in which a certificate (an attached root included) is signed with an algorithm
        the backend does not list (verdict C(signature_algorithm_rejected)).
    type: str
    choices: [SunX509, PKIX]
    default: SunX509
  flow_variables:
    description:
      - "Values of the flow variables that target endpoint SSLInfo elements name
        (C(<KeyStore>{ssl.keystore}</KeyStore>), as Apigee allows), for example C(ssl.keystore) set to
        C(ref://clientks). A link that needs one that is not given is C(dynamic_keystore), with the variable names;
        it is never guessed."
    type: dict
    default: {}
  expiry_warn_days:
    description:
      - Every link's stored chain, and the CAs its backend names whose certificate is known, are checked against this
        window; a link that works today with a certificate expiring within it stays C(ok), with the certificate and
        the date in its C(expiry) and in the report's C(summary.expiring_links), listed first in the Markdown.
    type: int
    default: 30
  restart_pending:
    description:
      - Keystores a fix changed in place (same name) with no Message Processor restart recorded since, as
        C(env/keystore) -> when. A link on one of them that would be C(ok) is C(mp_restart_pending) - the MPs keep the
        keystore they loaded until they restart. Role C(apigee_mtls_diagnose) takes them from the C(restart_pending)
        of the last C(remediation.json) (cleared by C(mtls_mp_restarted=true)).
    type: dict
    default: {}
  mp_java:
    description:
      - The Java release of the Message Processors, which sets what their JSSE client supports
        (docs/diagnose.md, "The MP's Java"). C(8) (8u261 and later) enables only TLS 1.2 on clients by default and,
        like C(11), knows no EdDSA signature schemes. C(17-sha1-off) is 17 with SHA-1 handshake signatures disabled,
        as later updates ship it.
    type: str
    choices: ["8", "11", "17", "17-sha1-off"]
    default: "17"
  report_dir:
    description: When set, write C(mtls-report.json) and C(mtls-report.md) there (files change only when content does).
    type: path
  probe_host:
    description: The host the probes ran from, recorded in the report (C(probe_host)).
    type: str
  run_dir:
    description:
      - This run's own folder (C(<report_dir>/runs/<UTC time>-<org>-<envs>)), where the report is also written as
        C(<run_stage>.json) and C(<run_stage>.md), so that the next run does not overwrite it; C(<report_dir>/latest)
        then points at it and only the newest O(keep_runs) run folders are kept. Nothing is written in check mode.
    type: path
  run_stage:
    description: The name of the report in the run folder - C(diagnosis), or C(before) / C(after) a remediation.
    type: str
    choices: [diagnosis, before, after]
    default: diagnosis
  report_lang:
    description:
      - The language of the Markdown report - C(en), or C(ja) (headings, labels, verdict explanations and fix names
        in Japanese, with the runbook's terms). The JSON report is the same in both.
    type: str
    choices: [en, ja]
    default: en
  trace:
    description:
      - Trace the failing call of every link that is not C(ok) through a debug session (as M(apigee_trace) does)
        and join it to the report (C(evidence.trace)); evidence only, a trace that cannot be taken is a warning.
    type: bool
    default: false
  trace_link_ids:
    description: Trace these links whatever their verdict.
    type: list
    elements: str
    default: []
  trace_call_url:
    description: Base URL of the Apigee runtime the reproducing call goes to (none, no call is sent).
    type: str
    default: ''
  trace_call_urls:
    description: Per environment base URLs, overriding O(trace_call_url).
    type: dict
    default: {}
  trace_call_headers:
    description: Headers of the reproducing call (an API key, for example); never logged.
    type: dict
    default: {}
  trace_wait:
    description: Seconds to wait for a call's transaction in its debug session.
    type: float
    default: 20
  mp_log_paths:
    description:
      - MP C(system.log) files readable on this host; the records of each traced call's message ID join its link
        (C(evidence.trace.mp_log_records)). On another host use M(apigee_mp_log_records) and M(mtls_report_evidence).
    type: list
    elements: path
    default: []
  mp_log_scan:
    description:
      - Scan O(mp_log_paths) here first, as M(apigee_mp_log_scan) would, and attach the groups to the links as
        O(mp_log_groups) does (one module run instead of two when the logs are on the probe host). A log that cannot
        be read is a warning (the logs are evidence; the verdicts do not depend on them).
      - Ignored when O(mp_log_groups) is given.
    type: bool
    default: false
  captures:
    description:
      - Packet captures on this host (paths, or dicts with C(path) and C(keylog)), read by tshark as
        M(mtls_capture_read) does; their connections join the links (C(evidence.capture)).
    type: list
    elements: raw
    default: []
  keep_runs:
    description: How many run folders to keep (the oldest beyond are deleted; folders the tool did not make never).
    type: int
    default: 50
  return_copies:
    description:
      - Also return RV(links) and RV(report_markdown), which repeat what RV(report) holds. At a thousand links the
        report alone is megabytes that Ansible carries; with O(report_dir) set, C(false) returns it once and the
        Markdown only in its file.
    type: bool
    default: true
  return_report:
    description:
      - What RV(report) holds. C(full) is the whole report. C(rows) is its head (summary, stats, org, envs) and, per
        link, the fields later plays read (id, env, source, name, api, revision, host, port, keystore, reference,
        alias, truststore, tls_enabled, client_auth_enabled, verdict, remediation, expiry, and C(message_id) of a
        traced call), with C(path), the JSON file holding the whole report (None unless O(report_dir) is set and the
        run is not in check mode, which writes nothing).
      - At a thousand links the whole report is megabytes that Ansible carries through every fact and template; the
        roles use C(rows) when the report is written on the controller.
    type: str
    default: full
    choices: [full, rows]
seealso:
  - module: apigee_southbound_info
  - module: tls_backend_probe
  - module: apigee_mp_log_scan
requirements:
  - "pyOpenSSL>=24 (the probes)"
extends_documentation_fragment:
  - apigee
  - attributes
attributes:
  check_mode:
    support: full
    description: Reads Apigee and probes backends; computes whether the report files would change, writes nothing.
  diff_mode:
    support: none
    description: Reports are whole documents; see RV(report).
notes:
  - Verdict precedence is documented in docs/diagnose.md.
"""

EXAMPLES = r"""
- name: Diagnose the test and prod environments, probing from a host in the MP's network
  apigee_mtls_diagnose:
    mgmt_url: https://api.enterprise.apigee.com
    org: myorg
    envs: [test, prod]
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
    report_dir: reports/
  delegate_to: mp-bastion
  register: diag

- name: Fail when anything is broken
  ansible.builtin.assert:
    that: diag.summary.broken == 0
"""

RETURN = r"""
report:
  description: The whole report (schema docs/mtls-report.schema.json), or its rows (O(return_report=rows)).
  returned: always
  type: dict
  sample:
    schema_version: 1
    generated_at: '2026-12-01T09:30:00+00:00'
    org: myorg
    envs:
    - prod
    summary:
      total: 1
      ok: 0
      broken: 1
      by_verdict:
        chain_incomplete: 1
    stats:
      api_requests: 9
      probes: 2
    links: []
links:
  description: One entry per link with id, source, host, port, keystore, reference, alias, chain_summary,
    acceptable_cas, handshake, verdict, evidence (with C(mp_log) when O(mp_log_groups) has matching groups) and
    remediation; the same as the report's C(links).
  returned: unless O(return_copies=false)
  type: list
  elements: dict
  sample:
    - id: targetserver:prod/orders-backend
      source: targetserver
      env: prod
      host: orders.internal
      port: 8443
      keystore: mpclient
      reference: mp-client-ref
      alias: mp-client
      client_auth_enabled: true
      client_auth_requested: true
      acceptable_cas:
      - CN=Acme Issuing CA, O=Acme
      chain_summary:
      - subject: CN=mp-client,O=Acme
        issuer: CN=Acme Issuing CA,O=Acme
      verdict: chain_incomplete
      remediation:
        action: upload_chain
        text: Upload the complete chain to mpclient alias mp-client.
summary:
  description: Totals and the count of links per verdict.
  returned: always
  type: dict
  sample: {"total": 3, "ok": 1, "broken": 2, "by_verdict": {"ok": 1, "ca_mismatch": 2}}
report_markdown:
  description: The Markdown report (a table, then per broken link what was found and what to do).
  returned: unless O(return_copies=false)
  type: str
run:
  description: This run's folder, the files written there, whether C(latest) points at it, the run folders pruned.
  returned: when O(run_dir) is set, not in check mode
  type: dict
  sample:
    run_dir: /srv/reports/runs/20261201T233005Z-myorg-prod
    files: [/srv/reports/runs/20261201T233005Z-myorg-prod/diagnosis.json]
    latest: true
    pruned: []
report_paths:
  description:
    - Paths of the JSON and Markdown reports (when O(report_dir) is set), and C(diagrams), the SVG picture of each
      broken link that has one (C(<report_dir>/diagrams/<link>.svg), for mail).
  returned: when report_dir is set
  type: dict
  sample: {"json": "/srv/reports/mtls-report.json", "markdown": "/srv/reports/mtls-report.md",
           "diagrams": ["/srv/reports/diagrams/targetserver_prod_orders.svg"]}
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
probes:
  description: Distinct backends probed.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.evidence import gather_evidence
from ansible.module_utils.mtls.module_ansible import ApigeeModule
from ansible.module_utils.mtls.mp_log import scan_groups
from ansible.module_utils.mtls.report import render_markdown, report_texts, run_files, write_reports
from ansible.module_utils.mtls.report_rows import returned_report
from ansible.module_utils.mtls.report_runs import save_run


def main():
    module = ApigeeModule({
        "envs": {"type": "list", "elements": "str", "required": True},
        "target_servers": {"type": "list", "elements": "str", "default": []},
        "proxies": {"type": "list", "elements": "str", "default": []},
        "ca_bundle": {"type": "list", "elements": "str", "default": []},
        "scan_env_keystores": {"type": "bool", "default": True},
        "sni": {"type": "bool", "default": True},
        "probe_timeout": {"type": "float", "default": 10},
        "tls_versions": {"type": "list", "elements": "str", "default": [], "choices": ["TLSv1.2", "TLSv1.3"]},
        "max_workers": {"type": "int", "default": 16},
        "backend_kinds": {"type": "dict", "default": {}},
        "mp_log_groups": {"type": "list", "elements": "dict", "default": []},
        "mp_log_max_ids": {"type": "int", "default": 5},
        "key_manager": {"type": "str", "default": "SunX509", "choices": ["SunX509", "PKIX"]},
        "mp_java": {"type": "str", "default": "17", "choices": ["8", "11", "17", "17-sha1-off"]},
        "flow_variables": {"type": "dict", "default": {}},
        "restart_pending": {"type": "dict", "default": {}},
        "expiry_warn_days": {"type": "int", "default": 30},
        "report_dir": {"type": "path"},
        "probe_host": {"type": "str"},
        "return_copies": {"type": "bool", "default": True},
        "return_report": {"type": "str", "default": "full", "choices": ["full", "rows"]},
        "run_dir": {"type": "path"},
        "run_stage": {"type": "str", "default": "diagnosis", "choices": ["diagnosis", "before", "after"]},
        "keep_runs": {"type": "int", "default": 50},
        "report_lang": {"type": "str", "default": "en", "choices": ["en", "ja"]},
        "trace": {"type": "bool", "default": False},
        "trace_link_ids": {"type": "list", "elements": "str", "default": []},
        "trace_call_url": {"type": "str", "default": ""},
        "trace_call_urls": {"type": "dict", "default": {}},
        "trace_call_headers": {"type": "dict", "default": {}, "no_log": True},
        "trace_wait": {"type": "float", "default": 20},
        "mp_log_paths": {"type": "list", "elements": "path", "default": []},
        "mp_log_scan": {"type": "bool", "default": False},
        "captures": {"type": "list", "elements": "raw", "default": []},
    })

    def work(client, p):
        groups, scan_warnings = p["mp_log_groups"], []
        if p["mp_log_scan"] and not groups and p["mp_log_paths"]:
            groups, scan_warnings = scan_groups(p["mp_log_paths"], client.org)
        report = run_diagnosis(client, p["envs"], target_servers=p["target_servers"], proxies=p["proxies"],
                               ca_bundle=p["ca_bundle"], scan_env_keystores=p["scan_env_keystores"],
                               use_sni=p["sni"], probe_timeout=p["probe_timeout"],
                               tls_versions=p["tls_versions"] or None, max_workers=p["max_workers"],
                               backend_kinds=p["backend_kinds"], mp_log_groups=groups,
                               mp_log_max_ids=p["mp_log_max_ids"], key_manager=p["key_manager"], java=p["mp_java"],
                               flow_values=p["flow_variables"], restart_pending=p["restart_pending"],
                               expiry_warn_days=p["expiry_warn_days"])
        if p["probe_host"]:
            report["probe_host"] = p["probe_host"]
        warnings = gather_evidence(
            client, report, trace=p["trace"], link_ids=p["trace_link_ids"], call_url=p["trace_call_url"],
            call_urls=p["trace_call_urls"], call_headers=p["trace_call_headers"], wait=p["trace_wait"],
            verify=p["validate_certs"], max_workers=p["max_workers"], mp_log_paths=p["mp_log_paths"],
            captures=p["captures"])
        result = {"changed": False, "warnings": scan_warnings + warnings}
        texts = report_texts(report, p["report_lang"]) if p["report_dir"] or p["run_dir"] else None
        if p["report_dir"]:
            paths, changed = write_reports(report, p["report_dir"], check_mode=module.check_mode,
                                           lang=p["report_lang"], texts=texts)
            result.update(changed=changed, report_paths=paths)
        if p["run_dir"] and not module.check_mode:   # this run's own copy: kept when the next run writes its own
            result["run"] = save_run(p["run_dir"], run_files(texts, p["run_stage"]), keep=p["keep_runs"])
        written = None if module.check_mode else (result.get("report_paths") or {}).get("json")
        result.update(report=returned_report(report, p["return_report"], written),
                      summary=report["summary"], probes=report["stats"]["probes"])
        if p["return_copies"]:
            result.update(links=report["links"], report_markdown=texts["markdown"] if texts else
                          render_markdown(report, p["report_lang"]))
        return result

    module.run(work)


if __name__ == "__main__":
    main()
