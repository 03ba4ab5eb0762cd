#!/usr/bin/python
"""Ansible module: probe a TLS backend the way the Apigee Message Processor sees it."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: tls_backend_probe
short_description: Probe a TLS backend for client-certificate requirements and the MP's handshake outcome
description:
  - Opens real TLS connections (pyOpenSSL) to O(host):O(port) from where the task runs (use C(delegate_to) for a host
    inside the MP's network; the controller by default).
  - Reports whether the server asks for a client certificate, the acceptable client CA names in the server's order
    (RFC 4514 and OpenSSL one-line forms, as C(openssl s_client) shows them), the server chain and the protocol.
  - With O(client_chain), predicts with the JSSE key-manager model whether the MP would send that chain (and which
    acceptable DN matched), and with O(client_key) performs the handshake the MP would (with the chain only when JSSE
    would send it), returning the real alert or HTTP status. Covers TLS 1.2 and TLS 1.3.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  host:
    description: Backend host name or address.
    type: str
    required: true
  port:
    description: Backend TLS port.
    type: int
    required: true
  server_name:
    description:
      - SNI to send, as given. Without it, what a JSSE client sends for O(host) - no SNI for an IP address or a name
        without a dot (C(backend), C(localhost)), a trailing dot dropped. Set O(sni=false) for Private Cloud MPs with
        SNI off.
    type: str
  sni:
    description: Send SNI at all.
    type: bool
    default: true
  timeout:
    description: Seconds per connection.
    type: float
    default: 10
  tls_versions:
    description: TLS versions the probe may use; all supported when empty.
    type: list
    elements: str
    choices: [TLSv1.2, TLSv1.3]
    default: []
  ciphers:
    description:
      - A link's SSLInfo C(<Ciphers>) (Java's standard names, e.g. C(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)) - the
        probe offers only the suites the MP's JSSE client offers with that list (suites Java disables are left out).
      - A name Java does not know is an error, as it is for the MP (C(Unsupported CipherSuite)). Empty - OpenSSL's
        defaults.
    type: list
    elements: str
    default: []
  client_chain:
    description: Client certificate chain (leaf first) as PEM text or a path to a PEM file.
    type: str
  client_key:
    description: Private key of the client leaf, PEM text or a path. Never returned or logged.
    type: str
  client_key_password:
    description: Password of O(client_key).
    type: str
  key_manager:
    description: The JSSE key manager the MP uses (the model applied to O(client_chain)).
    type: str
    choices: [SunX509, PKIX]
    default: SunX509
  attempt_handshake:
    description: Send an HTTP request after the handshake and report the outcome (alert or HTTP status).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Only reads (TLS handshakes, one HTTP GET /); never changes anything.
  diff_mode:
    support: none
    description: Read-only.
seealso:
  - module: apigee_mtls_diagnose
  - module: truststore_cert
requirements:
  - "cryptography>=42"
  - "pyOpenSSL>=24"
extends_documentation_fragment:
  - attributes
"""

EXAMPLES = r"""
- name: What CAs does the backend accept, seen from the MP's network
  tls_backend_probe:
    host: backend.internal.example
    port: 8443
  delegate_to: mp-bastion
  register: probe

- name: Would the MP send this chain, and does the backend accept it
  tls_backend_probe:
    host: backend.internal.example
    port: 8443
    client_chain: files/client-chain.pem
    client_key: "{{ vault_client_key }}"
"""

RETURN = r"""
reachable:
  description: A TCP connection was opened.
  returned: always
  type: bool
client_auth_requested:
  description: The server sent a CertificateRequest.
  returned: always
  type: bool
acceptable_client_cas:
  description: Acceptable client CA names (RFC 4514), in the server's order.
  returned: always
  type: list
  elements: str
acceptable_client_cas_openssl:
  description: The same names in OpenSSL one-line form.
  returned: always
  type: list
  elements: str
server_chain:
  description: The server's certificates (subject, issuer, validity, SHA-256).
  returned: always
  type: list
  elements: dict
  sample: [{subject: "CN=mp-client,O=Acme", issuer: "CN=Acme Issuing CA,O=Acme", serial: "1f:14:e3:65",
            not_before: "2026-01-01T00:00:00Z", not_after: "2027-01-01T00:00:00Z", sha256: "4D:1C:84:A4:...:AD:C4",
            is_ca: false, validity: valid}]
protocol:
  description: Negotiated TLS version.
  returned: when reachable
  type: str
will_send_client_certificate:
  description: The JSSE model's prediction for O(client_chain).
  returned: when client_chain is given
  type: bool
matched_issuer:
  description: The acceptable CA DN that made JSSE choose the chain.
  returned: when client_chain is given
  type: str
handshake:
  description: The outcome as the MP would see it (ok, alert, alert_text, http_status, protocol).
  returned: when attempt_handshake
  type: dict
  sample:
    ok: false
    completed: false
    alert: bad_certificate
    alert_text: sslv3 alert bad certificate
    http_status: null
    protocol: TLSv1.2
    error: null
    client_certificate_presented: true
handshake_without_certificate:
  description: The outcome when no client certificate is sent.
  returned: always
  type: dict
  sample:
    ok: false
    completed: false
    alert: handshake_failure
    alert_text: sslv3 alert handshake failure
    http_status: null
    protocol: TLSv1.2
    error: null
    client_certificate_presented: false
"""


from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.material import read_material
from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.probe import probe, public_probe
from ansible.module_utils.mtls.server_trust import jsse_sni


def run_probe(p):
    chain = key = None
    data = read_material(p["client_chain"], "client_chain")
    if data is not None:
        chain = certcore.load_certificates(data, "client_chain")
    data = read_material(p["client_key"], "client_key", secret=True)
    if data is not None:
        key = certcore.load_private_key(data, p["client_key_password"], "client_key")
        del data
        if chain and not certcore.key_matches_certificate(key, chain[0]):
            raise MtlsError("client_key does not match the first certificate of client_chain")
    sni = (p["server_name"] or jsse_sni(p["host"])) if p["sni"] else None
    result = probe(p["host"], p["port"], server_name=sni, timeout=p["timeout"],
                   tls_versions=p["tls_versions"] or None, client_chain=chain, client_key=key,
                   attempt_handshake=p["attempt_handshake"], key_manager=p["key_manager"],
                   ciphers=p["ciphers"] or None)
    return public_probe(result)


def main():
    module = MtlsModule({
        "host": {"type": "str", "required": True},
        "port": {"type": "int", "required": True},
        "server_name": {"type": "str"},
        "sni": {"type": "bool", "default": True},
        "timeout": {"type": "float", "default": 10},
        "tls_versions": {"type": "list", "elements": "str", "default": [], "choices": ["TLSv1.2", "TLSv1.3"]},
        "ciphers": {"type": "list", "elements": "str", "default": []},
        "client_chain": {"type": "str"},
        "client_key": {"type": "str", "no_log": True},
        "client_key_password": {"type": "str", "no_log": True},
        "key_manager": {"type": "str", "default": "SunX509", "choices": ["SunX509", "PKIX"]},
        "attempt_handshake": {"type": "bool", "default": True},
    })
    module.run(run_probe)


if __name__ == "__main__":
    main()
