"""The server's CertificateRequest, read from its bytes: what the runbook reads in Wireshark (message 7).

TLS 1.2 (RFC 5246 7.4.4): ``certificate_types``, ``supported_signature_algorithms`` and ``certificate_authorities``.
TLS 1.3 (RFC 8446 4.3.2): a context and extensions: ``signature_algorithms`` (13), ``signature_algorithms_cert`` (50)
and ``certificate_authorities`` (47). The probe gets the plaintext message from OpenSSL's message callback (TLS 1.3
handshake messages are encrypted on the wire but handed to the callback in clear). Pure: bytes in, plain data out.
"""
from __future__ import annotations

from ansible.module_utils.mtls import jsse_profile
from ansible.module_utils.mtls.errors import MtlsError

HANDSHAKE_CERTIFICATE_REQUEST = 13

# ClientCertificateType (RFC 5246, RFC 8422) -> name, and the key type JSSE derives from it (ClientCertificateType)
CERTIFICATE_TYPES = {1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh", 64: "ecdsa_sign",
                     65: "rsa_fixed_ecdh", 66: "ecdsa_fixed_ecdh"}

# SignatureScheme (RFC 8446 4.2.3 and the TLS 1.2 hash/signature pairs) -> name as JSSE spells it
SIGNATURE_SCHEMES = {
    0x0201: "rsa_pkcs1_sha1", 0x0202: "dsa_sha1", 0x0203: "ecdsa_sha1",
    0x0301: "rsa_sha224", 0x0302: "dsa_sha224", 0x0303: "ecdsa_sha224",
    0x0401: "rsa_pkcs1_sha256", 0x0402: "dsa_sha256", 0x0403: "ecdsa_secp256r1_sha256",
    0x0501: "rsa_pkcs1_sha384", 0x0503: "ecdsa_secp384r1_sha384",
    0x0601: "rsa_pkcs1_sha512", 0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519", 0x0808: "ed448",
    0x0809: "rsa_pss_pss_sha256", 0x080A: "rsa_pss_pss_sha384", 0x080B: "rsa_pss_pss_sha512",
}
EXT_SIGNATURE_ALGORITHMS = 13
EXT_CERTIFICATE_AUTHORITIES = 47
EXT_SIGNATURE_ALGORITHMS_CERT = 50


class _Reader:
    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MtlsError("truncated %s (needs %d more bytes at offset %d)" % (self.what, n, self.pos))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.uint(length_bytes))

    def done(self) -> bool:
        return self.pos >= len(self.data)


def scheme_name(code: int) -> str:
    return SIGNATURE_SCHEMES.get(code, "unknown_0x%04x" % code)


def _schemes(data: bytes, what: str) -> list[str]:
    r = _Reader(data, what)
    body = _Reader(r.vector(2), what)
    out = []
    while not body.done():
        out.append(scheme_name(body.uint(2)))
    return out


def _authorities(data: bytes, what: str) -> list[bytes]:
    r = _Reader(data, what)
    out = []
    while not r.done():
        out.append(r.vector(2))
    return out


def parse(message: bytes, tls_version: str) -> dict:
    """A CertificateRequest handshake message (type 13, with its 4-byte header) -> {"tls_version",
    "certificate_types" (TLS 1.2), "signature_algorithms", "signature_algorithms_cert" (TLS 1.3, when sent),
    "certificate_authorities" (DER names, in the server's order)}."""
    r = _Reader(message, "CertificateRequest")
    if r.uint(1) != HANDSHAKE_CERTIFICATE_REQUEST:
        raise MtlsError("not a CertificateRequest handshake message")
    body = _Reader(r.vector(3), "CertificateRequest")
    out = {"tls_version": tls_version, "certificate_types": [], "signature_algorithms": [],
           "signature_algorithms_cert": None, "certificate_authorities": []}
    if tls_version == "TLSv1.3":
        body.vector(1)  # certificate_request_context
        exts = _Reader(body.vector(2), "CertificateRequest extensions")
        while not exts.done():
            ext_type, ext = exts.uint(2), exts.vector(2)
            if ext_type == EXT_SIGNATURE_ALGORITHMS:
                out["signature_algorithms"] = _schemes(ext, "signature_algorithms")
            elif ext_type == EXT_SIGNATURE_ALGORITHMS_CERT:
                out["signature_algorithms_cert"] = _schemes(ext, "signature_algorithms_cert")
            elif ext_type == EXT_CERTIFICATE_AUTHORITIES:
                out["certificate_authorities"] = _authorities(_Reader(ext, "certificate_authorities").vector(2),
                                                              "certificate_authorities")
        return out
    out["certificate_types"] = [CERTIFICATE_TYPES.get(t, "unknown_%d" % t) for t in body.vector(1)]
    schemes = _Reader(body.vector(2), "supported_signature_algorithms")
    while not schemes.done():
        out["signature_algorithms"].append(scheme_name(schemes.uint(2)))
    out["certificate_authorities"] = _authorities(body.vector(2), "certificate_authorities")
    return out


