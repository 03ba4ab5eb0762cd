"""The certificate core: plain typed functions over `cryptography` objects; no Ansible, no Apigee, no network.

Loading (PEM with junk between blocks, bundles, DER, private keys in every common form, PKCS#12), key/certificate
match, fingerprints, validity, EKU and CA checks, distinguished names in the three forms the runbook meets and
JSSE's equality (`certcore_dn`), chain building, the Message Processor's client-certificate selection model
(`jsse_select`, from OpenJDK 17's key managers) and Apigee's `certInfo` rendering.

Every error is an `MtlsError` whose message says what is wrong and where; no message ever contains key material.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ansible.module_utils.mtls.dn import (  # noqa: F401  (re-exported public API)
    detect_dn_form,
    dn_canonical,
    dn_equal,
    dn_java,
    dn_openssl,
    dn_rfc4514,
    name_from_der,
    parse_dn,
    to_name,
)
from ansible.module_utils.mtls.errors import MtlsError
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = [
    "ChainResult", "Selection", "build_chain", "cert_info", "chain_summary", "detect_dn_form", "dn_canonical",
    "dn_equal", "dn_java", "dn_openssl", "dn_rfc4514", "dump_pem", "fingerprint_sha1", "fingerprint_sha256",
    "has_client_auth_eku", "is_ca", "is_self_signed", "java_key_algorithm", "jsse_select", "key_matches_certificate",
    "load_certificates", "load_certificates_file", "load_pkcs12", "load_private_key", "name_from_der", "parse_dn",
    "basic_constraints_text", "public_key_text", "serial_colon_hex", "sig_alg_name", "signed_by", "spki_sha256",
    "to_name", "validity_status",
]

# ---------------------------------------------------------------------------------------------------- loading
# A PEM block starts with a line that begins with "-----BEGIN " (as OpenSSL's PEM reader requires): a commented-out
# block ("# -----BEGIN CERTIFICATE-----") is text between blocks, skipped, as OpenSSL skips it.
_PEM_BLOCK = re.compile(rb"^-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END ([A-Z0-9 #]+)-----",
                        re.DOTALL | re.MULTILINE)
_PEM_BEGIN = re.compile(rb"^-----BEGIN", re.MULTILINE)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}


def _as_bytes(data, what: str, source: str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise MtlsError("%s from %s must be bytes or text, got %s" % (what, source, type(data).__name__),
                    source=source)


def _pem_body(body: bytes) -> bytes:
    lines = [ln.strip() for ln in body.strip().splitlines()]
    # skip RFC 1421 headers (Proc-Type, DEK-Info) up to the blank line
    if any(b":" in ln for ln in lines):
        while lines and (b":" in lines[0] or not lines[0]):
            lines.pop(0)
    return base64.b64decode(b"".join(lines), validate=True)


def load_certificates(data, source: str = "<input>") -> list[x509.Certificate]:
    """All certificates in PEM (one or a bundle; text between blocks is ignored) or DER (one or concatenated).

    Raises MtlsError for empty input, no certificate, a malformed block (names the block number and the source).
    """
    raw = _as_bytes(data, "certificate data", source)
    if not raw.strip():
        raise MtlsError("no certificate data in %s (empty input)" % source, source=source)
    if b"-----BEGIN" in raw:
        certs, number = [], 0
        begins = len(_PEM_BEGIN.findall(raw))
        blocks = list(_PEM_BLOCK.finditer(raw))
        if len(blocks) != begins:
            raise MtlsError("unterminated PEM block in %s (a -----BEGIN line has no matching -----END line)"
                            % source, source=source)
        for m in blocks:
            label = m.group(1)
            if label not in _CERT_LABELS:
                continue
            number += 1
            line = raw.count(b"\n", 0, m.start()) + 1
            where = "certificate block #%d (line %d) in %s" % (number, line, source)
            if m.group(3) != label:
                raise MtlsError("%s: BEGIN %s does not match END %s" % (where, label.decode(), m.group(3).decode()),
                                source=source, block=number)
            try:
                der = _pem_body(m.group(2))
            except (binascii.Error, ValueError) as exc:
                raise MtlsError("%s is not valid base64: %s" % (where, exc), source=source, block=number) from exc
            try:
                cert = x509.load_der_x509_certificate(der)
                cert.subject  # noqa: B018  (force the name to be parsed now)
                cert.issuer  # noqa: B018
            except ValueError as exc:
                raise MtlsError("%s is not a valid X.509 certificate: %s" % (where, exc), source=source,
                                block=number) from exc
            certs.append(cert)
        if not certs:
            labels = sorted({m.group(1).decode() for m in blocks})
            raise MtlsError("no CERTIFICATE block in %s (found: %s)" % (source, ", ".join(labels) or "none"),
                            source=source)
        return certs
    # DER: one or more concatenated certificates
    certs, pos, number = [], 0, 0
    while pos < len(raw):
        number += 1
        if raw[pos] != 0x30 or pos + 2 > len(raw):
            raise MtlsError("%s is neither PEM nor DER (DER certificate #%d at byte %d does not start with a "
                            "SEQUENCE)" % (source, number, pos), source=source, block=number)
        length, hdr = raw[pos + 1], 2
        if length & 0x80:
            n = length & 0x7F
            length, hdr = int.from_bytes(raw[pos + 2:pos + 2 + n], "big"), 2 + n
        end = pos + hdr + length
        if end > len(raw):
            raise MtlsError("DER certificate #%d in %s is truncated" % (number, source), source=source, block=number)
        try:
            certs.append(x509.load_der_x509_certificate(raw[pos:end]))
        except ValueError as exc:
            raise MtlsError("DER certificate #%d in %s is not a valid X.509 certificate: %s" % (number, source, exc),
                            source=source, block=number) from exc
        pos = end
    return certs


def load_certificates_file(path) -> list[x509.Certificate]:
    """load_certificates() of a file; the error names the file."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise MtlsError("cannot read certificate file %s: %s" % (path, exc.strerror or exc), source=str(path)) from exc
    return load_certificates(data, source=str(path))


