#!/usr/bin/python
"""Ansible module: log in to the Apigee Edge management API once and return the OAuth2 tokens for later tasks."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_login
short_description: Log in to Apigee Edge once (SAML passcode, MFA code, or user and password) and return the tokens
description:
  - Exchanges credentials for an OAuth2 access token and refresh token at the Edge login service
    (C(POST <login_url>/oauth/token), client C(edgecli)), as Apigee documents it
    (docs.apigee.com management-api-tokens).
  - "A SAML (SSO) org has no passwords - its users get a one-time O(passcode) from
    C(https://<zone>.login.apigee.com/passcode) and O(login_url) names the zone (C(https://<zone>.login.apigee.com))."
  - A passcode and an MFA code can be used only once, and every module run makes its own client. So a playbook logs in
    once with this module and hands RV(access_token) and RV(refresh_token) to the later tasks (C(token),
    C(refresh_token)); a module whose access token expires during a long run refreshes it once with the refresh token.
  - The return values are secrets - run this task with C(no_log=true) (role C(apigee_login) does).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options: {}
seealso:
  - module: apigee_preflight
extends_documentation_fragment:
  - apigee
  - attributes
attributes:
  check_mode:
    support: full
    description: Logs in in check mode too (it changes nothing in Apigee); later tasks need the token.
  diff_mode:
    support: none
    description: Nothing to compare; the module changes nothing.
"""

EXAMPLES = r"""
- name: Log in once with the passcode of a SAML org
  apigee_login:
    org: myorg
    passcode: "{{ lookup('ansible.builtin.env', 'APIGEE_PASSCODE') }}"
    login_url: https://myzone.login.apigee.com
  register: login
  no_log: true

- name: Later tasks use the token (and refresh it when it expires)
  apigee_keystore_info:
    org: myorg
    env: prod
    token: "{{ login.access_token }}"
    refresh_token: "{{ login.refresh_token }}"
"""

RETURN = r"""
access_token:
  description: The OAuth2 access token (a secret).
  returned: success
  type: str
refresh_token:
  description: The refresh token (a secret), for a new access token when this one expires.
  returned: success
  type: str
expires_in:
  description: Seconds the access token is valid for, as the login service said (Edge - 1799).
  returned: success
  type: int
api_requests:
  description: HTTP requests made (the login).
  returned: always
  type: int
"""

from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({})

    def work(client, p):
        tokens = client.login()
        return dict(tokens, changed=False)

    module.run(work)


if __name__ == "__main__":
    main()
