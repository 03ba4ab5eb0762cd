#!/usr/bin/python
"""Module apigee_preflight: the credentials, the organization and its environments, checked with one API call."""

DOCUMENTATION = r"""
module: apigee_preflight
short_description: Check Apigee credentials, organization and environments before a run
description:
  - One GET of the organization's environments. It fails in plain words when the management API cannot be reached,
    refuses the credentials (401), gives the user no access to the organization (403), or does not know it (404),
    and when an environment of O(envs) is not one of the organization's (naming those it has).
  - The first API task of every playbook of the project (role C(mtls_preflight)), so that a wrong password or a typo
    in an environment name stops the run before anything else happens.
options:
  envs:
    description: The environments the run works on.
    type: list
    elements: str
    default: []
requirements:
  - requests
extends_documentation_fragment:
  - apigee
  - attributes.info_module
seealso:
  - module: apigee_login
"""

EXAMPLES = r"""
- name: The credentials, the org and the environments work
  apigee_preflight:
    mgmt_url: "{{ apigee_mgmt_url }}"
    org: "{{ apigee_org }}"
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
    envs: "{{ apigee_envs }}"
"""

RETURN = r"""
org:
  description: The organization.
  returned: success
  type: str
  sample: myorg
envs:
  description: The environments asked for (each one exists).
  returned: success
  type: list
  elements: str
  sample: [prod]
org_envs:
  description: Every environment of the organization.
  returned: success
  type: list
  elements: str
  sample: [prod, test]
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.mtls.module_ansible import ApigeeModule
from ansible.module_utils.mtls.preflight import check_access


def main():
    module = ApigeeModule({"envs": {"type": "list", "elements": "str", "default": []}})
    module.run(lambda client, p: dict(check_access(client, p["envs"]), changed=False))


if __name__ == "__main__":
    main()
