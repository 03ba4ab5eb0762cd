#!/usr/bin/python
"""Ansible module: a CA certificate present in (or absent from) a backend host's truststore file."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: truststore_cert
short_description: A CA certificate is present in (or absent from) a backend truststore file
description:
  - Makes one or more CA certificates present in, or absent from, the truststore file of a TLS server that asks for
    client certificates (the backend of an Apigee target).
  - "Formats: C(pem_bundle) (nginx C(ssl_client_certificate), Apache C(SSLCACertificateFile), HAProxy C(ca-file),
    Envoy C(trusted_ca)), C(pkcs12) (Java PKCS#12 truststore) and C(jks) (Java JKS truststore, changed with keytool)."
  - Idempotent by SHA-256 fingerprint. The new file is written to a temporary file in the same folder, validated with
    O(validate) when given, and only then atomically replaces the live file, keeping its owner, group and mode. A
    O(path) that is a symlink is written through (the real file changes, the link stays).
  - Before the live file is replaced, a marker C(.<name>.reload-pending) is written beside it. RV(reload_pending) stays
    true until the caller removes it after reloading the backend, so a run interrupted between the write and the
    reload still reloads on the next run (role C(backend_truststore) does this).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  path:
    description: The truststore file on the backend host.
    type: path
    required: true
  format:
    description: The truststore format.
    type: str
    choices: [pem_bundle, pkcs12, jks]
    default: pem_bundle
  certificate:
    description:
      - The CA certificate(s) (PEM content with one or more certificates, or a path to a PEM or DER file on the host
        that runs the module).
      - Required unless O(restore_from) is given.
    type: str
  state:
    description: Whether the certificate(s) must be in the truststore or not.
    type: str
    choices: [present, absent]
    default: present
  alias:
    description: Alias of the new entry (pkcs12, jks). Default is the CN and 8 hex digits of the fingerprint.
    type: str
  password:
    description: The truststore password (pkcs12, jks).
    type: str
  password_file:
    description: A file whose first line is the truststore password (used when O(password) is not given).
    type: path
  validate:
    description:
      - A command run on the candidate file before it replaces the live one; C(%s) stands for the candidate's path.
      - When it fails, the live file is left untouched and the module fails with the command's message.
    type: str
  backup:
    description: Keep a timestamped copy of the live file before replacing it.
    type: bool
    default: true
  create:
    description: Create the file when it does not exist.
    type: bool
    default: true
  mode:
    description: Mode of a newly created file (an existing file keeps its mode).
    type: raw
  keytool:
    description: The keytool program (jks).
    type: path
    default: keytool
  restore_from:
    description:
      - Put this backup (a RV(backup_file) of an earlier call) back in place of O(path) instead of changing
        certificates; atomic, through a symlink, keeping the owner, group and mode the live file has.
    type: path
attributes:
  check_mode:
    support: full
    description: Computes whether the file would change and writes nothing.
  diff_mode:
    support: full
    description: Shows the certificates (subject, issuer, serial, not-after, SHA-256) before and after.
notes:
  - Private keys never go in a truststore; the password is never returned nor logged.
seealso:
  - module: apigee_truststore_cert
  - module: tls_backend_probe
requirements:
  - "cryptography>=42"
  - "keytool (a Java runtime's) for O(format=jks)"
extends_documentation_fragment:
  - attributes
"""

EXAMPLES = r"""
- name: Trust the MP client certificate's issuing CA on nginx
  truststore_cert:
    path: /etc/nginx/client-ca.pem
    format: pem_bundle
    certificate: "{{ lookup('file', 'pki/intermediate-c.pem') }}"
    validate: nginx -t -q -c /etc/nginx/nginx.conf
  notify: reload nginx

- name: Trust it in a Java backend's PKCS#12 truststore
  truststore_cert:
    path: /opt/app/truststore.p12
    format: pkcs12
    password_file: /opt/app/truststore.password
    certificate: /tmp/intermediate-c.pem
    alias: intermediate-c
    validate: keytool -list -storetype PKCS12 -keystore %s -storepass:file /opt/app/truststore.password
"""

RETURN = r"""
path:
  description: The truststore file.
  returned: always
  type: str
real_path:
  description: The file that was written when O(path) is a symlink.
  returned: when O(path) is a symlink
  type: str
reload_pending:
  description: The file changed (in this run or an earlier one) and the backend has not been reloaded since.
  returned: unless O(restore_from) is given
  type: bool
reload_marker:
  description: The marker file behind RV(reload_pending); remove it once the backend is reloaded.
  returned: unless O(restore_from) is given
  type: str
added:
  description: Certificates added (subject, issuer, serial, not_before, not_after, sha256, ...).
  returned: always
  type: list
  elements: dict
  sample: [{subject: "CN=mp-client,O=Acme", issuer: "CN=Acme Issuing CA,O=Acme", serial: "1f:14:e3:65",
            not_before: "2026-01-01T00:00:00Z", not_after: "2027-01-01T00:00:00Z", sha256: "4D:1C:84:A4:...:AD:C4",
            is_ca: false, validity: valid}]
removed:
  description: Certificates removed.
  returned: always
  type: list
  elements: dict
  sample: []
certificates:
  description: How many certificates the truststore holds afterwards.
  returned: always
  type: int
backup_file:
  description: The backup of the previous file.
  returned: when changed and backup is true
  type: str
"""

from ansible.module_utils.mtls.backend_truststore import apply_truststore_cert, read_password, restore_backup
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.material import read_material
from ansible.module_utils.mtls.module_ansible import MtlsModule


def _mode(value):
    if value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 8)
    except ValueError:
        raise MtlsError("mode: %r is not an octal file mode (e.g. '0640')" % (value,)) from None


def main():
    module = MtlsModule({
        "path": {"type": "path", "required": True},
        "format": {"type": "str", "default": "pem_bundle", "choices": ["pem_bundle", "pkcs12", "jks"]},
        "certificate": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "alias": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "password_file": {"type": "path", "no_log": False},
        "validate": {"type": "str"},
        "backup": {"type": "bool", "default": True},
        "create": {"type": "bool", "default": True},
        "mode": {"type": "raw"},
        "keytool": {"type": "path", "default": "keytool"},
        "restore_from": {"type": "path"},
    }, required_one_of=[["certificate", "restore_from"]], mutually_exclusive=[["certificate", "restore_from"]])

    def work(p):
        if p["restore_from"]:
            if module.check_mode:
                return {"changed": True, "path": p["path"], "restored_from": p["restore_from"]}
            return restore_backup(p["path"], p["restore_from"])
        password = read_password(p["password"], p["password_file"])
        if password:
            module.no_log_values.add(password)
        return apply_truststore_cert(
            p["path"], p["format"], read_material(p["certificate"], "certificate"), state=p["state"],
            password=password, alias=p["alias"], validate=p["validate"], backup=p["backup"],
            check_mode=module.check_mode, create=p["create"], mode=_mode(p["mode"]), keytool=p["keytool"])

    module.run(work)


if __name__ == "__main__":
    main()
