#!/usr/bin/python
"""Ansible module: a CA certificate is present in (or absent from) an Apigee truststore."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_truststore_cert
short_description: A CA certificate is present in (or absent from) an Apigee truststore
description:
  - Makes one CA certificate present in, or absent from, an Apigee Edge truststore (an alias holding a certificate
    only, created with C(format=keycertfile)).
  - Idempotent by SHA-256 fingerprint of the certificates read back from every alias of the truststore.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  env:
    description: The Apigee environment.
    type: str
    required: true
  truststore:
    description: The truststore name.
    type: str
    required: true
  certificate:
    description: The CA certificate (PEM content or a path; exactly one certificate).
    type: str
    required: true
  alias:
    description: Alias of a new entry (default - the CN and 8 hex digits of the fingerprint).
    type: str
  state:
    description: Whether the certificate must be in the truststore.
    type: str
    choices: [present, absent]
    default: present
  create:
    description: Create the truststore when it does not exist.
    type: bool
    default: true
seealso:
  - module: truststore_cert
  - module: apigee_keystore
extends_documentation_fragment:
  - apigee
  - attributes
"""

EXAMPLES = r"""
- name: Trust the backend's server CA in the MP truststore
  apigee_truststore_cert:
    org: myorg
    env: prod
    truststore: backend-trust
    certificate: files/backend-server-ca.pem
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
"""

RETURN = r"""
aliases:
  description: The aliases holding the certificate afterwards.
  returned: always
  type: list
  elements: str
certificate:
  description: Summary of the certificate (subject, issuer, serial, not_after, sha256, ...).
  returned: always
  type: dict
  sample: {subject: "CN=Acme Issuing CA,O=Acme", issuer: "CN=Acme Root,O=Acme", serial: "5d:ec:7b:61",
           not_after: "2036-01-01T00:00:00Z", sha256: "46:9D:DD:00:...:2C:17", is_ca: true, validity: valid}
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.apigee_stores import sync_truststore_cert
from ansible.module_utils.mtls.material import read_material
from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({
        "env": {"type": "str", "required": True},
        "truststore": {"type": "str", "required": True},
        "certificate": {"type": "str", "required": True},
        "alias": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "create": {"type": "bool", "default": True},
    })
    module.run(lambda client, p: sync_truststore_cert(
        client, p["env"], p["truststore"], read_material(p["certificate"], "certificate"), alias=p["alias"],
        state=p["state"], create=p["create"], check_mode=module.check_mode))


if __name__ == "__main__":
    main()