# ---------------------------------------------------------------------------------- what JSSE does with the request
# OpenJDK 17 (sun/security/ssl/SignatureScheme.java): the signature schemes JSSE knows, the key algorithm each one
# signs with, whether it may be used in TLS 1.3 for certificates (supportedProtocols) and for a TLS 1.3
# CertificateVerify (handshakeSupportedProtocols: never rsa_pkcs1_*, DSA or SHA-224; ecdsa_sha1 is PROTOCOLS_TO_13 for
# both), the curve an ECDSA scheme is bound to, and the minimal RSA key size (hash length + salt length + 16 for PSS).
_J = {  # name: (key algorithm, usable in TLS 1.3, usable for a TLS 1.3 CertificateVerify, EC curve, minimal key size)
    "ed25519": ("EdDSA", True, True, None, None), "ed448": ("EdDSA", True, True, None, None),
    "ecdsa_secp256r1_sha256": ("EC", True, True, "secp256r1", None),
    "ecdsa_secp384r1_sha384": ("EC", True, True, "secp384r1", None),
    "ecdsa_secp521r1_sha512": ("EC", True, True, "secp521r1", None),
    "ecdsa_sha224": ("EC", False, False, None, None), "ecdsa_sha1": ("EC", True, True, None, None),
    "rsa_pss_rsae_sha256": ("RSA", True, True, None, 528), "rsa_pss_rsae_sha384": ("RSA", True, True, None, 784),
    "rsa_pss_rsae_sha512": ("RSA", True, True, None, 1040),
    "rsa_pss_pss_sha256": ("RSASSA-PSS", True, True, None, 528),
    "rsa_pss_pss_sha384": ("RSASSA-PSS", True, True, None, 784),
    "rsa_pss_pss_sha512": ("RSASSA-PSS", True, True, None, 1040),
    "rsa_pkcs1_sha256": ("RSA", True, False, None, 511), "rsa_pkcs1_sha384": ("RSA", True, False, None, 768),
    "rsa_pkcs1_sha512": ("RSA", True, False, None, 768),
    "rsa_sha224": ("RSA", False, False, None, 511), "rsa_pkcs1_sha1": ("RSA", True, False, None, 511),
    "dsa_sha256": ("DSA", False, False, None, None), "dsa_sha224": ("DSA", False, False, None, None),
    "dsa_sha1": ("DSA", False, False, None, None),
}
_SHA1_SCHEMES = ("rsa_pkcs1_sha1", "ecdsa_sha1", "dsa_sha1")
# CertificateRequest.ClientCertificateType.keyAlgorithm (TLS 1.2 certificate_types)
_CR_KEY_TYPES = {"rsa_sign": ("RSA", "RSASSA-PSS"), "dss_sign": ("DSA",), "ecdsa_sign": ("EC", "EdDSA")}
# The named groups a JSSE 17 client offers by default that an EC client key can be on (X509Authentication checks the
# key's curve against the groups the client requested)
JSSE_EC_CURVES = ("secp256r1", "secp384r1", "secp521r1")


def _known(name, prof) -> bool:
    return name in _J and (prof.eddsa or _J[name][0] != "EdDSA")


def _cert_schemes(req: dict, prof) -> list[str]:
    tls13 = req.get("tls_version") == "TLSv1.3"
    names = req.get("signature_algorithms_cert") if tls13 and req.get("signature_algorithms_cert") else \
        req.get("signature_algorithms") or []
    return [n for n in names if _known(n, prof) and (_J[n][1] or not tls13)]


def _handshake_schemes(req: dict, prof) -> list[str]:
    tls13 = req.get("tls_version") == "TLSv1.3"
    return [n for n in req.get("signature_algorithms") or [] if _known(n, prof) and (_J[n][2] or not tls13)
            and (prof.sha1_handshake_signatures or n not in _SHA1_SCHEMES)]


