"""The lab's PKI, generated fresh per lab with `cryptography`; every file is written 0600 under <state>/pki/.

Client side (what the Message Processor presents):
  Root A -> Intermediate A -> leaf "mp-client-a" (clientAuth EKU)
  Root C -> Intermediate C -> leaf "mp-client-c" (clientAuth EKU)
  Root B: trusted by the "b" backends only; it issues nothing the MP holds.
  Root E -> Intermediate E -> leaf "mp-client-e" with an EC P-256 key (what RSA-only backends never get), and
                               leaf "mp-client-e-rsa" with an RSA key (the alternative material a fix uploads)
  Root P -> Intermediate P -> leaf "mp-client-p" with an EC P-384 key (no CertificateVerify scheme where only
                               ecdsa_secp256r1_sha256 is allowed), and "mp-client-p-256" (EC P-256, the alternative)
  Root S (self-signed with SHA-1, made by the openssl command: `cryptography` does not sign with SHA-1)
         -> Intermediate S -> leaf "mp-client-s"; the stored chain attaches Root S (a PKIX MP then sends nothing to a
                               backend that does not accept SHA-1 signatures), the material chain does not
Server side: a lab server CA issuing one "localhost" certificate (DNS:localhost, IP:127.0.0.1) used by every backend;
the MP truststore trusts that CA.
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
import json
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_LEAVES = {"a": "mp-client-a", "c": "mp-client-c", "e": "mp-client-e", "p": "mp-client-p", "s": "mp-client-s"}
# sides whose material (what a fix uploads) is another leaf of the same CA, with a key of the type the backend takes
ALTERNATIVE_LEAVES = {"e": "mp-client-e-rsa", "p": "mp-client-p-256"}
SIDES = tuple(CLIENT_LEAVES)


def _name(cn: str, ou: str = "Apigee mTLS Lab") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Lab"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _key(kind: str = "rsa"):
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sha1_root(name: x509.Name, key, state_dir: str) -> x509.Certificate:
    """A self-signed root CA signed with SHA-1 (sha1WithRSAEncryption), made by the openssl command."""
    import subprocess
    import tempfile

    subj = "".join("/%s=%s" % ({"countryName": "C", "organizationName": "O", "organizationalUnitName": "OU",
                                "commonName": "CN"}[a.oid._name], a.value) for a in name)
    with tempfile.TemporaryDirectory(dir=state_dir) as tmp:
        key_file = os.path.join(tmp, "root.key")
        write_private(key_file, key_pem(key))
        out = os.path.join(tmp, "root.pem")
        subprocess.run(["openssl", "req", "-x509", "-new", "-key", key_file, "-sha1", "-subj", subj, "-days", "3650",
                        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1",
                        "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash",
                        "-out", out], check=True, capture_output=True)
        with open(out, "rb") as fh:
            return x509.load_pem_x509_certificate(fh.read())


def _cert(subject: x509.Name, key, issuer_name: x509.Name, issuer_key, *, ca: bool, path_len: int | None = None,
          eku=None, san=None, days: int = 825) -> x509.Certificate:
    now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
                          key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False), critical=True)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_private(path: str, data: bytes | str) -> None:
    """Write a file readable by its owner only (0600), atomically."""
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def pki_dir(state: str) -> str:
    return os.path.join(state, "pki")


def paths(state: str) -> dict:
    d = pki_dir(state)
    p = {
        "dir": d,
        "manifest": os.path.join(d, "pki.json"),
        "server_ca": os.path.join(d, "server-ca.pem"),
        "server_cert": os.path.join(d, "server.pem"),
        "server_key": os.path.join(d, "server.key"),
        "server_chain": os.path.join(d, "server-chain.pem"),
        "server_p12": os.path.join(d, "server.p12"),
        "server_p12_password_file": os.path.join(d, "server.p12.password"),
        "root_b": os.path.join(d, "root-b.pem"),
    }
    for s in SIDES:
        leaf = CLIENT_LEAVES[s]
        p[f"root_{s}"] = os.path.join(d, f"root-{s}.pem")
        p[f"int_{s}"] = os.path.join(d, f"int-{s}.pem")
        p[f"leaf_{s}"] = os.path.join(d, f"{leaf}.pem")
        p[f"key_{s}"] = os.path.join(d, f"{leaf}.key")
        p[f"chain_{s}"] = os.path.join(d, f"{leaf}-chain.pem")          # leaf + intermediate: the complete chain
        p[f"fullchain_{s}"] = os.path.join(d, f"{leaf}-fullchain.pem")  # leaf + intermediate + root
        p[f"ca_chain_{s}"] = os.path.join(d, f"ca-chain-{s}.pem")       # intermediate + root (issuing CA to its root)
    for s, alt in ALTERNATIVE_LEAVES.items():
        p[f"alt_chain_{s}"] = os.path.join(d, f"{alt}-chain.pem")       # the alternative leaf + intermediate
        p[f"alt_key_{s}"] = os.path.join(d, f"{alt}.key")
    return p


def ensure_pki(state: str) -> dict:
    """Generate the lab PKI once per state folder (kept across `up` and `reset`); return the paths."""
    p = paths(state)
    if os.path.exists(p["manifest"]) and all(os.path.exists(v) for k, v in p.items() if k not in ("dir",)):
        return p
    os.makedirs(p["dir"], mode=0o700, exist_ok=True)
    os.chmod(p["dir"], 0o700)
    client_eku = [ExtendedKeyUsageOID.CLIENT_AUTH]
    leaf_keys = {"e": "ec256", "p": "ec384"}
    for s in SIDES:
        root_key, int_key, leaf_key = _key(), _key(), _key(leaf_keys.get(s, "rsa"))
        root_name = _name(f"Lab Root CA {s.upper()}" if s != "s" else "Lab Legacy Root CA S")
        int_name = _name(f"Lab Intermediate CA {s.upper()}")
        root = _cert(root_name, root_key, root_name, root_key, ca=True, path_len=1, days=3650) if s != "s" else \
            _sha1_root(root_name, root_key, state)
        inter = _cert(int_name, int_key, root_name, root_key, ca=True, path_len=0, days=1825)
        leaf = _cert(_name(CLIENT_LEAVES[s], "Message Processor"), leaf_key, int_name, int_key, ca=False,
                     eku=client_eku)
        write_private(p[f"root_{s}"], pem(root))
        write_private(p[f"int_{s}"], pem(inter))
        write_private(p[f"leaf_{s}"], pem(leaf))
        write_private(p[f"key_{s}"], key_pem(leaf_key))
        write_private(p[f"chain_{s}"], pem(leaf) + pem(inter))
        write_private(p[f"fullchain_{s}"], pem(leaf) + pem(inter) + pem(root))
        write_private(p[f"ca_chain_{s}"], pem(inter) + pem(root))
        if s in ALTERNATIVE_LEAVES:
            alt_key = _key("rsa" if s == "e" else "ec256")
            alt = _cert(_name(ALTERNATIVE_LEAVES[s], "Message Processor"), alt_key, int_name, int_key, ca=False,
                        eku=client_eku)
            write_private(p[f"alt_chain_{s}"], pem(alt) + pem(inter))
            write_private(p[f"alt_key_{s}"], key_pem(alt_key))
    root_b_key = _key()
    root_b_name = _name("Lab Root CA B")
    write_private(p["root_b"], pem(_cert(root_b_name, root_b_key, root_b_name, root_b_key, ca=True, path_len=1,
                                         days=3650)))
    sca_key, srv_key = _key(), _key()
    sca_name = _name("Lab Server CA", "Backends")
    sca = _cert(sca_name, sca_key, sca_name, sca_key, ca=True, path_len=0, days=3650)
    srv = _cert(_name("localhost", "Backends"), srv_key, sca_name, sca_key, ca=False,
                eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    write_private(p["server_ca"], pem(sca))
    write_private(p["server_cert"], pem(srv))
    write_private(p["server_key"], key_pem(srv_key))
    write_private(p["server_chain"], pem(srv) + pem(sca))
    p12_password = secrets.token_urlsafe(18)
    write_private(p["server_p12_password_file"], p12_password)
    write_private(p["server_p12"], pkcs12.serialize_key_and_certificates(
        b"server", srv_key, srv, [sca], serialization.BestAvailableEncryption(p12_password.encode())))
    write_private(p["manifest"], json.dumps({"generated": _dt.datetime.now(_dt.UTC).isoformat()}))
    return p


def read_text(path: str) -> str:
    with open(path, encoding="ascii") as fh:
        return fh.read()


def load_certs(path: str) -> list[x509.Certificate]:
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificates(fh.read())


def java_truststore(cert_paths: list[str], password: str) -> bytes:
    """A PKCS#12 truststore whose certificates JSSE loads as trusted entries (Java's trusted-key-usage attribute)."""
    entries = []
    for path in cert_paths:
        for i, cert in enumerate(load_certs(path)):
            base = os.path.splitext(os.path.basename(path))[0]
            name = base if i == 0 else f"{base}-{i}"
            entries.append(pkcs12.PKCS12Certificate(cert, name.encode()))
    return pkcs12.serialize_java_truststore(entries, serialization.BestAvailableEncryption(password.encode()))
