"""A small test PKI factory, generated at run time with `cryptography` (nothing here is ever committed as a file).

    root = make_ca("CN=Test Root CA, O=Example, C=AU")
    inter = make_ca("CN=Test Issuing CA, O=Example", parent=root)
    leaf = make_leaf("CN=client.example", issuer=inter)              # clientAuth EKU by default
    leaf.cert, leaf.key, leaf.cert_pem(), leaf.key_pem(), chain_pem([leaf, inter, root])
    make_pkcs12(leaf, [inter], password="changeit")

Names are given as an RFC 4514 string (most specific RDN first, like `openssl` `-nameopt RFC2253`), an `x509.Name`,
or a list of RDNs in DER order (most significant first, e.g. C before CN) where each RDN is one attribute
`("CN", "value")` / `("CN", "value", "printable")` or a list of such tuples (a multi-valued RDN, kept in the given
order). `encoding=` ("utf8" | "printable" | "ia5" | "bmp" | "t61") forces one string type on every attribute that has
no explicit encoding; per-attribute encodings win.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ENCODINGS = {
    "utf8": x509.name._ASN1Type.UTF8String,
    "printable": x509.name._ASN1Type.PrintableString,
    "ia5": x509.name._ASN1Type.IA5String,
    "bmp": x509.name._ASN1Type.BMPString,
    "t61": x509.name._ASN1Type.T61String,
    "universal": x509.name._ASN1Type.UniversalString,
}

ATTRS = {
    "CN": NameOID.COMMON_NAME, "C": NameOID.COUNTRY_NAME, "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "DC": NameOID.DOMAIN_COMPONENT, "UID": NameOID.USER_ID, "STREET": NameOID.STREET_ADDRESS,
    "EMAILADDRESS": NameOID.EMAIL_ADDRESS, "SERIALNUMBER": NameOID.SERIAL_NUMBER, "T": NameOID.TITLE,
    "TITLE": NameOID.TITLE, "SN": NameOID.SURNAME, "SURNAME": NameOID.SURNAME, "GN": NameOID.GIVEN_NAME,
    "GIVENNAME": NameOID.GIVEN_NAME, "DNQ": NameOID.DN_QUALIFIER, "DNQUALIFIER": NameOID.DN_QUALIFIER,
}

EKUS = {
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH, "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING, "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "anyExtendedKeyUsage": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}

NOW = _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def _oid(attr) -> x509.ObjectIdentifier:
    if isinstance(attr, x509.ObjectIdentifier):
        return attr
    key = str(attr).upper()
    if key in ATTRS:
        return ATTRS[key]
    if key.startswith("OID."):
        key = key[4:]
    return x509.ObjectIdentifier(key)


def _attribute(item, encoding=None) -> x509.NameAttribute:
    if isinstance(item, x509.NameAttribute):
        return item
    attr, value, *rest = item
    enc = rest[0] if rest else encoding
    oid = _oid(attr)
    if enc is None:
        return x509.NameAttribute(oid, value)
    return x509.NameAttribute(oid, value, ENCODINGS[enc])


def make_name(spec, encoding: str | None = None) -> x509.Name:
    """Build an `x509.Name` from an RFC 4514 string, a Name, or a DER-order list of RDNs (see module doc)."""
    if isinstance(spec, x509.Name):
        if encoding is None:
            return spec
        spec = [[(a.oid, a.value) for a in rdn] for rdn in spec.rdns]
    if isinstance(spec, str):
        parsed = x509.Name.from_rfc4514_string(spec)
        if encoding is None:
            return parsed
        spec = [[(a.oid, a.value) for a in rdn] for rdn in parsed.rdns]
    rdns = []
    for rdn in spec:
        items = [rdn] if isinstance(rdn, tuple | x509.NameAttribute) else list(rdn)
        rdns.append(x509.RelativeDistinguishedName([_attribute(i, encoding) for i in items]))
    return x509.Name(rdns)


def make_key(key_type: str = "rsa", key_size: int | None = None):
    """A fresh private key: "rsa" (default 2048 bits) or "ec" (P-256; key_size 384/521 pick the other curves)."""
    key_type = key_type.lower()
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=key_size or 2048)
    if key_type in ("ec", "ecdsa"):
        curve = {None: ec.SECP256R1, 256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1}[key_size]
        return ec.generate_private_key(curve())
    raise ValueError("unknown key type %r" % key_type)


@dataclass
class Issued:
    """A certificate with its private key, and the issuer it was signed by (None for a self-signed root)."""

    cert: x509.Certificate
    key: object
    issuer: Issued | None = None
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> x509.Name:
        return self.cert.subject

    @property
    def subject(self) -> x509.Name:
        return self.cert.subject

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def key_pem(self, password: bytes | str | None = None, fmt: str = "pkcs8") -> bytes:
        """The key as PEM: fmt "pkcs8" (default) or "pkcs1"/"sec1" (TraditionalOpenSSL); optional password."""
        if isinstance(password, str):
            password = password.encode()
        enc = (serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption())
        fmt_ = serialization.PrivateFormat.PKCS8 if fmt == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
        return self.key.private_bytes(serialization.Encoding.PEM, fmt_, enc)

    def key_der(self, fmt: str = "pkcs8") -> bytes:
        fmt_ = serialization.PrivateFormat.PKCS8 if fmt == "pkcs8" else serialization.PrivateFormat.TraditionalOpenSSL
        return self.key.private_bytes(serialization.Encoding.DER, fmt_, serialization.NoEncryption())

    def chain(self) -> list[Issued]:
        """This certificate and its issuers up to the root, leaf first."""
        out, cur = [], self
        while cur is not None:
            out.append(cur)
            cur = cur.issuer
        return out

    def chain_certs(self, include_root: bool = True) -> list[x509.Certificate]:
        items = self.chain()
        if not include_root and len(items) > 1:
            items = items[:-1]
        return [i.cert for i in items]


_SERIAL = [0x1DEE0000]


def _serial() -> int:
    _SERIAL[0] += 1
    return x509.random_serial_number() if _SERIAL[0] % 2 else (_SERIAL[0] << 64) | 0xA5


def _validity(not_before, not_after, days):
    nb = not_before or (NOW - _dt.timedelta(days=1))
    na = not_after or (nb + _dt.timedelta(days=days))
    return nb, na


def _sign_hash(key, hash_alg):
    if hash_alg is not None:
        return hash_alg
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None  # EdDSA signs without a separate hash
    return hashes.SHA256()


def make_ca(name, parent: Issued | None = None, *, key=None, key_type: str = "rsa", key_size: int | None = None,
            encoding: str | None = None, not_before: _dt.datetime | None = None,
            not_after: _dt.datetime | None = None, days: int = 3650, path_length: int | None = None,
            ski: bool = True, aki: bool = True, key_usage: bool = True, eku=None, hash_alg=None,
            issuer_name=None) -> Issued:
    """A CA certificate: self-signed root when parent is None, else an intermediate signed by parent.

    issuer_name overrides the issuer DN written into the certificate (to model encoding variants of the parent's
    subject: same text, other string type); the signature is still the parent's.
    """
    subject = make_name(name, encoding)
    key = key or make_key(key_type, key_size)
    signer = parent.key if parent else key
    issuer = make_name(issuer_name) if issuer_name is not None else (parent.cert.subject if parent else subject)
    nb, na = _validity(not_before, not_after, days)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(_serial()).not_valid_before(nb).not_valid_after(na)
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True))
    if key_usage:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                          crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if aki and parent is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                            critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([EKUS.get(e, e) for e in eku]), critical=False)
    cert = b.sign(signer, _sign_hash(signer, hash_alg))
    return Issued(cert=cert, key=key, issuer=parent)


def make_leaf(name, issuer: Issued | None = None, *, key=None, key_type: str = "rsa", key_size: int | None = None,
              encoding: str | None = None, eku=("clientAuth",), san: list[str] | None = None,
              not_before: _dt.datetime | None = None, not_after: _dt.datetime | None = None, days: int = 365,
              ski: bool = True, aki: bool = True, basic_constraints: bool = True, hash_alg=None,
              issuer_name=None, serial: int | None = None, rsa_pss: bool = False, key_usage=None) -> Issued:
    """An end-entity certificate signed by issuer (self-signed when issuer is None).

    eku: iterable of names ("clientAuth", "serverAuth", "anyExtendedKeyUsage", ...) or OIDs; None/() = no EKU extension.
    san: DNS names ("dns:" prefix optional), "ip:1.2.3.4", "email:a@b", "uri:https://...".
    rsa_pss: an RSA issuer signs with RSASSA-PSS (salt = digest length) instead of PKCS#1 v1.5.
    key_usage: the keyUsage bits set ("digital_signature", "key_encipherment", ...; critical); None = no extension.
    """
    subject = make_name(name, encoding)
    key = key or make_key(key_type, key_size)
    signer = issuer.key if issuer else key
    iname = make_name(issuer_name) if issuer_name is not None else (issuer.cert.subject if issuer else subject)
    nb, na = _validity(not_before, not_after, days)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(iname).public_key(key.public_key())
         .serial_number(serial if serial is not None else _serial()).not_valid_before(nb).not_valid_after(na))
    if basic_constraints:
        b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage([EKUS.get(e, e) for e in eku]), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([_general_name(s) for s in san]), critical=False)
    if key_usage is not None:
        bits = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
                "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        b = b.add_extension(x509.KeyUsage(**{k: k in key_usage for k in bits}), critical=True)
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if aki and issuer is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                            critical=False)
    if rsa_pss:
        from cryptography.hazmat.primitives.asymmetric import padding

        cert = b.sign(signer, _sign_hash(signer, hash_alg), rsa_padding=padding.PSS(
            mgf=padding.MGF1(_sign_hash(signer, hash_alg)), salt_length=padding.PSS.DIGEST_LENGTH))
    else:
        cert = b.sign(signer, _sign_hash(signer, hash_alg))
    return Issued(cert=cert, key=key, issuer=issuer)


def _general_name(text: str) -> x509.GeneralName:
    import ipaddress

    kind, _, value = text.partition(":")
    if not value:
        return x509.DNSName(text)
    kind = kind.lower()
    if kind == "dns":
        return x509.DNSName(value)
    if kind == "ip":
        return x509.IPAddress(ipaddress.ip_address(value))
    if kind == "email":
        return x509.RFC822Name(value)
    if kind == "uri":
        return x509.UniformResourceIdentifier(value)
    return x509.DNSName(text)


def chain_pem(items) -> bytes:
    """PEM bundle of Issued objects or certificates, in the given order."""
    out = b""
    for i in items:
        cert = i.cert if isinstance(i, Issued) else i
        out += cert.public_bytes(serialization.Encoding.PEM)
    return out


def make_pkcs12(leaf: Issued, chain=(), password: bytes | str | None = b"changeit", alias: str = "client") -> bytes:
    """A PKCS#12 keystore holding leaf's key with leaf + chain (Issued objects or certificates) under alias."""
    if isinstance(password, str):
        password = password.encode()
    cas = [c.cert if isinstance(c, Issued) else c for c in chain]
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(alias.encode(), leaf.key, leaf.cert, cas or None, enc)