def jsse_key_types(req: dict, java=None) -> list[str]:
    """The key types a JSSE client (profile ``java``, default 17) asks its key manager for, in order, after this
    CertificateRequest.

    ``choosePossession`` (CertificateRequest.T12CertificateRequestConsumer; the TLS 1.3 client does the same without
    certificate_types): each distinct key algorithm of the server's (certificate) signature schemes, in the server's
    order, for which a CertificateVerify scheme exists in the server's signature_algorithms for this TLS version; in
    TLS 1.2 only those the certificate_types allow (rsa_sign also allows RSASSA-PSS; ecdsa_sign also EdDSA)."""
    prof = jsse_profile.profile(java)
    tls13 = req.get("tls_version") == "TLSv1.3"
    allowed = None
    if not tls13:
        allowed = {k for t in req.get("certificate_types") or [] for k in _CR_KEY_TYPES.get(t, ())}
    handshake_keys = {_J[n][0] for n in _handshake_schemes(req, prof)}
    out = []
    for name in _cert_schemes(req, prof):
        key = _J[name][0]
        if key in out or key not in handshake_keys or (allowed is not None and key not in allowed):
            continue
        out.append(key)
    return out


def certificate_verify_scheme(req: dict, key_algorithm: str, curve: str | None = None, key_size: int | None = None,
                              java=None) -> str | None:
    """The scheme JSSE would sign its CertificateVerify with for this key, or None: the MP then sends its certificate
    and aborts the handshake itself ("No supported CertificateVerify signature algorithm").

    SignatureScheme.getSignerOfPreferableAlgorithm: the first of the server's schemes for the key's algorithm whose
    minimal key size the (RSA) key reaches and, for an ECDSA scheme, whose curve is the key's."""
    prof = jsse_profile.profile(java)
    for name in _handshake_schemes(req, prof):
        key, _, _, bound, minimal = _J[name]
        if key != key_algorithm or (bound is not None and curve is not None and bound != curve):
            continue
        if minimal is not None and key_size is not None and key_size < minimal:
            continue
        return name
    return None


def key_label(cert) -> str:
    """How a fix names a certificate's key: the Java key algorithm, with the curve for EC ("EC secp384r1")."""
    from ansible.module_utils.mtls import certcore

    alg = certcore.java_key_algorithm(cert)
    curve = getattr(getattr(cert.public_key(), "curve", None), "name", None)
    return "%s %s" % (alg, curve) if alg == "EC" and curve else alg


def fitting_keys(req: dict, java=None) -> list[str]:
    """The keys (key_label form) a client certificate may have for this CertificateRequest: a key type JSSE offers
    and, for EC, a curve some allowed CertificateVerify scheme signs with (ECDSA schemes are curve-bound; the legacy
    unbound ones allow every curve a JSSE client offers)."""
    prof = jsse_profile.profile(java)
    out = []
    for key in jsse_key_types(req, prof):
        if key != "EC":
            out.append(key)
            continue
        for name in _handshake_schemes(req, prof):
            if _J[name][0] == "EC":
                for curve in [_J[name][3]] if _J[name][3] else JSSE_EC_CURVES:
                    if "EC %s" % curve not in out:
                        out.append("EC %s" % curve)
    return out


# SignatureScheme.algorithm: the Java signature algorithm name each scheme stands for (what the PKIX key manager's
# algorithm constraints compare a certificate's getSigAlgName() with)
_JAVA_SIGNATURE = {
    "ed25519": "Ed25519", "ed448": "Ed448",
    "ecdsa_secp256r1_sha256": "SHA256withECDSA", "ecdsa_secp384r1_sha384": "SHA384withECDSA",
    "ecdsa_secp521r1_sha512": "SHA512withECDSA", "ecdsa_sha224": "SHA224withECDSA", "ecdsa_sha1": "SHA1withECDSA",
    "rsa_pss_rsae_sha256": "RSASSA-PSS", "rsa_pss_rsae_sha384": "RSASSA-PSS", "rsa_pss_rsae_sha512": "RSASSA-PSS",
    "rsa_pss_pss_sha256": "RSASSA-PSS", "rsa_pss_pss_sha384": "RSASSA-PSS", "rsa_pss_pss_sha512": "RSASSA-PSS",
    "rsa_pkcs1_sha256": "SHA256withRSA", "rsa_pkcs1_sha384": "SHA384withRSA", "rsa_pkcs1_sha512": "SHA512withRSA",
    "rsa_sha224": "SHA224withRSA", "rsa_pkcs1_sha1": "SHA1withRSA",
    "dsa_sha256": "SHA256withDSA", "dsa_sha224": "SHA224withDSA", "dsa_sha1": "SHA1withDSA",
}


def jsse_permitted_cert_signatures(req: dict, java=None) -> list[str]:
    """The certificate signature algorithms the PKIX key manager accepts in a chain it sends (X509KeyManagerImpl
    conformsToAlgorithmConstraints with the session's peer-supported signature schemes: every certificate of the
    chain, an attached root included, must be signed with one of them)."""
    prof = jsse_profile.profile(java)
    out = []
    for name in _cert_schemes(req, prof):
        alg = _JAVA_SIGNATURE.get(name)
        if alg and alg not in out:
            out.append(alg)
    return out