def _password(password) -> bytes | None:
    if password is None or password == "" or password == b"":
        return None
    if isinstance(password, str):
        return password.encode("utf-8")
    return bytes(password)


_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY", b"DSA PRIVATE KEY"}


def load_private_key(data, password=None, source: str = "<input>"):
    """A private key from PEM (PKCS#1, PKCS#8, SEC1; encrypted or not; junk around the block ignored) or DER.

    Missing or wrong password -> MtlsError that says so. The key itself never appears in any message.
    """
    raw = _as_bytes(data, "private key data", source)
    pw = _password(password)
    if not raw.strip():
        raise MtlsError("no private key data in %s (empty input)" % source, source=source)
    if b"-----BEGIN" in raw:
        blocks = [m for m in _PEM_BLOCK.finditer(raw) if m.group(1) in _KEY_LABELS]
        if not blocks:
            raise MtlsError("no PRIVATE KEY block in %s" % source, source=source)
        if len(blocks) > 1:
            raise MtlsError("%s holds %d private keys; give exactly one" % (source, len(blocks)), source=source)
        m = blocks[0]
        pem = m.group(0)
        encrypted = m.group(1) == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in m.group(2)
        loader = serialization.load_pem_private_key
        data_in = pem
    else:
        encrypted = None  # unknown until we try
        loader = serialization.load_der_private_key
        data_in = raw
    if encrypted and pw is None:
        raise MtlsError("the private key in %s is encrypted and no password was given" % source, source=source)
    try:
        return loader(data_in, password=pw if encrypted is not False else None)
    except TypeError as exc:
        text = str(exc).lower()
        if "not encrypted" in text:
            # a password was given for a clear key: accept the key, the password is simply unused
            return loader(data_in, password=None)
        if "encrypted" in text:
            raise MtlsError("the private key in %s is encrypted and no password was given" % source,
                            source=source) from None
        raise MtlsError("cannot load the private key in %s: unsupported key format" % source, source=source) from None
    except ValueError:
        if pw is not None and encrypted is not False:
            raise MtlsError("cannot decrypt the private key in %s: wrong password (or corrupt key)" % source,
                            source=source) from None
        raise MtlsError("the data in %s is not a valid private key (PKCS#1, PKCS#8 or SEC1, PEM or DER)" % source,
                        source=source) from None
    except UnsupportedAlgorithm:
        raise MtlsError("the private key in %s uses an unsupported algorithm or cipher" % source,
                        source=source) from None


