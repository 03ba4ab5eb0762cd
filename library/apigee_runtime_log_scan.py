#!/usr/bin/python
"""Ansible module: southbound TLS handshake failures in Apigee hybrid's apigee-runtime container logs (kubectl logs)."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_runtime_log_scan
short_description: Group hybrid's southbound TLS handshake failures from the apigee-runtime pods' logs
description:
  - On Apigee hybrid the message processor runs in the C(apigee-runtime) pods and logs to standard output. This module
    lists those pods with C(kubectl get pods) and reads each one's log with C(kubectl logs --timestamps), then groups
    the C(HTTPClient$Context.handshakeFailed()) records as M(apigee_mp_log_scan) groups an Edge MP's C(system.log)
    (by org, env, api, rev, remote host:port and alert, with counts, first and last time and message IDs).
  - Run it on a host whose kubectl reaches the hybrid cluster (C(delegate_to)). It reads only; it changes nothing.
  - "The record format is taken from Google's hybrid documentation (Runtime logs), whose examples read
    C(hybrid-runtime org:... env:... <thread> <LEVEL> <logger> - <Class.method()> : <message>); it was not checked
    on a live cluster. Records in another shape are not recognised, so an empty result means that no record in the
    documented shape was found, not that the MP had no failure."
version_added: "1.1.0"
author: apigee-mtls-doctor maintainers
options:
  kubectl:
    description: The kubectl to run (a name on the PATH or a path).
    type: str
    default: kubectl
  kubeconfig:
    description: The kubeconfig file; kubectl's own default when not given.
    type: path
  context:
    description: The kubeconfig context; kubectl's current context when not given.
    type: str
  namespace:
    description: The namespace of the hybrid runtime.
    type: str
    default: apigee
  selector:
    description: The label selector of the C(apigee-runtime) pods.
    type: str
    default: app=apigee-runtime
  container:
    description: The message processor's container in those pods.
    type: str
    default: apigee-runtime
  since:
    description: How far back to read (kubectl's C(--since), e.g. C(30m), C(24h)). Empty reads each log whole.
    type: str
    default: 24h
  org:
    description: Only this organization (the Google Cloud project).
    type: str
  env:
    description: Only this environment.
    type: str
  api:
    description: Only this API proxy.
    type: str
  message_ids:
    description:
      - The message IDs of traced calls (C(X-Apigee.Message-ID)); every record naming one of them is returned in
        RV(message_records), as M(apigee_mp_log_records) returns an Edge MP's.
    type: list
    elements: str
    default: []
seealso:
  - module: apigee_mp_log_scan
  - module: apigee_mtls_diagnose
requirements:
  - "kubectl on the host, with read access (get, list pods; get pods/log) to the runtime's namespace"
extends_documentation_fragment:
  - attributes.info_module
"""

EXAMPLES = r"""
- name: Handshake failures in the hybrid runtime pods
  apigee_runtime_log_scan:
    namespace: apigee
    org: my-gcp-project
    env: prod
    since: 2h
  delegate_to: bastion
  register: runtime_log

- name: Attach them to the diagnosis as its MP log evidence
  apigee_mtls_diagnose:
    platform: hybrid
    org: my-gcp-project
    envs: [prod]
    service_account_file: /secure/sa.json
    mp_log_groups: "{{ runtime_log.groups }}"
"""

RETURN = r"""
groups:
  description:
    - One entry per (org, env, api, rev, remote, alert) with count, first, last, message_ids, C(sources) (the pod
      logs it was found in) and C(record), the group's latest failure record as logged (its first lines).
    - Takes the place of M(apigee_mp_log_scan)'s groups (option O(apigee_mtls_diagnose#module:mp_log_groups)).
  returned: always
  type: list
  elements: dict
  sample:
    - org: my-gcp-project
      env: prod
      api: orders
      rev: '3'
      remote: 10.0.4.12:8443
      alert: bad_certificate
      count: 12
      first: 2026-12-01 09:14:02,118
      last: 2026-12-01 09:20:40,551
      sources:
        - pod/apigee-runtime-my-gcp-project-prod-1a2b3c4-x7k2p/apigee-runtime
records:
  description: Handshake failure records matched.
  returned: always
  type: int
pods:
  description: The runtime pods read.
  returned: always
  type: list
  elements: str
files:
  description: Each log read, as C(pod/<name>/<container>).
  returned: always
  type: list
  elements: str
message_records:
  description: Every record naming one of O(message_ids), as logged (continuation lines included).
  returned: when O(message_ids) is given
  type: list
  elements: str
"""

import os

from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.runtime_log import runtime_log_argument_spec, scan_runtime_logs


def main():
    module = MtlsModule(dict(runtime_log_argument_spec(), **{
        "org": {"type": "str"},
        "env": {"type": "str"},
        "api": {"type": "str"},
        "message_ids": {"type": "list", "elements": "str", "default": []},
    }))

    def work(p):
        kubectl = p["kubectl"] if os.sep in p["kubectl"] else module.get_bin_path(p["kubectl"])
        if not kubectl or not os.access(kubectl, os.X_OK):
            raise MtlsError("kubectl (%s) is not on this host or not executable: run this on a host whose kubectl "
                            "reaches the hybrid cluster, or give its path (option kubectl)" % p["kubectl"])
        return scan_runtime_logs(lambda argv: module.run_command(argv), kubectl=kubectl, kubeconfig=p["kubeconfig"],
                                 context=p["context"], namespace=p["namespace"], selector=p["selector"],
                                 container=p["container"], since=p["since"] or None, org=p["org"], env=p["env"],
                                 api=p["api"], message_ids=p["message_ids"])

    module.run(work)


if __name__ == "__main__":
    main()
