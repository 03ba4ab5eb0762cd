#!/usr/bin/python
"""Ansible module: keystores, aliases, certificates and truststore entries of Apigee environments, parsed."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_keystore_info
short_description: Read Apigee keystores and truststores with each chain parsed
description:
  - Lists the keystores of an environment (or the named ones) and, for each alias, the stored certificate chain parsed
    by the certificate core (subject, issuer, validity, fingerprints, Apigee certInfo), and whether it has a key.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  env:
    description: The environment.
    type: str
    required: true
  keystores:
    description: Only these keystores or truststores; every one of the environment when empty.
    type: list
    elements: str
    default: []
seealso:
  - module: apigee_keystore_alias
  - module: apigee_southbound_info
extends_documentation_fragment:
  - apigee
  - attributes.info_module
"""

EXAMPLES = r"""
- name: What is in the client keystore
  apigee_keystore_info:
    org: myorg
    env: prod
    keystores: [backend-client]
    token: "{{ apigee_token }}"
  register: ks
"""

RETURN = r"""
keystores:
  description: Per keystore, its aliases with has_key, chain (chain_summary) and cert_info (Apigee certInfo) per cert.
  returned: always
  type: list
  elements: dict
  sample:
    - name: mpclient
      env: prod
      exists: true
      certs:
      - mp-client-cert
      aliases:
      - alias: mp-client
        has_key: true
        error: null
        chain:
        - subject: CN=mp-client,O=Acme
          issuer: CN=Acme Issuing CA,O=Acme
          serial: 1f:14:e3:65
          not_before: '2026-01-01T00:00:00Z'
          not_after: '2027-01-01T00:00:00Z'
          sha256: 4D:1C:84:A4:...:AD:C4
          is_ca: false
          validity: valid
        cert_info:
        - subject: CN=mp-client, O=Acme
          issuer: CN=Acme Issuing CA, O=Acme
          sigAlgName: SHA256withRSA
          isValid: 'Yes'
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.links import check_env, list_keystores, read_keystore
from ansible.module_utils.mtls.module_ansible import ApigeeModule


def main():
    module = ApigeeModule({
        "env": {"type": "str", "required": True},
        "keystores": {"type": "list", "elements": "str", "default": []},
    })

    def work(client, p):
        check_env(client, p["env"])
        out = []
        for name in p["keystores"] or list_keystores(client, p["env"]):
            ks = read_keystore(client, p["env"], name, certcore.load_certificates)
            aliases = []
            for alias, rec in sorted(ks["aliases"].items()):
                aliases.append({"alias": alias, "has_key": rec["has_key"], "error": rec["error"],
                                "chain": certcore.chain_summary(rec["chain"]),
                                "cert_info": [certcore.cert_info(c) for c in rec["chain"]]})
            out.append({"name": name, "env": p["env"], "exists": ks["exists"], "certs": ks["certs"],
                        "aliases": aliases})
        return {"changed": False, "keystores": out}

    module.run(work)


if __name__ == "__main__":
    main()