def load_pkcs12(data, password, source: str = "<input>"):
    """(key, certificate, [additional certificates]) from a PKCS#12 file. Wrong password -> MtlsError saying so."""
    raw = _as_bytes(data, "PKCS#12 data", source)
    if not raw:
        raise MtlsError("no PKCS#12 data in %s (empty input)" % source, source=source)
    pw = _password(password)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(raw, pw)
    except ValueError:
        if raw[:1] != b"\x30":
            raise MtlsError("%s is not a PKCS#12 file" % source, source=source) from None
        raise MtlsError("cannot open the PKCS#12 file %s: wrong password or not a PKCS#12 file" % source,
                        source=source) from None
    except (TypeError, UnsupportedAlgorithm):
        raise MtlsError("cannot open the PKCS#12 file %s: unsupported or corrupt content" % source,
                        source=source) from None
    return key, cert, list(extra or [])


def dump_pem(certs) -> str:
    """The certificates as one PEM text, in the given order."""
    if isinstance(certs, x509.Certificate):
        certs = [certs]
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


def _spki(pub) -> bytes:
    return pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_certificate(key, cert: x509.Certificate) -> bool:
    """True when the private key is the one for the certificate's public key."""
    try:
        return _spki(key.public_key()) == _spki(cert.public_key())
    except (AttributeError, ValueError, UnsupportedAlgorithm):
        return False


# ---------------------------------------------------------------------------------------------------- facts
def _colon_hex(data: bytes, upper: bool = True) -> str:
    text = data.hex()
    text = text.upper() if upper else text
    return ":".join(text[i:i + 2] for i in range(0, len(text), 2))


@functools.lru_cache(maxsize=8192)
def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, ``AB:CD:...`` (what `openssl x509 -fingerprint -sha256` prints); once per
    distinct certificate (x509.Certificate hashes and compares by its DER)."""
    return _colon_hex(cert.fingerprint(hashes.SHA256()))


def fingerprint_sha1(cert: x509.Certificate) -> str:
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - a fingerprint, not a signature


def spki_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the SubjectPublicKeyInfo (same key -> same value across re-issued certificates)."""
    return _colon_hex(hashlib.sha256(_spki(cert.public_key())).digest())


def _utc(at: _dt.datetime | None) -> _dt.datetime:
    if at is None:
        return _dt.datetime.now(_dt.UTC)
    if at.tzinfo is None:
        return at.replace(tzinfo=_dt.UTC)
    return at


def validity_status(cert: x509.Certificate, at: _dt.datetime | None = None) -> str:
    """"valid", "expired" or "not_yet_valid" at the given time (default now; naive times are UTC)."""
    now = _utc(at)
    if now < cert.not_valid_before_utc:
        return "not_yet_valid"
    if now > cert.not_valid_after_utc:
        return "expired"
    return "valid"


