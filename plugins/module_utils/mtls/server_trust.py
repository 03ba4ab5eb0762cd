"""Whether the MP (a JSSE client) trusts the backend's certificate: its SSLInfo TrustStore, validated as JSSE does.

With a TrustStore in SSLInfo (and IgnoreValidationErrors false) the MP checks the backend's certificate chain with
JSSE's PKIX trust manager (``sun.security.ssl.X509TrustManagerImpl`` -> ``sun.security.validator.PKIXValidator``,
variant TLS server); a chain it cannot validate aborts the handshake on the MP's side ("PKIX path building failed:
unable to find valid certification path to requested target", "validity check failed", ...) and the call fails with
503 before any client certificate is sent. Without a TrustStore, or with IgnoreValidationErrors, the MP accepts the
backend's certificate unchecked.

What is modelled, from PKIXValidator.engineValidate, the PKIX builder/validator and EndEntityChecker:

- the trust anchors are every certificate the truststore holds (an anchor need not be a CA);
- a leaf that is itself in the truststore is accepted as it is (``return new X509Certificate[] {chain[0]}``: no date
  check), then the end-entity checks below;
- otherwise a path is built from the leaf through the certificates the backend sent (in any order) to an anchor: each
  issuer by name (X500Principal equality) and signature; a sent certificate equal to an anchor, or with an anchor's
  name and public key, ends the path there;
- on the path (the anchor excluded): each certificate within its validity at the time of the check; every issuer below
  the anchor a CA (basicConstraints CA:TRUE, keyCertSign when keyUsage is present) within its pathLenConstraint;
  jdk.certpath.disabledAlgorithms of Java 8u/11/17 (MD2 and MD5 signatures; RSA / DSA keys below 1024 bits and EC
  keys below 224 bits, the anchor's key included; SHA-1's "jdkCA" rule applies only to anchors of Java's own cacerts,
  never to an Apigee truststore);
- the end-entity checks for a TLS server: an extended key usage must allow serverAuth (or any, or the Netscape /
  Microsoft SGC usages); a key usage must allow digitalSignature for TLS 1.3 and (EC)DHE suites, keyEncipherment for
  RSA key exchange, keyAgreement for static ECDH.

What is not modelled is reported as not checked (``trusted`` None), never as trusted: name constraints on a path CA,
a critical extension the PKIX validator does not know, a key usage the negotiated suite does not decide, revocation
(off by default in JSSE, and Apigee does not turn it on).

Host names: Apigee's TlsInfo documentation (apigee-x.yaml, ``ignoreValidationErrors``) says that when the backend uses
SNI and returns a certificate whose name does not match the host name, "there is no way to ignore the error and the
connection fails"; when the MP would check the name otherwise is not documented. ``host_matches`` tells whether the
certificate names the host (subjectAltName DNS / IP entries, else the CN), and the rules never call a link ``ok`` whose
backend, reached with SNI, sends a certificate that does not name it.
"""
from __future__ import annotations

import ipaddress

from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.dn import dn_equal, dn_rfc4514
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

# EndEntityChecker: OIDs that permit TLS server authentication besides serverAuth and anyExtendedKeyUsage
_SGC = ("2.16.840.1.113730.4.1", "1.3.6.1.4.1.311.10.3.3")
# extensions the PKIX validator processes (a critical one it does not know makes the path invalid)
_KNOWN_CRITICAL = {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
                   ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.CERTIFICATE_POLICIES,
                   ExtensionOID.POLICY_CONSTRAINTS, ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
                   ExtensionOID.NAME_CONSTRAINTS}
_WEAK_SIGNATURE_HASHES = ("md2", "md5")


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None


def _name(cert) -> str:
    return dn_rfc4514(cert.subject)


def _same_key(a, b) -> bool:
    return certcore.spki_sha256(a) == certcore.spki_sha256(b)


def _is_anchor(cert, anchors) -> bool:
    """PKIXValidator: a certificate of the truststore, or one with an anchor's subject and public key."""
    return any(cert == a or (dn_equal(cert.subject, a.subject) and _same_key(cert, a)) for a in anchors)


def _key_too_small(cert) -> str | None:
    size = getattr(cert.public_key(), "key_size", None)
    alg = certcore.java_key_algorithm(cert)
    limit = certcore.CERTPATH_KEY_LIMITS.get(alg)
    if limit and size is not None and size < limit:
        return "%s has a %d-bit %s key, below jdk.certpath.disabledAlgorithms (%s keySize < %d)" % (
            _name(cert), size, alg, alg, limit)
    return None


