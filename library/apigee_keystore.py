#!/usr/bin/python
"""Ansible module: an Apigee keystore or truststore is present or absent."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_keystore
short_description: An Apigee keystore or truststore is present or absent
description:
  - Creates or deletes an Apigee Edge keystore (or truststore; they are the same entity) in an environment.
  - Deleting a keystore that a reference still names is refused, naming the references.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  env:
    description: The Apigee environment.
    type: str
    required: true
  name:
    description: The keystore or truststore name.
    type: str
    required: true
  state:
    description: Whether it must exist.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: apigee_keystore_alias
  - module: apigee_reference
  - module: apigee_keystore_info
extends_documentation_fragment:
  - apigee
  - attributes
"""

EXAMPLES = r"""
- name: A keystore for the backend client certificate
  apigee_keystore:
    org: myorg
    env: prod
    name: backend-client
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
"""

RETURN = r"""
name:
  description: The keystore name.
  returned: always
  type: str
aliases:
  description: Its aliases before the change.
  returned: always
  type: list
  elements: str
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.apigee_stores import ensure_keystore
from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({
        "env": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    })
    module.run(lambda client, p: ensure_keystore(client, p["env"], p["name"], p["state"], module.check_mode))


if __name__ == "__main__":
    main()