def _ext(cert: x509.Certificate, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def has_client_auth_eku(cert: x509.Certificate) -> bool:
    """True when there is no EKU extension, or it lists clientAuth or anyExtendedKeyUsage."""
    eku = _ext(cert, x509.ExtendedKeyUsage)
    if eku is None:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku


def is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints CA:TRUE."""
    bc = _ext(cert, x509.BasicConstraints)
    return bool(bc and bc.ca)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when issuer's public key verifies cert's signature (names are not looked at)."""
    return _signed_by(cert, issuer)


# the same (certificate, issuer) pairs come back for every link that shares a keystore: each is verified once
# (x509.Certificate hashes and compares by its DER)
@functools.lru_cache(maxsize=8192)
def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    pub = issuer.public_key()
    sig, tbs, h = cert.signature, cert.tbs_certificate_bytes, cert.signature_hash_algorithm
    try:
        if isinstance(pub, rsa.RSAPublicKey):
            params = cert.signature_algorithm_parameters
            pad = params if isinstance(params, padding.PSS | padding.PKCS1v15) else padding.PKCS1v15()
            pub.verify(sig, tbs, pad, h)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, tbs, ec.ECDSA(h))
        elif isinstance(pub, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            pub.verify(sig, tbs)
        elif isinstance(pub, dsa.DSAPublicKey):
            pub.verify(sig, tbs, h)
        else:
            return False
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def is_self_signed(cert: x509.Certificate) -> bool:
    """Subject equals issuer (JSSE equality) and the certificate's own key verifies its signature."""
    return dn_equal(cert.subject, cert.issuer) and signed_by(cert, cert)


# ---------------------------------------------------------------------------------------------------- chains
@dataclass
class ChainResult:
    path: list = field(default_factory=list)  # leaf first
    complete: bool = False  # ends in a self-signed root
    missing_issuer: str | None = None  # RFC 4514 DN of the issuer that was not found
    unused: list = field(default_factory=list)


def _key_id(cert, cls, attr):
    ext = _ext(cert, cls)
    return getattr(ext, attr, None) if ext is not None else None


@functools.lru_cache(maxsize=8192)
def _fp(cert) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def build_chain(leaf: x509.Certificate, bag: Iterable[x509.Certificate]) -> ChainResult:
    """Order leaf -> intermediates -> root from an unordered bag (duplicates and unrelated certificates allowed).

    An issuer candidate must have a subject equal (JSSE DN equality) to the current certificate's issuer and must
    verify its signature; among several, one whose SKI equals the current AKI key id is preferred.
    """
    seen = {_fp(leaf)}
    pool = []
    for c in bag:
        f = _fp(c)
        if f not in seen:
            seen.add(f)
            pool.append(c)
    path, used = [leaf], set()
    current = leaf
    complete, missing = False, None
    while True:
        if is_self_signed(current):
            complete = True
            break
        aki = _key_id(current, x509.AuthorityKeyIdentifier, "key_identifier")
        candidates = [(i, c) for i, c in enumerate(pool) if i not in used and dn_equal(c.subject, current.issuer)]
        candidates.sort(key=lambda ic: 0 if aki and _key_id(ic[1], x509.SubjectKeyIdentifier, "digest") == aki else 1)
        nxt = next(((i, c) for i, c in candidates if signed_by(current, c)), None)
        if nxt is None:
            missing = dn_rfc4514(current.issuer)
            break
        used.add(nxt[0])
        path.append(nxt[1])
        current = nxt[1]
    return ChainResult(path=path, complete=complete, missing_issuer=missing,
                       unused=[c for i, c in enumerate(pool) if i not in used])


# ---------------------------------------------------------------------------------------------------- JSSE model
@dataclass
class Selection:
    sent: bool
    matched_index: int | None = None  # chain index of the certificate whose issuer matched
    matched_issuer: str | None = None  # RFC 4514 of the acceptable DN that matched
    reason: str = ""
    rank: str | None = None  # PKIX only: "ok" | "expired" | "extension_mismatch"


def java_key_algorithm(cert: x509.Certificate) -> str:
    """`cert.getPublicKey().getAlgorithm()` as OpenJDK 17 names it."""
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        oid = cert.public_key_algorithm_oid.dotted_string if hasattr(cert, "public_key_algorithm_oid") else ""
        return "RSASSA-PSS" if oid == "1.2.840.113549.1.1.10" else "RSA"
    if isinstance(pub, ec.EllipticCurvePublicKey):
        return "EC"
    if isinstance(pub, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return "EdDSA"
    if isinstance(pub, dsa.DSAPublicKey):
        return "DSA"
    return type(pub).__name__


def _key_type_matches(key_type: str, chain: list[x509.Certificate]) -> bool:
    """X509KeyManagerImpl.KeyType.matches / SunX509KeyManagerImpl.getAliases key checks ("RSA", "EC_EC", ...)."""
    key_alg, _, sig_alg = key_type.partition("_")
    if java_key_algorithm(chain[0]) != key_alg:
        return False
    if not sig_alg:
        return True
    if len(chain) > 1:
        return java_key_algorithm(chain[1]) == sig_alg
    return ("WITH" + sig_alg.upper()) in sig_alg_name(chain[0]).upper()


def _ku_ok_for_client(cert: x509.Certificate) -> bool:
    """CheckType.CLIENT key-usage part: RSA/EC/DSA client keys need digitalSignature (DH needs keyAgreement)."""
    ku = _ext(cert, x509.KeyUsage)
    if ku is None:
        return True
    alg = java_key_algorithm(cert)
    if alg in ("RSA", "EC", "DSA"):
        return ku.digital_signature
    return True


def _pkix_check(cert: x509.Certificate, at) -> str:
    """X509KeyManagerImpl.CheckType.CLIENT.check: extensions first (EKU, key usage), then the date."""
    if not has_client_auth_eku(cert) or not _ku_ok_for_client(cert):
        return "extension_mismatch"
    if validity_status(cert, at) != "valid":
        return "expired"
    return "ok"


# jdk.certpath.disabledAlgorithms key sizes, the same in 8u, 11 and 17 (java.security): RSA/DSA keySize < 1024,
# EC keySize < 224
CERTPATH_KEY_LIMITS = {"RSA": 1024, "RSASSA-PSS": 1024, "DSA": 1024, "EC": 224}


def pkix_constraint_failure(chain, cert_signatures) -> str | None:
    """Why X509KeyManagerImpl's algorithm constraints refuse the chain (every certificate, root included, signed with
    an algorithm the server accepts; keys not below jdk.certpath.disabledAlgorithms' sizes), or None."""
    for cert in chain:
        alg = sig_alg_name(cert)
        if cert_signatures is not None and alg not in cert_signatures:
            return ("%s is signed with %s, which the server does not accept for certificates (it accepts %s): the PKIX "
                    "key manager skips the chain" % (dn_rfc4514(cert.subject), alg, ", ".join(cert_signatures) or
                                                      "none"))
        pub = cert.public_key()
        size = getattr(pub, "key_size", None)
        limit = CERTPATH_KEY_LIMITS.get(java_key_algorithm(cert))
        if limit and size is not None and size < limit:
            return ("%s has a %d-bit %s key, below jdk.certpath.disabledAlgorithms (%s keySize < %d): the PKIX key "
                    "manager skips the chain" % (dn_rfc4514(cert.subject), size, java_key_algorithm(cert),
                                                 java_key_algorithm(cert), limit))
    return None


def jsse_select(chain, acceptable_cas, key_manager: str = "SunX509", key_types: list[str] | None = None,
                at: _dt.datetime | None = None, cert_signatures: list[str] | None = None) -> Selection:
    """Predict whether the Message Processor (a JSSE client) sends this stored chain to a server asking for one.

    chain: the keystore alias' chain as stored (leaf first). acceptable_cas: the DNs in the server's
    CertificateRequest (x509.Name, DER bytes or DN text); empty = the server named none. key_types: the key
    types JSSE asks for (from the server's signature schemes / certificate types), e.g. ["RSA"], ["EC"],
    ["EC_EC"]; None = any key type the chain has.

    Modelled on OpenJDK 17:
    * SunX509 (`sun.security.ssl.SunX509KeyManagerImpl`): chooseClientAlias() tries each key type in order and
      takes getClientAliases(keyType, issuers)[0]; getAliases() skips a chain whose certs[0] key algorithm is not
      the key type (and, for "KEY_SIG", whose certs[1] key / certs[0] sigAlgName does not match), accepts every
      chain when issuers is empty, else accepts the chain when `credentials.getIssuerX500Principals()` (the issuers
      of ALL certificates in the chain) contains one of the issuers, looping over the server's list in order.
      No date or extension check.
    * PKIX (`sun.security.ssl.X509KeyManagerImpl`): chooseAlias() -> getAliases(): skips a chain unless a KeyType
      matches (same rule), then, when the issuer set is not empty, walks the chain leaf first and accepts it when
      `issuerSet.contains(cert.getIssuerX500Principal())` for some certificate; then CheckType.CLIENT.check()
      (EKU must contain clientAuth or anyExtendedKeyUsage if present; key usage digitalSignature for RSA/EC;
      then checkValidity) gives OK / EXTENSION_MISMATCH / EXPIRED. A non-OK chain is still chosen when it is the
      only candidate (allResults sorted, first one returned): it is sent, ranked lower.
    Equality is `X500Principal.equals` (dn_equal). PKIX also applies algorithm constraints to every certificate of
    the chain (cert_signatures: the Java signature algorithms the server accepts, see
    certificate_request.jsse_permitted_cert_signatures; None = not known, only the key-size limits apply).
    """
    chain = list(chain or [])
    km = key_manager.replace("-", "").upper()
    if km not in ("SUNX509", "PKIX", "NEWSUNX509"):
        raise MtlsError("unknown key manager %r (SunX509 or PKIX)" % key_manager)
    pkix = km != "SUNX509"
    if not chain:
        return Selection(False, reason="the keystore alias holds no certificate: nothing to send")
    have = java_key_algorithm(chain[0])
    if key_types is not None:
        if not any(_key_type_matches(kt, chain) for kt in key_types):
            return Selection(False, reason="the certificate's %s key does not fit the key types the server asked for "
                                           "(%s)" % (have, ", ".join(key_types) or "none"))
    if pkix:
        refused = pkix_constraint_failure(chain, cert_signatures)
        if refused:
            return Selection(False, reason=refused)
    rank = _pkix_check(chain[0], at) if pkix else None
    cas = [to_name(a) for a in (acceptable_cas or [])]
    if not cas:
        return Selection(True, reason="the server named no acceptable CAs: any chain is sent", rank=rank)
    issuers = [c.issuer for c in chain]
    if pkix:
        # X509KeyManagerImpl: for (cert : chain) if issuerSet.contains(cert.getIssuerX500Principal())
        for idx, iss in enumerate(issuers):
            for ca in cas:
                if dn_equal(iss, ca):
                    return Selection(True, idx, dn_rfc4514(ca), _why(idx, chain, ca), rank)
    else:
        # SunX509KeyManagerImpl: for (i : x500Issuers) if certIssuers.contains(issuers[i])
        for ca in cas:
            for idx, iss in enumerate(issuers):
                if dn_equal(iss, ca):
                    return Selection(True, idx, dn_rfc4514(ca), _why(idx, chain, ca), rank)
    plural = ("" if len(chain) == 1 else "s", "" if len(cas) == 1 else "s")
    return Selection(False, reason="no certificate in the stored chain (%d cert%s) was issued by any of the %d CA%s "
                                   "the server accepts: JSSE sends an empty Certificate message"
                                   % (len(chain), plural[0], len(cas), plural[1]))


def _why(idx: int, chain, ca) -> str:
    role = "leaf" if idx == 0 else "chain certificate #%d" % idx
    return "the issuer of the %s (%s) is acceptable to the server (%s)" % (role, dn_java(chain[idx].issuer),
                                                                           dn_rfc4514(ca))


# ---------------------------------------------------------------------------------------------------- Apigee shapes
_SIG_NAMES = {
    "1.2.840.113549.1.1.5": "SHA1withRSA", "1.2.840.113549.1.1.4": "MD5withRSA",
    "1.2.840.113549.1.1.14": "SHA224withRSA", "1.2.840.113549.1.1.11": "SHA256withRSA",
    "1.2.840.113549.1.1.12": "SHA384withRSA", "1.2.840.113549.1.1.13": "SHA512withRSA",
    "1.2.840.113549.1.1.10": "RSASSA-PSS",
    "1.2.840.10045.4.1": "SHA1withECDSA", "1.2.840.10045.4.3.1": "SHA224withECDSA",
    "1.2.840.10045.4.3.2": "SHA256withECDSA", "1.2.840.10045.4.3.3": "SHA384withECDSA",
    "1.2.840.10045.4.3.4": "SHA512withECDSA", "1.3.101.112": "Ed25519", "1.3.101.113": "Ed448",
    "1.2.840.10040.4.3": "SHA1withDSA", "2.16.840.1.101.3.4.3.2": "SHA256withDSA",
}


def sig_alg_name(cert: x509.Certificate) -> str:
    """`X509Certificate.getSigAlgName()` (SHA256withRSA, SHA256withECDSA, ...)."""
    oid = cert.signature_algorithm_oid.dotted_string
    return _SIG_NAMES.get(oid, cert.signature_algorithm_oid._name if cert.signature_algorithm_oid._name else oid)


def public_key_text(cert: x509.Certificate) -> str:
    """Apigee's publicKey text: "RSA Public Key, 2048 bits", "EC Public Key, 256 bits"."""
    pub = cert.public_key()
    alg = java_key_algorithm(cert)
    size = getattr(pub, "key_size", None)
    if size is None and isinstance(pub, ed25519.Ed25519PublicKey):
        size = 255
    if size is None and isinstance(pub, ed448.Ed448PublicKey):
        size = 448
    return "%s Public Key, %s bits" % (alg, size)


def serial_colon_hex(cert: x509.Certificate) -> str:
    """Serial number as Apigee shows it: the DER INTEGER bytes in lower-case colon hex ("00:92:85:f7:...")."""
    n = cert.serial_number
    length = max(1, (n.bit_length() + 8) // 8)  # room for the sign bit, like DER
    return _colon_hex(n.to_bytes(length, "big", signed=True), upper=False)


def basic_constraints_text(cert: x509.Certificate) -> str:
    bc = _ext(cert, x509.BasicConstraints)
    if not bc or not bc.ca:
        return "CA:FALSE"
    if bc.path_length is None:
        return "CA:TRUE"
    return "CA:TRUE, pathlen:%d" % bc.path_length


def _san_list(cert: x509.Certificate) -> list[str]:
    san = _ext(cert, x509.SubjectAlternativeName)
    if san is None:
        return []
    out = []
    for g in san:
        if isinstance(g, x509.DirectoryName):
            out.append(dn_java(g.value))
        elif isinstance(g, x509.OtherName):
            out.append(g.type_id.dotted_string)
        else:
            out.append(str(g.value))
    return out


def _epoch_ms(d: _dt.datetime) -> int:
    return int(d.timestamp() * 1000)


def cert_info(cert: x509.Certificate, at: _dt.datetime | None = None) -> dict:
    """One entry of Apigee's `certInfo` for a certificate (the management API's keystore cert shape)."""
    return {
        "basicConstraints": basic_constraints_text(cert),
        "expiryDate": _epoch_ms(cert.not_valid_after_utc),
        "isValid": "Yes" if validity_status(cert, at) == "valid" else "No",
        "issuer": dn_java(cert.issuer),
        "publicKey": public_key_text(cert),
        "serialNumber": serial_colon_hex(cert),
        "sigAlgName": sig_alg_name(cert),
        "subject": dn_java(cert.subject),
        "subjectAlternativeNames": _san_list(cert),
        "validFrom": _epoch_ms(cert.not_valid_before_utc),
        "version": cert.version.value + 1,
    }


def _iso(d: _dt.datetime) -> str:
    return d.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def chain_summary(chain, at: _dt.datetime | None = None) -> list[dict]:
    """Plain, secret-free facts per certificate for reports and diffs."""
    if isinstance(chain, x509.Certificate):
        chain = [chain]
    return [dict(_facts(c), validity=validity_status(c, at)) for c in chain]


@functools.lru_cache(maxsize=8192)
def _facts(cert: x509.Certificate) -> dict:
    """The time-independent facts of chain_summary, once per distinct certificate (callers get a copy)."""
    return {
        "subject": dn_rfc4514(cert.subject),
        "issuer": dn_rfc4514(cert.issuer),
        "serial": serial_colon_hex(cert),
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "sha256": fingerprint_sha256(cert),
        "is_ca": is_ca(cert),
    }


def describe_certificates(certs, labels=None, empty="(no certificate)") -> str:
    """What a diff shows of certificates: a short block each (label, subject, issuer, serial and validity, SHA-256),
    so that a changed certificate reads as a changed block. Secret-free."""
    blocks = []
    for i, c in enumerate(certs or []):
        s = chain_summary([c])[0]
        label = labels[i] if labels and i < len(labels) and labels[i] is not None else str(i)
        blocks.append("[%s] %s\n    issued by %s\n    serial %s, valid %s to %s (%s)\n    SHA-256 %s\n"
                      % (label, s["subject"], s["issuer"], s["serial"], s["not_before"], s["not_after"],
                         str(s["validity"]).replace("_", " "), s["sha256"]))
    return "".join(blocks) or empty + "\n"