def _check_path(path, anchor, at) -> tuple[bool | None, str]:
    """(valid, why) for one candidate path (leaf first, anchor excluded) ending under ``anchor``."""
    problem = _key_too_small(anchor)
    if problem:
        return False, "the trusted certificate " + problem
    for i in range(len(path) - 1, -1, -1):
        cert = path[i]
        h = cert.signature_hash_algorithm
        if h is not None and h.name in _WEAK_SIGNATURE_HASHES:
            return False, "%s is signed with %s, which jdk.certpath.disabledAlgorithms refuses" % (
                _name(cert), h.name.upper())
        problem = _key_too_small(cert)
        if problem:
            return False, problem
        status = certcore.validity_status(cert, at)
        if status == "expired":
            return False, "%s expired on %s (validity check failed)" % (
                _name(cert), cert.not_valid_after_utc.strftime("%Y-%m-%d"))
        if status == "not_yet_valid":
            return False, "%s is not valid before %s (validity check failed)" % (
                _name(cert), cert.not_valid_before_utc.strftime("%Y-%m-%d"))
        for ext in cert.extensions:
            if ext.critical and ext.oid not in _KNOWN_CRITICAL:
                return None, "%s has a critical extension %s that this model does not check" % (
                    _name(cert), ext.oid.dotted_string)
        if i > 0:   # an issuer on the path
            bc = _ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
            if bc is None or not bc.value.ca:
                return False, "%s issues %s but is not a CA certificate (basic constraints check failed)" % (
                    _name(cert), _name(path[i - 1]))
            ku = _ext(cert, ExtensionOID.KEY_USAGE)
            if ku is not None and not ku.value.key_cert_sign:
                return False, "%s issues %s but its key usage does not allow keyCertSign" % (
                    _name(cert), _name(path[i - 1]))
            # pathLenConstraint: how many non-self-issued CAs may follow it on the path (the leaf not counted)
            below = sum(1 for c in path[1:i] if not dn_equal(c.subject, c.issuer))
            if bc.value.path_length is not None and below > bc.value.path_length:
                return False, "%s allows %d CA(s) below it (pathLenConstraint), the path has %d" % (
                    _name(cert), bc.value.path_length, below)
            if _ext(cert, ExtensionOID.NAME_CONSTRAINTS) is not None:
                return None, "%s sets name constraints, which this model does not check" % _name(cert)
    if _ext(anchor, ExtensionOID.NAME_CONSTRAINTS) is not None:
        return None, "the trusted certificate %s sets name constraints, which this model does not check" % (
            _name(anchor))
    return True, ""


def _end_entity(leaf, protocol, cipher) -> tuple[bool | None, str]:
    """EndEntityChecker.checkTLSServer on the backend's leaf."""
    eku = _ext(leaf, ExtensionOID.EXTENDED_KEY_USAGE)
    if eku is not None:
        usages = {u.dotted_string for u in eku.value}
        allowed = {ExtendedKeyUsageOID.SERVER_AUTH.dotted_string,
                   ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string, *_SGC}
        if not usages & allowed:
            return False, ("the backend's certificate %s has an extended key usage without serverAuth: JSSE refuses "
                           "it (\"Extended key usage does not permit use for TLS server authentication\")" % (
                               _name(leaf)))
    ku = _ext(leaf, ExtensionOID.KEY_USAGE)
    if ku is None:
        return True, ""
    ku = ku.value
    suite = (cipher or "").upper()
    if protocol == "TLSv1.3" or "DHE" in suite:
        need, ok = "digitalSignature", ku.digital_signature
    elif suite.startswith("ECDH-"):
        need, ok = "keyAgreement", ku.key_agreement
    elif suite and not any(k in suite for k in ("DH", "PSK", "SRP")):
        need, ok = "keyEncipherment", ku.key_encipherment
    else:
        return None, ("the key usage of the backend's certificate %s was not checked against the key exchange "
                      "(suite %s not known)" % (_name(leaf), cipher or "unknown"))
    if not ok:
        return False, ("the backend's certificate %s has a key usage without %s, which %s needs: JSSE refuses it "
                       "(\"KeyUsage does not allow ...\")" % (_name(leaf), need, protocol if protocol == "TLSv1.3"
                                                              else cipher))
    return True, ""


