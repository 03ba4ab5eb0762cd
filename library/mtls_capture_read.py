#!/usr/bin/python
"""Module mtls_capture_read: the TLS connections of a packet capture, read by tshark (the runbook's Wireshark step)."""

DOCUMENTATION = r"""
module: mtls_capture_read
short_description: Read the TLS handshakes of a packet capture as the runbook reads them in Wireshark
description:
  - Reads a pcap or pcapng file of the MP <-> backend traffic (taken as the runbook says,
    C(tcpdump -i any -s 0 host <IP> -w <file>), or by C(labctl capture) in the lab) with C(tshark), Wireshark's own
    dissector, and returns per TLS connection the ClientHello, the server's CertificateRequest (certificate types,
    signature algorithms, the Distinguished Names the backend accepts), the client's Certificate message with its
    length (C(Certificate Length 0) is the runbook's cause), and each alert with who sent it.
  - TLS 1.2 handshakes are in clear. In TLS 1.3 the CertificateRequest and the client's Certificate are encrypted;
    give O(keylog) (the handshake's key log, C(SSLKEYLOGFILE) format) to read them, otherwise the connection is marked
    C(encrypted) and nothing is guessed.
  - Runs where the file is (C(delegate_to) the host that captured). Feed the result to M(mtls_report_evidence) to
    join it to the report's links and cross-check the verdicts.
options:
  path:
    description: The capture file (pcap or pcapng).
    type: path
    required: true
  keylog:
    description: A TLS key log file for TLS 1.3 connections (C(SSLKEYLOGFILE) format).
    type: path
  tshark:
    description: The tshark program (found on C(PATH) by default).
    type: path
  settle:
    description:
      - Seconds the file must not grow before it is read, so that a capture still running (C(labctl capture),
        a C(tcpdump) left on) has written its last packets; C(0) reads at once.
    type: float
    default: 1.0
requirements:
  - tshark (Debian package C(tshark)) on the host that holds the file
extends_documentation_fragment:
  - attributes.info_module
seealso:
  - module: mtls_report_evidence
  - module: apigee_trace
"""

EXAMPLES = r"""
- name: Read the capture taken on the backend
  mtls_capture_read:
    path: /tmp/mp-backend.pcapng
  delegate_to: backend1.example.internal
  register: capture
"""

RETURN = r"""
file:
  description: The capture file read.
  returned: success
  type: str
  sample: /tmp/mp-backend.pcapng
connections:
  description: One entry per TLS connection (TCP stream with a ClientHello), in the order they started.
  returned: success
  type: list
  elements: dict
  contains:
    client:
      description: The client's address and port.
      type: str
    server:
      description: The server's address and port.
      type: str
    version:
      description: The negotiated TLS version (from the ServerHello).
      type: str
    certificate_request:
      description: The server's CertificateRequest (certificate_types, signature_algorithms, distinguished_names).
      type: dict
      sample:
        certificate_types: ["RSA Sign (1)"]
        signature_algorithms: ["rsa_pkcs1_sha256 (0x0401)"]
        distinguished_names: ["id-at-commonName=MyCompany Root CA,id-at-organizationName=MyCompany"]
    client_certificate:
      description: The client's Certificate message (certificates_length, certificates, sent).
      type: dict
      sample: {certificates_length: 0, certificates: 0, sent: false}
    alerts:
      description: The alerts, each with C(from) (client or server), level and description.
      type: list
      elements: dict
      sample: [{from: server, level: Fatal, description: Bad Certificate}]
    encrypted:
      description: TLS 1.3 without a key log, the handshake after the ServerHello was not readable.
      type: bool
  sample:
    - client: "10.1.2.3:53210"
      server: "10.9.8.7:8443"
      version: TLSv1.2
      certificate_request:
        certificate_types: ["RSA Sign (1)", "ECDSA Sign (64)"]
        distinguished_names: ["id-at-commonName=MyCompany Root CA,id-at-organizationName=MyCompany"]
      client_certificate: {certificates_length: 0, certificates: 0, sent: false}
      alerts: [{from: server, level: Fatal, description: Bad Certificate}]
      encrypted: false
"""

from ansible.module_utils.mtls.capture import read_capture
from ansible.module_utils.mtls.module_ansible import MtlsModule


def main():
    module = MtlsModule({"path": {"type": "path", "required": True}, "keylog": {"type": "path"},
                         "tshark": {"type": "path"}, "settle": {"type": "float", "default": 1.0}})

    def work(p):
        return {"file": p["path"], "connections": read_capture(p["path"], keylog=p["keylog"], tshark=p["tshark"],
                                                                quiet=p["settle"])}

    module.run(work)


if __name__ == "__main__":
    main()
