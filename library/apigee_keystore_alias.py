#!/usr/bin/python
"""Ansible module: an Apigee keystore alias holds the given private key and the complete certificate chain."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_keystore_alias
short_description: An Apigee keystore alias holds the given key and the complete certificate chain
description:
  - Makes an alias of an Apigee Edge keystore hold the given private key and the B(complete) certificate chain (leaf,
    intermediates, root when known). The chain is completed from O(ca_bundle) with the certificate core.
  - Idempotent by meaning, not by bytes. The chain stored in Apigee is read back through the management API and
    compared with the desired complete chain by SHA-256 fingerprints; when they are equal nothing is written.
  - "When they differ and a key is given: O(strategy=in_place) deletes and recreates the alias;
    O(strategy=rotate) creates a new keystore with the same alias name, uploads, checks what was stored, repoints every
    reference that named the old keystore, then deletes the old keystore unless O(keep_previous) (Apigee's documented
    zero-downtime path)."
  - "A rotation also moves the links that name the keystore directly in their SSLInfo (C(KeyStore ks-x) rather than
    C(ref://name)) with this alias - Apigee's documented path for a keystore used by name - unless
    O(update_direct_users=false). A target server is updated (PUT); a proxy target endpoint or ServiceCallout gets a new
    revision of its proxy with only that C(KeyStore) changed, imported and deployed over the deployed one
    (RV(repointed), RV(renamed)). Without a reference, such links are what a rotation moves; a keystore that nothing
    names is changed in place."
  - "Before the old keystore is deleted, every link of the environment (target servers, the target endpoints and
    ServiceCallouts of deployed proxy revisions) is read; when one still names it directly (another alias, or
    O(update_direct_users=false)), it is kept, a warning names those links and RV(previous_keystore_kept_because) lists
    them."
  - "Run again with the same O(keystore) after such a rotation, the keystore of its rotation family that the links
    now name is the one compared, so a second run changes nothing."
  - Without a key, only the certificate chain of an existing alias is updated. Any change in place (same keystore
    name) returns RV(restart_required) - the Message Processors keep the keystore they loaded until they restart.
  - Bad input fails before any change, naming the problem - a key that does not match the leaf, an expired leaf, or a
    CA bundle that cannot complete the chain.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  env:
    description: The Apigee environment.
    type: str
    required: true
  keystore:
    description:
      - The keystore. With O(strategy=rotate) and O(reference), the keystore in use is the one the reference names
        and this is the base name of new keystores (default - that keystore's name without an earlier rotation suffix).
    type: str
  alias:
    description: The alias name.
    type: str
    required: true
  reference:
    description: A reference (C(ref://NAME) in SSLInfo) that names the keystore; required for O(strategy=rotate).
    type: str
  cert_chain:
    description: The certificate chain, leaf first (PEM content or a path); the leaf alone is allowed.
    type: str
  ca_bundle:
    description: Certificates used to complete the chain (PEM content or a path).
    type: str
  private_key:
    description: The private key of the leaf (PEM content or a path).
    type: str
  private_key_password:
    description: The password of O(private_key) when it is encrypted.
    type: str
  pkcs12:
    description: A PKCS#12 file (path) holding the key and the leaf (and possibly intermediates), instead of
      O(private_key) and O(cert_chain).
    type: path
  pkcs12_password:
    description: The password of O(pkcs12).
    type: str
  strategy:
    description:
      - How to change an alias whose chain differs, when a key is given. C(rotate) (the default) moves the users to a
        new keystore - through the references that name it and by pointing the links that name it directly - which the
        Message Processors use at once. C(in_place) deletes and recreates the alias under the same keystore name, which
        they only use after a restart (RV(restart_required)).
    type: str
    choices: [in_place, rotate]
    default: rotate
  keep_previous:
    description: With O(strategy=rotate), keep the previous keystore instead of deleting it.
    type: bool
    default: false
  update_direct_users:
    description:
      - With O(strategy=rotate), point the links that name the keystore directly with this alias at the new keystore
        (target server update, or a new proxy revision deployed). The Message Processors pick that up without a
        restart, which they do not for a keystore changed under its name.
    type: bool
    default: true
  validate_only:
    description:
      - Only read and check the material (chain, key, PKCS#12, passwords, validity, key/certificate match) and make
        no request to Apigee. Role C(apigee_keystore_chain) runs every item this way before the first change, so
        one bad item stops the run before anything changes.
    type: bool
    default: false
  include_root:
    description:
      - Store the self-signed root at the end of the chain when it is known. Set C(false) for a root the backend
        refuses (the C(signature_algorithm_rejected) plan of a legacy, e.g. SHA-1 signed, root).
    type: bool
    default: true
  accepted_keys:
    description:
      - The keys the backend lets the MP use, as the diagnosis names them (C(RSA), C(EC secp256r1), C(EdDSA), ...;
        the C(accepted_keys) of a C(key_type_not_accepted) or C(no_certificate_verify_scheme) plan). Material whose
        leaf has another key fails before any request.
    type: list
    elements: str
    default: []
seealso:
  - module: apigee_keystore_aliases
  - module: apigee_keystore
  - module: apigee_reference
extends_documentation_fragment:
  - apigee
  - attributes
attributes:
  check_mode:
    support: full
    description: Reads Apigee, computes the plan and C(changed), writes nothing.
  diff_mode:
    support: full
    description: Shows the stored and desired chains (subject, issuer, serial, not-after, SHA-256), never key material.
"""

