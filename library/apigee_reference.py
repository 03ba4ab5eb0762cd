#!/usr/bin/python
"""Ansible module: an Apigee reference names the given keystore or truststore."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_reference
short_description: An Apigee reference names the given keystore or truststore
description:
  - Makes an environment reference (used as C(ref://NAME) in a target's SSLInfo) name the given keystore or
    truststore, or removes it.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  env:
    description: The Apigee environment.
    type: str
    required: true
  name:
    description: The reference name.
    type: str
    required: true
  refers:
    description: The keystore or truststore it names (required for O(state=present)).
    type: str
  resource_type:
    description: What it names.
    type: str
    choices: [KeyStore, TrustStore]
    default: KeyStore
  state:
    description: Whether it must exist.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: apigee_keystore
  - module: apigee_keystore_alias
extends_documentation_fragment:
  - apigee
  - attributes
"""

EXAMPLES = r"""
- name: Point the SSLInfo reference at the new keystore
  apigee_reference:
    org: myorg
    env: prod
    name: backend-client-ref
    refers: backend-client-2025
    token: "{{ apigee_token }}"
"""

RETURN = r"""
refers:
  description: What the reference names afterwards.
  returned: always
  type: str
previous_refers:
  description: What it named before.
  returned: always
  type: str
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.apigee_stores import ensure_reference
from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({
        "env": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "refers": {"type": "str"},
        "resource_type": {"type": "str", "default": "KeyStore", "choices": ["KeyStore", "TrustStore"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    }, required_if=[("state", "present", ("refers",))])
    module.run(lambda client, p: ensure_reference(client, p["env"], p["name"], p["refers"], p["resource_type"],
                                                  p["state"], module.check_mode))


if __name__ == "__main__":
    main()
