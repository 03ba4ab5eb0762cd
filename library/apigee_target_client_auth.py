#!/usr/bin/python
"""Ansible module: client authentication (two-way TLS) is on in the SSLInfo of a southbound link."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_target_client_auth
short_description: Two-way TLS (ClientAuthEnabled) is on for a target server or a proxy target endpoint
description:
  - Turns C(ClientAuthEnabled) on in the SSLInfo of one southbound link, named by its link id.
  - "C(targetserver:<env>/<name>): the target server is updated in place (its keyStore and keyAlias must be set)."
  - "C(proxy:<env>/<api>/<rev>/<target>): a new revision is imported from that revision's bundle with only the
    C(<ClientAuthEnabled>) element changed, and deployed over it (override); the link id afterwards names the new
    revision."
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  link_id:
    description: The link id, as in the diagnosis report.
    type: str
    required: true
seealso:
  - module: apigee_southbound_info
  - module: apigee_mtls_diagnose
extends_documentation_fragment:
  - apigee
  - attributes
attributes:
  diff_mode:
    description: Shows the link, its ClientAuthEnabled before and after, and the change (the target server updated, or a
      new proxy revision imported and deployed).
"""

EXAMPLES = r"""
- name: Turn two-way TLS on for a target server
  apigee_target_client_auth:
    org: myorg
    link_id: targetserver:prod/backend-1
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
"""

RETURN = r"""
new_id:
  description: The link id afterwards (a new revision for a proxy target endpoint).
  returned: always
  type: str
detail:
  description: What was (or would be) done.
  returned: when changed
  type: str
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.client_auth import client_auth_diff, enable_client_auth
from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({"link_id": {"type": "str", "required": True}})

    def work(client, p):
        result = enable_client_auth(client, p["link_id"], check_mode=module.check_mode)
        result["diff"] = client_auth_diff(result)
        return result

    module.run(work)


if __name__ == "__main__":
    main()