def _paths(cert, sent, anchors, path, out, limit=64):
    """Every path from ``cert`` (path[-1]) to an anchor through the sent certificates: yields (path, anchor)."""
    if len(out) >= limit or len(path) > 10:
        return
    for anchor in anchors:
        if dn_equal(cert.issuer, anchor.subject) and certcore.signed_by(cert, anchor):
            out.append((list(path), anchor))
    for issuer in sent:
        if issuer in path or not dn_equal(cert.issuer, issuer.subject) or not certcore.signed_by(cert, issuer):
            continue
        if _is_anchor(issuer, anchors):
            out.append((list(path), next(a for a in anchors if issuer == a or (
                dn_equal(issuer.subject, a.subject) and _same_key(issuer, a)))))
            continue
        _paths(issuer, sent, anchors, path + [issuer], out, limit)


def server_trust(chain, anchors, at=None, protocol: str | None = None, cipher: str | None = None) -> dict:
    """Whether JSSE's PKIX trust manager, with ``anchors`` (the truststore's certificates) as its trust, accepts the
    backend's ``chain`` (as it sent it, leaf first): ``{"trusted": True | False | None, "reason", "path", "anchor"}``;
    None when the model could not decide (``reason`` says what was not checked)."""
    chain = list(chain or [])
    anchors = list(dict.fromkeys(anchors or []))
    if not chain:
        return {"trusted": None, "reason": "the backend's certificate was not seen", "path": [], "anchor": None}
    if not anchors:
        return {"trusted": False, "reason": "the truststore holds no certificate (JSSE: \"the trustAnchors parameter "
                                            "must be non-empty\")", "path": [], "anchor": None}
    leaf = chain[0]
    if leaf in anchors:
        ok, why = _end_entity(leaf, protocol, cipher)
        return {"trusted": ok, "reason": why or "the backend's certificate itself is in the truststore",
                "path": [leaf], "anchor": leaf}
    candidates = []
    _paths(leaf, chain[1:], anchors, [leaf], candidates)
    if not candidates:
        return {"trusted": False, "path": [], "anchor": None,
                "reason": "no certificate of the truststore issues the backend's chain: %s is issued by %s and the "
                          "truststore holds %s (PKIX path building failed: unable to find valid certification path "
                          "to requested target)" % (_name(leaf), dn_rfc4514(chain[-1].issuer) if len(chain) > 1
                                                    else dn_rfc4514(leaf.issuer),
                                                    "; ".join(sorted({_name(a) for a in anchors})))}
    failures, unknown = [], []
    for path, anchor in candidates:
        ok, why = _check_path(path, anchor, at)
        if ok:
            ok, why = _end_entity(leaf, protocol, cipher)
            if ok:
                return {"trusted": True, "reason": "issued under %s, which the truststore holds" % _name(anchor),
                        "path": path, "anchor": anchor}
        (unknown if ok is None else failures).append((why, path, anchor))
    why, path, anchor = (unknown or failures)[0]
    return {"trusted": None if unknown else False, "reason": why, "path": path, "anchor": anchor}


def host_matches(cert, host: str) -> bool:
    """Whether the certificate names ``host``: an IP address among its subjectAltName IP entries; a DNS name among its
    subjectAltName DNS entries (a wildcard standing for one left-most label), or its CN when it has no DNS entry."""
    host = (host or "").strip().rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    san = _ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if ip is not None:
        return san is not None and ip in san.value.get_values_for_type(x509.IPAddress)
    dns = [d.lower().rstrip(".") for d in san.value.get_values_for_type(x509.DNSName)] if san is not None else []
    if not dns:
        dns = [a.value.lower() for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
               if isinstance(a.value, str)]
    for name in dns:
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def jsse_sni(host: str | None) -> str | None:
    """The server name a JSSE client sends in SNI when it connects to ``host`` (Utilities.rawToSNIHostName, measured
    with JDK 17.0.15 in tests/interop/test_sni.py): one trailing dot dropped, then only a name with a dot after its
    first character that is not an IP address literal -- ``backend`` or ``localhost`` gets no SNI at all,
    ``backend.svc.`` is sent as ``backend.svc``. None: no SNI."""
    if not host:
        return None
    name = host[:-1] if host.endswith(".") else host
    if name.find(".") <= 0 or name.endswith("."):
        return None
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        return name


def sends_sni(host: str | None) -> bool:
    """Whether JSSE sends SNI for this host (jsse_sni)."""
    return jsse_sni(host) is not None