EXAMPLES = r"""
- name: Upload the complete chain to the alias the target server uses
  apigee_keystore_alias:
    org: myorg
    env: prod
    keystore: backend-client
    alias: client
    cert_chain: files/client.pem
    ca_bundle: files/issuing-cas.pem
    private_key: "{{ vault_client_key }}"
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"

- name: Rotate with zero downtime through the reference used in SSLInfo
  apigee_keystore_alias:
    org: myorg
    env: prod
    reference: backend-client-ref
    alias: client
    cert_chain: files/client.pem
    private_key: "{{ vault_client_key }}"
    strategy: rotate
    token: "{{ apigee_token }}"
"""

RETURN = r"""
action:
  description: What was (or, in check mode, would be) done - none, create, replace, rotate or update_cert.
  returned: always
  type: str
steps:
  description: The plan, in words.
  returned: always
  type: list
  elements: str
keystore:
  description: The keystore that holds the alias afterwards (the new one after a rotation).
  returned: always
  type: str
previous_keystore:
  description: The keystore a rotation moved away from.
  returned: always
  type: str
restart_required:
  description:
    - True when the change was made in place (the same keystore name - C(replace), C(update_cert), an alias added
      to a keystore that exists). Apigee's Message Processors keep a keystore they loaded until they restart, so traffic
      keeps the old chain until then, while the management API already shows the new one. A rotation through a
      reference (O(strategy=rotate)) never needs it.
  returned: always
  type: bool
previous_keystore_kept_because:
  description:
    - Ids of the links (C(targetserver:<env>/<name>), C(proxy:<env>/<api>/<rev>/<target>)) that name the previous
      keystore directly in SSLInfo, so a rotation kept that keystore instead of deleting it. Empty when nothing
      stopped the delete.
  returned: always
  type: list
  elements: str
  sample: ["targetserver:prod/legacy-backend"]
leftovers_deleted:
  description:
    - Keystores of the same rotation family (the keystore's name, or it with C(rot<8 hex>)) that an earlier,
      interrupted rotation left and that nothing names any more; deleted (in check mode, would be) unless
      O(keep_previous).
  returned: when O(strategy=rotate) with a O(reference)
  type: list
  elements: str
leftovers_kept:
  description: Such keystores kept because a reference or a link still names them (with a warning).
  returned: when O(strategy=rotate) with a O(reference)
  type: list
  elements: dict
  contains:
    name:
      description: The keystore.
      type: str
    references:
      description: References that name it.
      type: list
      elements: str
    direct_users:
      description: Ids of links whose SSLInfo names it directly.
      type: list
      elements: str
repointed:
  description: Ids of the links whose SSLInfo a rotation pointed at the new keystore (in check mode, would point).
  returned: always
  type: list
  elements: str
  sample: ["targetserver:prod/legacy-backend", "proxy:prod/orders/7/default"]
renamed:
  description:
    - Link id before -> link id after, for links that got a new proxy revision (C(proxy:<env>/<api>/<rev>/<target>)
      with the new revision). Empty in check mode.
  returned: always
  type: dict
  sample: {"proxy:prod/orders/7/default": "proxy:prod/orders/8/default"}
references:
  description: References repointed by a rotation.
  returned: always
  type: list
  elements: str
chain:
  description: The desired complete chain (subject, issuer, serial, not_before, not_after, sha256, ...).
  returned: always
  type: list
  elements: dict
  contains:
    subject: {description: Subject DN (Java's form)., type: str}
    issuer: {description: Issuer DN., type: str}
    serial: {description: Serial number (hex)., type: str}
    not_before: {description: Start of validity (UTC)., type: str}
    not_after: {description: End of validity (UTC)., type: str}
    sha256: {description: SHA-256 fingerprint., type: str}
    is_ca: {description: Whether it is a CA certificate., type: bool}
    validity: {description: "C(valid), C(expired) or C(not_yet_valid)", type: str}
stored_before:
  description: The chain stored before the change.
  returned: always
  type: list
  elements: dict
  sample: [{subject: "CN=mp-client,O=Acme", issuer: "CN=Acme Issuing CA,O=Acme", serial: "1f:14:e3:65",
            not_before: "2026-01-01T00:00:00Z", not_after: "2027-01-01T00:00:00Z", sha256: "4D:1C:84:A4:...:AD:C4",
            is_ca: false, validity: valid}]
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
"""

from ansible.module_utils.mtls.alias_chain import ITEM_OPTIONS, desired_chain_of
from ansible.module_utils.mtls.apigee_stores import sync_alias
from ansible.module_utils.mtls.material import read_material
from ansible.module_utils.mtls.module_ansible import ApigeeModule, MtlsModule


def main():
    module = ApigeeModule(dict(ITEM_OPTIONS, validate_only={"type": "bool", "default": False}),
                          mutually_exclusive=[("private_key", "pkcs12")],
                          required_one_of=[("cert_chain", "pkcs12"), ("keystore", "reference")])

    def prepare(p):
        # bad local input (malformed PEM, key/certificate mismatch, wrong password) fails before any API request
        return desired_chain_of(p, read_material)

    def work(client, p, desired):
        return sync_alias(client, p["env"], p["keystore"], p["alias"], desired, strategy=p["strategy"],
                          reference=p["reference"], keep_previous=p["keep_previous"], check_mode=module.check_mode,
                          update_direct_users=p["update_direct_users"])

    if module.params["validate_only"]:
        def check(p):
            desired = prepare(p)
            return {"changed": False, "action": "none", "valid": True, "chain": desired.summary,
                    "warnings": list(desired.warnings)}

        MtlsModule.run(module, check)  # local checks only: no client, no request
    module.run(work, prepare=prepare)


if __name__ == "__main__":
    main()
