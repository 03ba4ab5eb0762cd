#!/usr/bin/python
"""Ansible module: every southbound TLS link of an Apigee org's environments, references resolved."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_southbound_info
short_description: List the southbound TLS links of Apigee environments
description:
  - Reads the target servers of the environments and the target endpoints of every deployed proxy revision (from the
    revision bundle, C(<URL>) or C(<LoadBalancer><Server>)), with host, port, SSLInfo, and C(ref://) references
    resolved to keystore and truststore names.
  - Link ids are C(targetserver:<env>/<name>) and C(proxy:<env>/<api>/<rev>/<target endpoint>).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  envs:
    description: The environments to read.
    type: list
    elements: str
    required: true
  target_servers:
    description: Only these target servers (and the proxies using them).
    type: list
    elements: str
    default: []
  proxies:
    description: Only these proxies (and the target servers they use).
    type: list
    elements: str
    default: []
  include_plain:
    description: Also list links with no TLS at all (plain http, no SSLInfo).
    type: bool
    default: false
seealso:
  - module: apigee_mtls_diagnose
  - module: apigee_keystore_info
extends_documentation_fragment:
  - apigee
  - attributes.info_module
"""

EXAMPLES = r"""
- name: Every TLS link of test, with references resolved
  apigee_southbound_info:
    org: myorg
    envs: [test]
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
  register: southbound
"""

RETURN = r"""
links:
  description: One entry per link (id, env, source, name, host, port, sni, ssl, keystore, truststore, used_by, ...).
  returned: always
  type: list
  elements: dict
  sample:
    - id: targetserver:prod/orders-backend
      env: prod
      source: targetserver
      name: orders-backend
      host: orders.internal
      port: 8443
      sni: orders.internal
      scheme: https
      tls_enabled: true
      ssl:
        enabled: true
        client_auth_enabled: true
        keystore: ref://mp-client-ref
        key_alias: mp-client
        truststore: ref://backend-ca-ref
        protocols: []
        ciphers: []
        ignore_validation_errors: false
        present: true
      keystore:
        declared: ref://mp-client-ref
        reference: mp-client-ref
        reference_found: true
        name: mpclient
        dynamic: false
        error: null
        variables: []
      truststore:
        declared: ref://backend-ca-ref
        reference: backend-ca-ref
        reference_found: true
        name: backendca
        dynamic: false
        error: null
        variables: []
      used_by:
      - api: orders
        revision: 3
        target: default
        basepaths:
        - /orders
      notes: []
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.links import check_org, discover_all
from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({
        "envs": {"type": "list", "elements": "str", "required": True},
        "target_servers": {"type": "list", "elements": "str", "default": []},
        "proxies": {"type": "list", "elements": "str", "default": []},
        "include_plain": {"type": "bool", "default": False},
    })

    def work(client, p):
        check_org(client)
        links = discover_all(client, p["envs"], target_servers=p["target_servers"], proxies=p["proxies"],
                             include_plain=p["include_plain"])
        return {"changed": False, "links": [lk.to_dict() for lk in links]}

    module.run(work)


if __name__ == "__main__":
    main()
