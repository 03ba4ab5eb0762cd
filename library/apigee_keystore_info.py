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
