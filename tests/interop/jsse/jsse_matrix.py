"""The JSSE client-certificate selection matrix: case generator, real TLS server, JVM runner, comparison.

The question the matrix answers: given a keystore entry (leaf only, or leaf + intermediates + root) and the
acceptable-CA list a backend advertises in its CertificateRequest, does the Message Processor's JSSE client send its
certificate or an empty Certificate message?  The project's model of that decision is ``certcore.jsse_select``; this
module measures the real answer from OpenJDK's own key managers and compares.

How it works:

* Certificates are generated here with ``cryptography``.  Distinguished names are described as plain specs (a list of
  RDNs, each a list of ``(oid, asn1_tag, value)``) and DER-encoded by a tiny encoder in this file, so the advertised
  names can carry encodings ``cryptography`` would never produce (a multi-valued RDN whose SET elements are not in DER
  order, BMPString values, decomposed Unicode).  For names that ``cryptography`` can build, the encoder's bytes are
  checked to be identical to ``cryptography``'s.
* The server is pyOpenSSL (OpenSSL) running in a thread of this process.  It requests a client certificate without
  requiring one, picks the case's acceptable-CA list from the SNI name the client sends, and after the handshake
  writes ``certs=<n>``: the number of certificates it actually received.  OpenSSL keeps the DER bytes of a parsed
  X509_NAME and writes them unchanged into the CertificateRequest; for TLS 1.2 (where the CertificateRequest travels
  in clear) the server's own output is parsed back and the advertised DNs are compared byte for byte with the case.
* ``JsseMatrix.java`` runs in ONE JVM for the whole matrix, with both the SunX509 and the PKIX key manager per case.

Run standalone for a summary:  ``.venv/bin/python tests/interop/jsse/jsse_matrix.py``
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import warnings
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto

HERE = os.path.dirname(os.path.abspath(__file__))
JAVA_SOURCE = os.path.join(HERE, "JsseMatrix.java")
KEY_MANAGERS = ("SunX509", "PKIX")
PROTOCOLS = ("TLSv1.2", "TLSv1.3")

# ASN.1 universal tags used in names
UTF8, PRINTABLE, IA5, BMP = 12, 19, 22, 30
OID_C, OID_ST, OID_L, OID_O, OID_OU, OID_CN = "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.10", "2.5.4.11", "2.5.4.3"
OID_DC, OID_EMAIL = "0.9.2342.19200300.100.1.25", "1.2.840.113549.1.9.1"
PRINTABLE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")

# A DN spec: tuple of RDNs; an RDN: tuple of AVAs; an AVA: (dotted oid, universal tag, text value).
Ava = tuple[str, int, str]
Rdn = tuple[Ava, ...]
DnSpec = tuple[Rdn, ...]


# ---------------------------------------------------------------------------------------------------------- DER


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _der_string(tag: int, value: str) -> bytes:
    if tag == BMP:
        raw = value.encode("utf-16-be")
    elif tag == UTF8:
        raw = value.encode("utf-8")
    else:
        raw = value.encode("ascii")
    return _tlv(tag, raw)


def _der_ava(ava: Ava) -> bytes:
    oid, tag, value = ava
    return _tlv(0x30, _der_oid(oid) + _der_string(tag, value))


def dn_der(spec: DnSpec, *, reverse_sets: bool = False) -> bytes:
    """DER of a Name (SET OF elements in DER order).  ``reverse_sets=True`` writes the AVAs of each multi-valued RDN
    in the reverse of DER order: the same name, encoded as a BER (non-DER) SET that a sender may still put on the
    wire."""
    rdns = b""
    for rdn in spec:
        avas = sorted(_der_ava(a) for a in rdn)
        if reverse_sets:
            avas.reverse()
        rdns += _tlv(0x31, b"".join(avas))
    return _tlv(0x30, rdns)


def dn_name(spec: DnSpec) -> x509.Name:
    """The same spec as a ``cryptography`` Name (for issuing certificates)."""
    return x509.Name(
        [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(x509.ObjectIdentifier(oid), value, _type=_ASN1Type(tag)) for oid, tag, value in rdn]
            )
            for rdn in spec
        ]
    )


# --------------------------------------------------------------------------------------- DN encoding variants


def _map_strings(spec: DnSpec, fn, tags=(PRINTABLE, UTF8)) -> DnSpec:
    return tuple(tuple((o, t, fn(v) if t in tags else v) for o, t, v in rdn) for rdn in spec)


def _swap_type(spec: DnSpec) -> DnSpec:
    out = []
    for rdn in spec:
        new = []
        for o, t, v in rdn:
            if t == PRINTABLE:
                t = UTF8
            elif t == UTF8 and set(v) <= PRINTABLE_CHARS:
                t = PRINTABLE
            new.append((o, t, v))
        out.append(tuple(new))
    return tuple(out)


def _retag(spec: DnSpec, oid: str, tag: int, fn=lambda v: v) -> DnSpec:
    return tuple(tuple((o, tag if o == oid else t, fn(v) if o == oid else v) for o, t, v in rdn) for rdn in spec)


def _outer_spaces(spec: DnSpec) -> DnSpec:
    return tuple(tuple((o, t, f"  {v} " if o == OID_CN else v) for o, t, v in rdn) for rdn in spec)


# variant name -> (transform of the certificate's DN spec, JSSE is expected to treat it as the same DN: documentation
# only, the verdict comes from JSSE and the model; the flag lets the summary say whether a variant is a "should match")
VARIANTS: dict[str, tuple] = {
    "exact": (lambda s: s, True),
    "swap_string_type": (_swap_type, True),  # PrintableString <-> UTF8String, same text
    "upper_case": (lambda s: _map_strings(s, str.upper), True),
    "lower_case": (lambda s: _map_strings(s, str.lower), True),
    "inner_spaces": (lambda s: _map_strings(s, lambda v: v.replace(" ", "   ")), True),
    "outer_spaces": (_outer_spaces, True),
    "nfd_unicode": (lambda s: _map_strings(s, lambda v: unicodedata.normalize("NFD", v), (UTF8,)), True),
    "multi_rdn_order_swapped": (lambda s: s, True),  # OU+CN SET elements written in non-DER order (see _listed)
    "multi_rdn_split": (lambda s: tuple((a,) for r in s for a in r), False),  # OU+CN as two RDNs: not the same
    "rdn_order_reversed": (lambda s: tuple(reversed(s)), False),
    "dc_ia5_case": (lambda s: _retag(s, OID_DC, IA5, str.upper), False),  # IA5String compares as bytes in JSSE
    "email_as_utf8": (lambda s: _retag(s, OID_EMAIL, UTF8), False),  # no RFC 2253 keyword: compared as bytes
    "cn_as_bmp": (lambda s: _retag(s, OID_CN, BMP), False),  # BMPString is not a canonical string type in JSSE
}


# -------------------------------------------------------------------------------------------------------- PKI


def ca_spec(cn: str, profile: str, org: str = "Example Org Pty Ltd") -> DnSpec:
    """A CA DN with every feature the variants need: Printable/UTF8 strings, non-ASCII, DC (IA5), email, OU+CN."""
    s = PRINTABLE if profile == "printable" else UTF8
    return (
        ((OID_C, PRINTABLE, "AU"),),
        ((OID_ST, s, "VIC"),),
        ((OID_L, UTF8, "Zürich Office"),),
        ((OID_DC, IA5, "example"),),
        ((OID_O, s, org),),
        ((OID_OU, s, "Platform Security"), (OID_CN, s, cn)),
        ((OID_EMAIL, IA5, "pki@example.com"),),
    )


@dataclass
class Issued:
    cert: x509.Certificate
    key: object
    spec: DnSpec | None = None


def _new_key(alg: str):
    if alg == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _issue(subject: x509.Name, key, issuer: Issued | None, *, ca: bool, not_before: dt.datetime,
           not_after: dt.datetime, eku=None) -> x509.Certificate:
    issuer_name = issuer.cert.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
    if issuer is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(signing_key, hashes.SHA256())


@dataclass
class Pki:
    """Per key algorithm: root -> int1 -> int2, leaves under int1 (ok/expired/wrong EKU/not yet valid) and int2."""

    alg: str
    profile: str
    root: Issued
    int1: Issued
    int2: Issued
    unrelated: Issued
    leaves: dict[str, Issued] = field(default_factory=dict)


def build_pki(alg: str, profile: str, now: dt.datetime) -> Pki:
    long_ago, far = now - dt.timedelta(days=30), now + dt.timedelta(days=365)
    tag = "R" if alg == "RSA" else "E"

    def ca(cn, parent, org="Example Org Pty Ltd"):
        spec = ca_spec(cn, profile, org)
        name = dn_name(spec)
        assert name.public_bytes() == dn_der(spec), f"DER encoder disagrees with cryptography for {cn}"
        key = _new_key(alg)
        cert = _issue(name, key, parent, ca=True, not_before=long_ago, not_after=far)
        return Issued(cert, key, spec)

    root = ca(f"Example Root CA {tag}", None)
    int1 = ca(f"Example Intermediate CA G2 {tag}", root)
    int2 = ca(f"Example Issuing CA G3 {tag}", int1)
    unrelated = ca(f"Unrelated Root CA {tag}", None, org="Other Company Ltd")
    pki = Pki(alg, profile, root, int1, int2, unrelated)

    def leaf(status, parent):
        key = _new_key(alg)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"mp-client-{status}-{tag}.example.com")])
        nb, na, eku = long_ago, far, [ExtendedKeyUsageOID.CLIENT_AUTH]
        if status == "expired":
            nb, na = now - dt.timedelta(days=400), now - dt.timedelta(days=35)
        elif status == "not_yet_valid":
            nb, na = now + dt.timedelta(days=10), now + dt.timedelta(days=400)
        elif status == "wrong_eku":
            eku = [ExtendedKeyUsageOID.SERVER_AUTH]
        return Issued(_issue(subject, key, parent, ca=False, not_before=nb, not_after=na, eku=eku), key)

    for status in ("ok", "expired", "wrong_eku", "not_yet_valid"):
        pki.leaves[status] = leaf(status, int1)
    pki.leaves["deep"] = leaf("deep", int2)
    return pki


def keystore_chain(pki: Pki, leaf: str, form: str) -> list[x509.Certificate]:
    """The chain as stored: leaf only, or leaf + its issuers up to the root."""
    chain = [pki.leaves[leaf].cert]
    if form == "full":
        chain += [pki.int2.cert, pki.int1.cert, pki.root.cert] if leaf == "deep" else [pki.int1.cert, pki.root.cert]
    return chain


# ------------------------------------------------------------------------------------------------------ cases


@dataclass
class Case:
    id: str
    grid: str
    alg: str
    leaf: str  # ok | expired | wrong_eku | not_yet_valid | deep
    form: str  # leaf | full
    ca_list: str  # what is listed (root, intermediate, unrelated, empty, several_mixed, ...)
    variant: str  # DN encoding variant applied to the listed DN(s)
    protocol: str
    acceptable: list[bytes]  # the DER of each advertised DN, in order, exactly as sent
    keystore: str = ""
    chain: list[x509.Certificate] = field(default_factory=list)

    def sni(self, km: str) -> str:
        return f"{self.id.lower()}-{km.lower()}.jsse.test"

    def describe(self) -> str:
        return (f"{self.id} [{self.grid}] {self.alg} leaf={self.leaf} form={self.form} list={self.ca_list} "
                f"variant={self.variant} {self.protocol}")


def _listed(pki: Pki, what: str, variant: str) -> list[bytes]:
    transform = VARIANTS[variant][0]

    def enc(issued: Issued) -> bytes:
        der = dn_der(transform(issued.spec), reverse_sets=variant == "multi_rdn_order_swapped")
        if variant != "exact" and der == issued.cert.subject.public_bytes():
            raise AssertionError(f"variant {variant} does not change the DER of {issued.cert.subject.rfc4514_string()}")
        return der

    leaf_subject = pki.leaves["ok"].cert.subject.public_bytes()
    return {
        "root": lambda: [enc(pki.root)],
        "intermediate": lambda: [enc(pki.int1)],
        "int2": lambda: [enc(pki.int2)],
        "unrelated": lambda: [enc(pki.unrelated)],
        "empty": lambda: [],
        "several_mixed": lambda: [enc(pki.unrelated), leaf_subject, enc(pki.int1)],
        "several_none": lambda: [enc(pki.unrelated), leaf_subject],
        "several_deep": lambda: [enc(pki.unrelated), enc(pki.int1)],
        "leaf_subject": lambda: [leaf_subject],
    }[what]()


def generate_cases(pkis: dict[str, Pki]) -> list[Case]:
    cases: list[Case] = []

    def add(grid, alg, leaf, form, ca_list, variant, protocol):
        pki = pkis[alg]
        cases.append(Case(f"C{len(cases) + 1:03d}", grid, alg, leaf, form, ca_list, variant, protocol,
                          _listed(pki, ca_list, variant)))

    # A: structure -- what is listed vs what is stored
    for alg in ("RSA", "EC"):
        for form in ("leaf", "full"):
            for ca_list in ("root", "intermediate", "unrelated", "empty", "several_mixed", "several_none",
                            "leaf_subject"):
                for protocol in PROTOCOLS:
                    add("structure", alg, "ok", form, ca_list, "exact", protocol)
    # B: DN encoding variants of the listed DN vs the certificate's issuer DN
    for v_index, variant in enumerate(VARIANTS):
        for alg_index, alg in enumerate(("RSA", "EC")):
            for t_index, target in enumerate(("intermediate", "root")):
                for f_index, form in enumerate(("leaf", "full")):
                    protocol = PROTOCOLS[(v_index + alg_index + t_index + f_index) % 2]
                    add("encoding", alg, "ok", form, target, variant, protocol)
    # C: leaf status (expired, wrong EKU, not yet valid): SunX509 checks nothing, PKIX ranks but still sends
    for s_index, status in enumerate(("expired", "wrong_eku", "not_yet_valid")):
        for form in ("leaf", "full"):
            for ca_list in ("intermediate", "root", "unrelated", "empty"):
                for protocol in PROTOCOLS:
                    alg = ("RSA", "EC")[(s_index + len(cases)) % 2]
                    add("status", alg, status, form, ca_list, "exact", protocol)
    # D: two intermediates (leaf -> int2 -> int1 -> root)
    for form in ("leaf", "full"):
        for ca_list in ("root", "intermediate", "int2", "unrelated", "several_deep"):
            for p_index, protocol in enumerate(PROTOCOLS):
                add("depth2", ("RSA", "EC")[p_index], "deep", form, ca_list, "exact", protocol)
    for c in cases:
        c.chain = keystore_chain(pkis[c.alg], c.leaf, c.form)
    return cases


# ----------------------------------------------------------------------------------------------------- server


def _name_from_der(der: bytes, spki_der: bytes) -> crypto.X509Name:
    """An OpenSSL X509_NAME holding exactly ``der``.

    OpenSSL keeps the bytes of a parsed name and re-emits them untouched; to get one parsed from arbitrary DER, the
    name is placed as the subject of an (unsigned) certificate structure and read back."""
    alg = _tlv(0x30, _der_oid("1.2.840.113549.1.1.11") + b"\x05\x00")
    validity = _tlv(0x30, _tlv(0x17, b"250101000000Z") * 2)
    tbs = _tlv(0x30, _tlv(0xA0, _tlv(0x02, b"\x02")) + _tlv(0x02, b"\x01") + alg + der + validity + der + spki_der)
    cert = _tlv(0x30, tbs + alg + _tlv(0x03, b"\x00" + b"\x00" * 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return crypto.load_certificate(crypto.FILETYPE_ASN1, cert).get_subject()


def parse_tls12_certificate_request(server_bytes: bytes) -> list[bytes] | None:
    """DER DNs of the CertificateRequest in a TLS 1.2 server flight (plaintext records before ChangeCipherSpec)."""
    hs = bytearray()
    pos = 0
    while pos + 5 <= len(server_bytes):
        ctype, length = server_bytes[pos], int.from_bytes(server_bytes[pos + 3:pos + 5], "big")
        if ctype != 22:
            break
        hs += server_bytes[pos + 5:pos + 5 + length]
        pos += 5 + length
    i = 0
    while i + 4 <= len(hs):
        mtype, mlen = hs[i], int.from_bytes(hs[i + 1:i + 4], "big")
        body = bytes(hs[i + 4:i + 4 + mlen])
        i += 4 + mlen
        if mtype != 13:
            continue
        j = 1 + body[0]
        j += 2 + int.from_bytes(body[j:j + 2], "big")
        end = j + 2 + int.from_bytes(body[j:j + 2], "big")
        j += 2
        names = []
        while j < end:
            n = int.from_bytes(body[j:j + 2], "big")
            names.append(body[j + 2:j + 2 + n])
            j += 2 + n
        return names
    return None


class CaListServer:
    """A real OpenSSL TLS server: client certificate requested (not required), acceptable-CA list chosen by SNI."""

    def __init__(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backend.jsse.test")])
        cert = _issue(name, key, None, ca=False, not_before=now - dt.timedelta(days=1),
                      not_after=now + dt.timedelta(days=30))
        self._cert = cert
        self._key = key
        self._spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        self._contexts: dict[str, SSL.Context] = {}
        self.results: dict[str, dict] = {}
        self._base = self._context([])
        self._base.set_tlsext_servername_callback(self._on_sni)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.5)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="jsse-matrix-server", daemon=True)

    def _context(self, acceptable: list[bytes]) -> SSL.Context:
        ctx = SSL.Context(SSL.TLS_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.use_certificate(self._cert)
        ctx.use_privatekey(self._key)
        ctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, errno, depth, ok: True)  # request, accept anything
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        ctx.set_options(SSL.OP_NO_TICKET)
        if acceptable:
            # X509Name is the one pyOpenSSL type that carries an arbitrary DER name into OpenSSL unchanged; it is
            # deprecated in pyOpenSSL 26 but still supported (requirements pin the major version range).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.set_client_ca_list([_name_from_der(d, self._spki) for d in acceptable])
        return ctx

    def add(self, sni: str, acceptable: list[bytes]) -> None:
        self._contexts[sni] = self._context(acceptable)

    def _on_sni(self, conn: SSL.Connection) -> None:
        name = (conn.get_servername() or b"").decode()
        if name in self._contexts:
            conn.set_context(self._contexts[name])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with client:
                client.settimeout(10)
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                try:
                    self._one(client)
                except Exception as exc:  # recorded; the comparison reports it against the case
                    self.results.setdefault(f"?error-{len(self.results)}", {"error": repr(exc)})

    def _one(self, sock: socket.socket) -> None:
        conn = SSL.Connection(self._base, None)
        conn.set_accept_state()
        sent = bytearray()

        def flush():
            while True:
                try:
                    data = conn.bio_read(65536)
                except SSL.WantReadError:
                    return
                sent.extend(data)
                sock.sendall(data)

        while True:
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                flush()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("client closed during handshake") from None
                conn.bio_write(data)
        flush()
        sni = (conn.get_servername() or b"").decode()
        leaf = conn.get_peer_certificate(as_cryptography=True)
        rest = conn.get_peer_cert_chain(as_cryptography=True) or []
        count = 0 if leaf is None else 1 + len(rest)
        protocol = conn.get_protocol_version_name()
        self.results[sni] = {
            "certs": count,
            "leaf_fp": leaf.fingerprint(hashes.SHA256()).hex() if leaf is not None else None,
            "protocol": protocol,
            "advertised": parse_tls12_certificate_request(bytes(sent)) if protocol == "TLSv1.2" else None,
        }
        conn.send(f"certs={count}\n".encode())
        flush()
        try:
            conn.shutdown()
            flush()
        except SSL.Error:
            pass


# ----------------------------------------------------------------------------------------------------- runner


@dataclass
class MatrixRun:
    cases: list[Case]
    pkis: dict[str, Pki]
    server: dict[str, dict]  # sni -> what the server observed
    java: dict[tuple[str, str], dict]  # (case id, key manager) -> what the JVM recorded
    seconds: float
    now: dt.datetime


def java_executable() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def run_matrix(workdir: str, *, timeout: float = 240) -> MatrixRun:
    """Generate the PKI, keystores and cases in ``workdir``, serve, run the JVM once, collect both sides."""
    start = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    pkis = {"RSA": build_pki("RSA", "printable", now), "EC": build_pki("EC", "utf8", now)}
    cases = generate_cases(pkis)
    password = secrets.token_urlsafe(18)
    keystores: dict[str, dict] = {}
    by_chain: dict[tuple, str] = {}
    for c in cases:
        k = (c.alg, c.leaf, c.form)
        if k not in by_chain:
            name = f"ks-{c.alg}-{c.leaf}-{c.form}".lower()
            path = os.path.join(workdir, name + ".p12")
            pki = pkis[c.alg]
            blob = pkcs12.serialize_key_and_certificates(
                b"client", pki.leaves[c.leaf].key, c.chain[0], c.chain[1:] or None,
                serialization.BestAvailableEncryption(password.encode()),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            keystores[name] = {"path": path, "password": password}
            by_chain[k] = name
        c.keystore = by_chain[k]

    java = java_executable()
    if java is None:
        raise RuntimeError("java not found (install OpenJDK 17: make setup)")
    with CaListServer() as server:
        spec_cases = []
        for c in cases:
            for km in KEY_MANAGERS:
                server.add(c.sni(km), c.acceptable)
            spec_cases.append({"id": c.id, "keystore": c.keystore, "protocol": c.protocol,
                               "sni": {km: c.sni(km) for km in KEY_MANAGERS}})
        cases_path = os.path.join(workdir, "cases.json")
        results_path = os.path.join(workdir, "results.jsonl")
        fd = os.open(cases_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"host": "127.0.0.1", "port": server.port, "timeout_ms": 10000, "keystores": keystores,
                       "cases": spec_cases}, fh)
        try:
            proc = subprocess.run(
                [java, "-XX:+UseSerialGC", JAVA_SOURCE, cases_path, results_path],
                capture_output=True, text=True, timeout=timeout, cwd=workdir,
            )
        finally:
            os.remove(cases_path)  # it holds the keystore password
        if proc.returncode != 0:
            raise RuntimeError(f"JsseMatrix.java failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        server_results = dict(server.results)
    java_results = {}
    with open(results_path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            java_results[(r["case"], r["km"])] = r
    return MatrixRun(cases, pkis, server_results, java_results, time.monotonic() - start, now)


# -------------------------------------------------------------------------------------------------- comparison


@dataclass
class Outcome:
    case: Case
    km: str
    jsse_sent: bool | None  # what the server received (None: the run itself failed)
    model_sent: bool | None
    model_reason: str
    harness_problems: list[str]

    @property
    def agrees(self) -> bool:
        return not self.harness_problems and self.jsse_sent is not None and self.jsse_sent == self.model_sent

    def line(self) -> str:
        harness = f" HARNESS: {'; '.join(self.harness_problems)}" if self.harness_problems else ""
        return (f"{self.case.describe()} km={self.km}: JSSE sent={self.jsse_sent} model sent={self.model_sent} "
                f"({self.model_reason}){harness}")


def jsse_observation(run: MatrixRun, case: Case, km: str) -> tuple[bool | None, list[str]]:
    """What JSSE did, from the server's side, cross-checked with the client's side. Returns (sent, problems)."""
    problems = []
    srv = run.server.get(case.sni(km))
    jv = run.java.get((case.id, km))
    if jv is None:
        return None, ["no JVM result"]
    if not jv["ok"]:
        return None, [f"handshake failed: {jv['error']}"]
    if srv is None:
        return None, ["server saw no completed handshake"]
    if jv["protocol"] != case.protocol or srv["protocol"] != case.protocol:
        problems.append(f"protocol {jv['protocol']}/{srv['protocol']} != {case.protocol}")
    if jv["server_line"] != f"certs={srv['certs']}":
        problems.append(f"server line {jv['server_line']!r} vs server record {srv['certs']}")
    sent = srv["certs"] > 0
    if sent != (jv.get("alias") is not None):
        problems.append(f"server got {srv['certs']} certs but the key manager chose {jv.get('alias')!r}")
    if sent and srv["certs"] != len(case.chain):
        problems.append(f"server got {srv['certs']} certs, stored chain has {len(case.chain)}")
    if jv["keystore_chain_len"] != len(case.chain):
        problems.append(f"keystore yields a chain of {jv['keystore_chain_len']}, expected {len(case.chain)}")
    # the list JSSE handed its key manager is the list advertised
    got = [bytes.fromhex(i["der"]) for i in jv.get("issuers", [])]
    if len(got) != len(case.acceptable):
        problems.append(f"key manager saw {len(got)} issuers, {len(case.acceptable)} advertised")
    if srv["protocol"] == "TLSv1.2" and srv["advertised"] != case.acceptable:
        problems.append("the CertificateRequest on the wire does not carry the case's DER DNs")
    # TLS 1.3 encrypts the CertificateRequest; JSSE's parsed names re-encode to the same bytes (JSSE re-sorts a
    # multi-valued RDN's SET into DER order, so that one variant is checked on the TLS 1.2 wire only)
    if case.variant != "multi_rdn_order_swapped" and got != case.acceptable:
        problems.append("the issuers JSSE parsed do not re-encode to the advertised DER DNs")
    if case.protocol == "TLSv1.3" and not case.acceptable and not jv.get("issuers_null"):
        problems.append("empty list in TLS 1.3: expected no certificate_authorities extension")
    return sent, problems


def compare(run: MatrixRun, select) -> list[Outcome]:
    outcomes = []
    for case in run.cases:
        for km in KEY_MANAGERS:
            sent, problems = jsse_observation(run, case, km)
            try:
                sel = select(case.chain, list(case.acceptable), key_manager=km, at=run.now)
                model_sent, reason = bool(sel.sent), str(sel.reason)
            except Exception as exc:  # a model that raises is a disagreement, shown as such
                model_sent, reason = None, f"model raised {type(exc).__name__}: {exc}"
            outcomes.append(Outcome(case, km, sent, model_sent, reason, problems))
    return outcomes


def coverage(cases: list[Case]) -> dict[str, set]:
    return {
        "grid": {c.grid for c in cases},
        "alg": {c.alg for c in cases},
        "leaf": {c.leaf for c in cases},
        "form": {c.form for c in cases},
        "ca_list": {c.ca_list for c in cases},
        "variant": {c.variant for c in cases},
        "protocol": {c.protocol for c in cases},
    }


def summary(run: MatrixRun, outcomes: list[Outcome]) -> str:
    agree = [o for o in outcomes if o.agrees]
    disagree = [o for o in outcomes if not o.agrees]
    sent = sum(1 for o in outcomes if o.jsse_sent)
    lines = [
        f"JSSE matrix: {len(run.cases)} cases x {len(KEY_MANAGERS)} key managers = {len(outcomes)} real handshakes "
        f"({sent} sent a certificate, {len(outcomes) - sent} sent none)",
        f"agreements: {len(agree)}   disagreements: {len(disagree)}   time: {run.seconds:.1f} s",
    ]
    lines += ["  DISAGREE " + o.line() for o in disagree]
    return "\n".join(lines)


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    sys.path.insert(0, root)
    from ansible.module_utils.mtls.certcore import jsse_select

    import plugins.filter._path  # noqa: F401  (ansible.module_utils.mtls importable)

    with tempfile.TemporaryDirectory(prefix="jsse-matrix-") as tmp:
        run = run_matrix(tmp)
    outcomes = compare(run, jsse_select)
    print(summary(run, outcomes))
    return 0 if all(o.agrees for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())


def run_cases(folder, port: int, keystores: dict, cases: list, timeout_ms: int = 700) -> dict:
    """JsseMatrix.java on `cases` (each: id, keystore, protocol, port, sni) with `keystores` ({name: {path,
    password}}): {case id: result}. The cases file (it holds the keystore passwords) is removed afterwards."""
    import json
    import subprocess

    spec = os.path.join(str(folder), "cases.json")
    results = os.path.join(str(folder), "results.jsonl")
    with open(spec, "w", encoding="utf-8") as fh:
        json.dump({"host": "127.0.0.1", "port": port, "timeout_ms": timeout_ms, "keystores": keystores,
                   "cases": cases}, fh)
    try:
        run = subprocess.run([java_executable(), "-XX:+UseSerialGC", JAVA_SOURCE, spec, results],
                             capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(spec)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(results, encoding="utf-8") as fh:
        return {r["case"]: r for r in map(json.loads, fh.read().splitlines())}