def make_pki(key_type: str = "rsa") -> dict:
    """The common three-level PKI: root -> intermediate -> client leaf, plus an unrelated root."""
    root = make_ca("CN=Test Root CA,O=Example Corp,C=AU", key_type=key_type)
    inter = make_ca("CN=Test Issuing CA G2,DC=testcore,DC=test", parent=root, key_type=key_type, path_length=0)
    leaf = make_leaf("CN=client.example.test,O=Example Corp", issuer=inter, key_type=key_type,
                     san=["client.example.test"])
    other = make_ca("CN=Unrelated Root CA,O=Elsewhere", key_type=key_type)
    return {"root": root, "inter": inter, "leaf": leaf, "other": other}


def client_pkcs12(folder, ca_cn: str) -> dict:
    """An RSA MP client: a CA `ca_cn`, a leaf CN=mp-client under it, the two in `folder`/ks.p12 (alias `client`, a
    random password) for a JSSE client, and the same as the diagnosis reads a keystore ("ks", alias "client")."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    client_ca = make_ca(ca_cn)
    leaf = make_leaf("CN=mp-client", issuer=client_ca)
    password = secrets.token_urlsafe(12)
    path = os.path.join(str(folder), "ks.p12")
    with open(path, "wb") as fh:
        fh.write(pkcs12.serialize_key_and_certificates(b"client", leaf.key, leaf.cert, [client_ca.cert],
                                                       serialization.BestAvailableEncryption(password.encode())))
    keystore = {"name": "ks", "env": "test", "exists": True,
                "aliases": {"client": {"has_key": True, "chain": [leaf.cert, client_ca.cert], "chain_pem": None,
                                       "error": None}}, "certs": []}
    return {"ca": client_ca, "leaf": leaf, "path": path, "password": password, "keystore": keystore}
