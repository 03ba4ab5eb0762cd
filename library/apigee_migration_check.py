#!/usr/bin/python
"""Ansible module: before an Edge -> Apigee X / hybrid cutover, which southbound mTLS links would break, and why."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_migration_check
short_description: Say before cutover which southbound mTLS links of an Edge org would break on Apigee X / hybrid
description:
  - Diagnoses the source org (the one carrying the traffic today, usually Edge) and the target org (Apigee X or hybrid)
    the same way M(apigee_mtls_diagnose) does, probing each target backend as the target's MP sees it, and pairs their
    links by what they are, not by id - a target server by name, a proxy target endpoint by (API, target endpoint), a
    service callout by (API, policy), in the paired environment. Names that differ on purpose are mapped
    (O(mapping)).
  - Per pair it lists what differs in what each MP would present (the stored chain by SHA-256 fingerprint, keystore,
    reference, alias, truststore, whether the alias holds a key, client auth, backend, TLS versions) and a status
    C(would_break) (works on the source, not on the target; with the target's fix), C(broken_on_both),
    C(missing_on_target), C(only_on_target) or C(ok) (the target's own verdict is C(ok); a link the tool could not
    check there is never C(ok)).
  - Reads both orgs and probes; changes nothing in either org.
version_added: "1.2.0"
author: apigee-mtls-doctor maintainers
options:
  source:
    description:
      - The org traffic runs on today, with its environments (C(envs)); the same connection options the other
        modules take (see M(apigee_mtls_diagnose)), given here as a dict because this module talks to two orgs. No
        C(APIGEE_*) environment variable is read for it.
      - Not needed when O(source_report) is given.
    type: dict
    suboptions: &connection
      envs:
        description: The environments to compare (each paired with the environment O(mapping.envs) names, or the same
          name).
        type: list
        elements: str
        required: true
      mgmt_url:
        description: The management API base URL (Apigee X / hybrid default C(https://apigee.googleapis.com)).
        type: str
        default: https://api.enterprise.apigee.com
      org:
        description: The organization (on Apigee X / hybrid, the Google Cloud project ID).
        type: str
        required: true
      platform:
        description: C(edge), C(x) or C(hybrid).
        type: str
        choices: [edge, x, hybrid]
        default: edge
      service_account_file:
        description: A Google service account key file (X / hybrid); never logged.
        type: path
      username:
        description: Management API user (Edge).
        type: str
      password:
        description: Password of C(username).
        type: str
      token:
        description: A bearer token (Edge OAuth2, or a Google access token on X / hybrid).
        type: str
      mfa_token:
        description: A one-time MFA code for the Edge OAuth2 login.
        type: str
      passcode:
        description: A one-time SSO passcode for the Edge OAuth2 login.
        type: str
      refresh_token:
        description: The refresh token of C(token).
        type: str
      login_url:
        description: The Edge login service.
        type: str
        default: https://login.apigee.com
      auth_type:
        description: How to authenticate.
        type: str
        choices: [auto, basic, oauth2, token]
        default: auto
      validate_certs:
        description: Check the management API's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: CA bundle for the management API's TLS certificate.
        type: path
      timeout:
        description: Seconds per HTTP request.
        type: int
        default: 30
      retries:
        description: Retries on 429 and 5xx.
        type: int
        default: 5
  target:
    description: The org traffic moves to (Apigee X or hybrid), with its environments; the same keys as O(source).
    type: dict
    required: true
    suboptions: *connection
  source_report:
    description:
      - The JSON report of a diagnosis of the source (M(apigee_mtls_diagnose), C(mtls-report.json)) instead of
        reading the source org now, e.g. when the source is not reachable from where the target is probed.
    type: path
  mapping:
    description:
      - Names that differ on purpose, each a dict of source name to target name, under C(envs), C(target_servers),
        C(apis), C(keystores) (also truststores), C(references), C(aliases) and C(hosts). A renamed value is no
        difference.
    type: dict
    default: {}
  ca_bundle:
    description: Extra CA certificates (PEM text or paths) to complete chains, as in M(apigee_mtls_diagnose).
    type: list
    elements: str
    default: []
  sni:
    description: Send SNI in probes.
    type: bool
    default: true
  probe_timeout:
    description: Seconds per probe connection.
    type: float
    default: 10
  max_workers:
    description: Concurrent reads and probes per org.
    type: int
    default: 16
  key_manager:
    description: The target MP's JSSE key manager (C(SunX509), the MP default, or C(PKIX)).
    type: str
    choices: [SunX509, PKIX]
    default: SunX509
  mp_java:
    description: The target MP's Java release (see M(apigee_mtls_diagnose)).
    type: str
    choices: ["8", "11", "17", "17-sha1-off"]
    default: "17"
  flow_variables:
    description: Values of the flow variables SSLInfo is set from, as in M(apigee_mtls_diagnose).
    type: dict
    default: {}
  report_dir:
    description: Write C(migration-check.json) and C(migration-check.md) there (content-equal files are left alone).
    type: path
seealso:
  - module: apigee_mtls_diagnose
requirements:
  - requests>=2.31 (the management API client)
  - cryptography>=42 (certificates)
  - pyOpenSSL>=24 (the probes)
  - google-auth (Apigee X / hybrid)
extends_documentation_fragment:
  - attributes
attributes:
  check_mode:
    support: full
    description: Reads both orgs and probes; computes whether the report files would change, writes nothing.
  diff_mode:
    support: none
    description: The check is a whole document; see RV(migration).
notes:
  - The target's verdict is the same JSSE model as M(apigee_mtls_diagnose)'s; the fix of each link is that
    verdict's plan. Apply it with C(remediate.yml) against the target's inventory.
  - Docs in docs/migration.md.
"""

