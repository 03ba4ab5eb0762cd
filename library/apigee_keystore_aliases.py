#!/usr/bin/python
"""Ansible module: many Apigee keystore aliases hold their key and complete chain, in one run with one client."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_keystore_aliases
short_description: Many Apigee keystore aliases hold their key and the complete chain, in one module run
description:
  - What M(apigee_keystore_alias) does for one alias, for every item of O(items), one after the other, in one
    module run with one client - what the first item reads (target servers, proxy bundles, references, keystores) is
    not read again for the next, and what an item changes is read again.
  - Decide first, then act - the material of every item is read and checked (a key that does not match, a wrong
    password, an expired leaf, a chain that cannot be completed) before the first request; one bad item fails the run
    with every bad item named and nothing changed.
  - Each item rotates by default - a new keystore, the references that name the old one repointed, the links that
    name it directly pointed at it (a target server updated, a new proxy revision deployed) - which the Message
    Processors use at once; C(strategy=in_place) keeps the keystore name and is reported C(restart_required).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  items:
    description: The aliases, each with the options of M(apigee_keystore_alias).
    type: list
    elements: dict
    required: true
    suboptions:
      env:
        description: The Apigee environment.
        type: str
        required: true
      keystore:
        description: The keystore (with a O(items[].reference), the base name of new keystores).
        type: str
      alias:
        description: The alias name.
        type: str
        required: true
      reference:
        description: A reference (C(ref://NAME) in SSLInfo) that names the keystore.
        type: str
      cert_chain:
        description: The certificate chain, leaf first (PEM content or a path).
        type: str
      ca_bundle:
        description: Certificates used to complete the chain (PEM content or a path).
        type: str
      private_key:
        description: The private key of the leaf (PEM content or a path).
        type: str
      private_key_password:
        description: The password of O(items[].private_key).
        type: str
      pkcs12:
        description: A PKCS#12 file (path) instead of O(items[].private_key) and O(items[].cert_chain).
        type: path
      pkcs12_password:
        description: The password of O(items[].pkcs12).
        type: str
      strategy:
        description: C(rotate) (a new keystore) or C(in_place) (the same name; the MPs need a restart).
        type: str
        choices: [in_place, rotate]
        default: rotate
      keep_previous:
        description: Keep the previous keystore after a rotation.
        type: bool
        default: false
      update_direct_users:
        description: Point the links that name the keystore directly at the new one.
        type: bool
        default: true
      include_root:
        description: Store the self-signed root at the end of the chain when it is known.
        type: bool
        default: true
      accepted_keys:
        description: The keys the backend lets the MP use; material whose leaf has another fails before any request.
        type: list
        elements: str
        default: []
  validate_only:
    description: Only read and check the material of every item; no request to Apigee.
    type: bool
    default: false
extends_documentation_fragment:
  - apigee
  - attributes
attributes:
  check_mode:
    support: full
    description: Reads Apigee, computes every item's plan and C(changed), writes nothing.
  diff_mode:
    support: full
    description: One diff per item - the stored and desired chains (subject, issuer, serial, not-after, SHA-256).
seealso:
  - module: apigee_keystore_alias
"""

EXAMPLES = r"""
- name: Upload the complete chains of two aliases in one run
  apigee_keystore_aliases:
    org: myorg
    items:
      - {env: prod, reference: backend-client-ref, alias: client, cert_chain: files/client.pem,
         private_key: "{{ vault_client_key }}"}
      - {env: prod, keystore: partnerks, alias: partner, cert_chain: files/partner.pem,
         private_key: "{{ vault_partner_key }}"}
    token: "{{ apigee_token }}"
"""

RETURN = r"""
results:
  description: One entry per item, in order, with what M(apigee_keystore_alias) returns for it.
  returned: success
  type: list
  elements: dict
  contains:
    chain_index:
      description: The item's index in O(items).
      type: int
    env:
      description: The item's environment.
      type: str
    action:
      description: none, create, replace, rotate or update_cert.
      type: str
    keystore:
      description: The keystore that holds the alias afterwards.
      type: str
    restart_required:
      description: Changed in place (same keystore name) - the MPs use it only after a restart.
      type: bool
    repointed:
      description: Links whose SSLInfo a rotation pointed at the new keystore.
      type: list
      elements: str
    renamed:
      description: Link id -> link id after a new proxy revision.
      type: dict
      sample: {"proxy:prod/orders/3/default": "proxy:prod/orders/4/default"}
  sample: [{"chain_index": 0, "env": "prod", "action": "rotate", "keystore": "backendclientrot1a2b3c4d",
            "restart_required": false, "repointed": [], "renamed": {}}]
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.alias_chain import ITEM_OPTIONS, desired_chain_of
from ansible.module_utils.mtls.apigee_stores import sync_aliases
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.material import read_material
from ansible.module_utils.mtls.module_ansible import ApigeeModule, MtlsModule


def main():
    module = ApigeeModule({
        "items": {"type": "list", "elements": "dict", "required": True, "options": ITEM_OPTIONS},
        "validate_only": {"type": "bool", "default": False},
    })

    def prepare(p):
        bad, desired = [], []
        for item in p["items"]:
            try:
                desired.append(desired_chain_of(item, read_material))
            except MtlsError as exc:
                bad.append(str(exc))
        if bad:
            raise MtlsError("%d of %d keystore item(s) cannot be used, nothing was changed: %s"
                            % (len(bad), len(p["items"]), " | ".join(bad)))
        return desired

    if module.params["validate_only"]:
        def check(p):
            desired = prepare(p)
            return {"changed": False, "valid": True, "results": [{"chain_index": i, "chain": d.summary}
                                                                 for i, d in enumerate(desired)],
                    "warnings": [w for d in desired for w in d.warnings]}

        MtlsModule.run(module, check)  # local checks only: no client, no request
    module.run(lambda client, p, desired: sync_aliases(client, p["items"], desired, check_mode=module.check_mode),
               prepare=prepare)


if __name__ == "__main__":
    main()
