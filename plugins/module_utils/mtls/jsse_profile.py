"""The Message Processor's Java: what a JSSE client of that Java release does differently when it picks a certificate.

A profile holds only what changes the client's choice or its handshake, each with its source:

* ``default_protocols``: the TLS versions a client ``SSLContext("TLS")`` enables when the link's ``SSLInfo
  <Protocols>`` is empty. JDK 8u261 backported TLS 1.3 "disabled for default SSLContext ... for client end-point"
  (release note JDK-8245485); JDK 11 and 17 enable TLS 1.3 and 1.2 on clients (JEP 332, JDK-8206170). TLS 1.0/1.1 are in
  ``jdk.tls.disabledAlgorithms`` of all three (JDK-8202343: 8u291, 11.0.11, 16).
* ``eddsa``: whether the ``ed25519``/``ed448`` signature schemes exist (JEP 339, JDK 15). Without them an EdDSA key is
  never offered and an Ed25519-signed chain is refused by the PKIX key manager.
* ``sha1_handshake_signatures``: whether ``rsa_pkcs1_sha1``/``ecdsa_sha1``/``dsa_sha1`` may sign a TLS 1.2
  CertificateVerify. Allowed by the defaults of 8, 11 and 17.0.15 (its ``java.security`` lists no
  ``usage HandshakeSignature`` entry; measured in ``tests/interop/test_jsse_key_types.py``). Later updates that add
  ``rsa_pkcs1_sha1 usage HandshakeSignature, ecdsa_sha1 usage HandshakeSignature, dsa_sha1 usage HandshakeSignature``
  to ``jdk.tls.disabledAlgorithms`` (JDK-8340321) are the ``17-sha1-off`` profile.
* the PKIX key manager's ``jdk.certpath.disabledAlgorithms`` key sizes (``RSA keySize < 1024, DSA keySize < 1024,
  EC keySize < 224`` in 8u, 11 and 17's ``java.security``) are the same in every profile:
  ``certcore.CERTPATH_KEY_LIMITS``.

Everything else the model uses (the key managers, ``CertificateRequest.choosePossession``, the curve binding of ECDSA
schemes, RSA minimal key sizes) is the same code in 8u261+ (the TLS 1.3 backport brought JDK 11's JSSE), 11 and 17.
"""
from __future__ import annotations

from dataclasses import dataclass

from ansible.module_utils.mtls.errors import MtlsError


@dataclass(frozen=True)
class JsseProfile:
    java: str
    default_protocols: tuple = ("TLSv1.3", "TLSv1.2")
    eddsa: bool = True
    sha1_handshake_signatures: bool = True
    disabled_protocols: tuple = ("SSLv3", "TLSv1", "TLSv1.1")

    def usable_protocols(self, requested) -> list[str]:
        """The TLS versions this client may negotiate for a link's <Protocols> (empty: the defaults), highest first."""
        wanted = [p for p in (requested or self.default_protocols) if p not in self.disabled_protocols]
        order = ("TLSv1.3", "TLSv1.2")
        return [p for p in order if p in wanted]


# the names SSLSocket.setEnabledProtocols takes (ProtocolVersion's names, compared exactly: "tlsv1.2", "TLSv1.0" or
# "TLS1.2" throw IllegalArgumentException "Unsupported protocol"; measured with JDK 17.0.15 in
# tests/interop/test_cipher_suites.py). SSLv2Hello is a ClientHello format, never a version of its own.
JSSE_PROTOCOL_NAMES = ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1", "SSLv3", "SSLv2Hello")

PROFILES = {
    "17": JsseProfile("17"),
    "17-sha1-off": JsseProfile("17-sha1-off", sha1_handshake_signatures=False),
    "11": JsseProfile("11", eddsa=False),
    "8": JsseProfile("8", default_protocols=("TLSv1.2",), eddsa=False),
}
DEFAULT = "17"


def profile(name=None) -> JsseProfile:
    """The profile for a Java release name ("8", "11", "17", "17-sha1-off"; also "1.8"), default 17."""
    if isinstance(name, JsseProfile):
        return name
    key = str(name or DEFAULT).strip()
    key = {"1.8": "8", "8u": "8", "11u": "11", "17u": "17"}.get(key, key)
    if key not in PROFILES:
        raise MtlsError("unknown MP Java profile %r (use one of %s)" % (name, ", ".join(sorted(PROFILES))))
    return PROFILES[key]