EXAMPLES = r"""
- name: Before cutover, compare the Edge org with the Apigee X org it moves to
  apigee_migration_check:
    source:
      mgmt_url: https://api.enterprise.apigee.com
      org: acme
      envs: [prod]
      username: "{{ edge_username }}"
      password: "{{ edge_password }}"
    target:
      platform: x
      mgmt_url: https://apigee.googleapis.com
      org: acme-apigee-prod
      envs: [prod]
      service_account_file: /etc/apigee/sa.json
    mapping:
      target_servers: {orders-backend: orders-backend-x}
    report_dir: reports/
  delegate_to: x-bastion
  register: migration

- name: Stop the pipeline when a link that works today would break
  ansible.builtin.assert:
    that: migration.summary.ready
    fail_msg: "{{ migration.summary.blocking | join(', ') }} would break at cutover"
"""

RETURN = r"""
migration:
  description: The whole check (its pairs with their differences, statuses and fixes), as in C(migration-check.json).
  returned: always
  type: dict
  sample:
    schema_version: 1
    source: {platform: edge, org: acme, envs: [prod], links: 2}
    target: {platform: x, org: acme-apigee-prod, envs: [prod], links: 2}
    summary: {pairs: 2, ready: false, blocking: [targetserver:prod/orders-backend], with_differences: 1,
              by_status: {would_break: 1, missing_on_target: 0, broken_on_both: 0, only_on_target: 0, ok: 1}}
    links:
      - key: targetserver:prod/orders-backend
        status: would_break
        source_id: targetserver:prod/orders-backend
        target_id: targetserver:prod/orders-backend
        source_verdict: ok
        target_verdict: chain_incomplete
        differences:
          - {field: stored_chain, source: [{subject: CN=mp-client, sha256: "0F:3B:..."}, {subject: CN=Issuing CA,
             sha256: "CC:92:..."}], target: [{subject: CN=mp-client, sha256: "0F:3B:..."}]}
        fix: {action: upload_chain, text: Upload the complete chain ...}
summary:
  description: Pairs per status, C(ready) (no link that works today would break or is missing on the target) and the
    C(blocking) pair keys.
  returned: always
  type: dict
  sample: {pairs: 20, ready: true, blocking: [], with_differences: 0,
           by_status: {would_break: 0, missing_on_target: 0, broken_on_both: 18, only_on_target: 0, ok: 2}}
report_markdown:
  description: The check as Markdown.
  returned: always
  type: str
report_paths:
  description: The files written (when O(report_dir) is set).
  returned: when report_dir is set
  type: dict
  sample: {json: reports/migration-check.json, markdown: reports/migration-check.md}
api_requests:
  description: HTTP requests made to both management APIs.
  returned: always
  type: int
api_requests_by_org:
  description: HTTP requests per org (C(source), C(target)).
  returned: always
  type: dict
  sample: {source: 61, target: 64}
probes:
  description: Distinct backends probed (source and target).
  returned: always
  type: int
"""

from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.migration import (
    check_mapping,
    migration_report,
    read_source_report,
    render_markdown,
    write_migration,
)
from ansible.module_utils.mtls.module_ansible import ApigeePairModule

ENVS = {"envs": {"type": "list", "elements": "str", "required": True}}


def main():
    module = ApigeePairModule({
        "source_report": {"type": "path"},
        "mapping": {"type": "dict", "default": {}},
        "ca_bundle": {"type": "list", "elements": "str", "default": []},
        "sni": {"type": "bool", "default": True},
        "probe_timeout": {"type": "float", "default": 10},
        "max_workers": {"type": "int", "default": 16},
        "key_manager": {"type": "str", "default": "SunX509", "choices": ["SunX509", "PKIX"]},
        "mp_java": {"type": "str", "default": "17", "choices": ["8", "11", "17", "17-sha1-off"]},
        "flow_variables": {"type": "dict", "default": {}},
        "report_dir": {"type": "path"},
    }, sides={"source": {"extra": ENVS}, "target": {"required": True, "extra": ENVS}},
        required_one_of=[("source", "source_report")], mutually_exclusive=[("source", "source_report")])

    def diagnose(side, p):
        return run_diagnosis(module.client(side), p[side]["envs"], ca_bundle=p["ca_bundle"], use_sni=p["sni"],
                             probe_timeout=p["probe_timeout"], max_workers=p["max_workers"],
                             key_manager=p["key_manager"], java=p["mp_java"], flow_values=p["flow_variables"])

    def work(p):
        mapping = check_mapping(p["mapping"])   # before any request: a bad mapping changes nothing, reads nothing
        source = read_source_report(p["source_report"]) if p["source_report"] else diagnose("source", p)
        target = diagnose("target", p)
        mig = migration_report(source, target, mapping,
                               source_platform=(p["source"] or {}).get("platform") or source.get("platform"),
                               target_platform=p["target"]["platform"])
        result = {"migration": mig, "summary": mig["summary"], "report_markdown": render_markdown(mig),
                  "probes": (source.get("stats") or {}).get("probes", 0) + target["stats"]["probes"]}
        if p["report_dir"]:
            paths, changed = write_migration(mig, p["report_dir"], check_mode=module.check_mode)
            result.update(changed=changed, report_paths=paths)
        return result

    module.run(work)


if __name__ == "__main__":
    main()
