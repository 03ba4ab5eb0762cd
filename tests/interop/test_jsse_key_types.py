"""What a JSSE client sends to a server's CertificateRequest, decided by real JSSE and compared, cell by cell, with the
model (certificate_request.jsse_key_types / jsse_permitted_cert_signatures / certificate_verify_scheme and
certcore.jsse_select) on the request the probe really read.

Each backend is a real `openssl s_server` asking for a client certificate with chosen client signature algorithms
(which also set the TLS 1.2 certificate_types) and no CA names (so the key and the chain's signatures alone decide).
Each client is a PKCS#12 keystore with one key entry, all in ONE JVM (tests/interop/jsse/JsseMatrix.java), with the
SunX509 and the PKIX key manager. Per cell JSSE tells what it did:
* ``not_sent``: its key manager returned no alias (an empty Certificate message);
* ``aborted``: it chose the chain, then found no CertificateVerify scheme for the key and aborted the handshake itself;
* ``sent``: it sent the chain and signed (the server, ``-quiet``, then writes nothing: the client's read times out);
* anything else is reported as the backend's own failure, never as "sent".
The JVM is the one on PATH (OpenJDK 17 here); a second JDK (``JSSE_MATRIX_JAVA_25``, or Temurin 25 where installed)
is run against the ``17-sha1-off`` profile, whose SHA-1 handshake signatures are disabled as in JDK 25's defaults."""
import json
import os
import secrets
import shutil
import subprocess

import pytest
from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.certificate_request import (
    JSSE_EC_CURVES,
    certificate_verify_scheme,
    jsse_key_types,
    jsse_permitted_cert_signatures,
)
from ansible.module_utils.mtls.probe import probe
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.helpers.openssl import server_files, start_s_server, stop
from tests.helpers.pki import Issued, make_ca, make_key, make_leaf
from tests.interop.jsse import jsse_matrix

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("openssl") or not jsse_matrix.java_executable(),
                                                      reason="needs openssl and a JVM")]

SERVERS = [  # (TLS version, OpenSSL -client_sigalgs)
    ("TLSv1.2", "RSA+SHA256"), ("TLSv1.2", "ECDSA+SHA256"), ("TLSv1.2", "ECDSA+SHA384:RSA+SHA256"),
    ("TLSv1.2", "ed25519"), ("TLSv1.2", "RSA-PSS+SHA256"), ("TLSv1.2", "DSA+SHA256:ECDSA+SHA256"),
    ("TLSv1.2", "RSA+SHA1:ECDSA+SHA1:RSA+SHA256"), ("TLSv1.2", "RSA+SHA512:rsa_pss_pss_sha256"),
    ("TLSv1.3", "rsa_pss_rsae_sha256"), ("TLSv1.3", "ECDSA+SHA256"), ("TLSv1.3", "ed25519:ECDSA+SHA384"),
    ("TLSv1.3", "rsa_pss_pss_sha256:ECDSA+SHA256"), ("TLSv1.3", "rsa_pss_rsae_sha256:ed25519"),
    ("TLSv1.3", "ECDSA+SHA512"), ("TLSv1.3", "rsa_pss_rsae_sha512:rsa_pss_pss_sha512"),
    ("TLSv1.3", "rsa_pss_rsae_sha384:RSA+SHA1:rsa_pss_pss_sha256"),
]
# name: (leaf key, how the chain is made)
CLIENTS = {
    "rsa": ("rsa", "rsa-ca"), "ec256": ("ec256", "rsa-ca"), "ec384": ("ec384", "rsa-ca"),
    "ec521": ("ec521", "rsa-ca"), "ed25519": ("ed25519", "rsa-ca"), "dsa": ("dsa", "rsa-ca"),
    "rsapss": ("rsapss", "rsa-ca"), "rsa1024": ("rsa1024", "rsa-ca"),
    "ec256-m": ("ec256", "same-type-ca"), "ed25519-m": ("ed25519", "same-type-ca"),
    "rsa-sha1": ("rsa", "rsa-ca-sha1"), "rsa-pss-signed": ("rsa", "rsa-ca-pss"),
    "rsa-sha1-root": ("rsa", "sha1-root-attached"),
}


def _key(kind):
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ec521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind == "dsa":
        return dsa.generate_private_key(2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa1024":
        return make_key("rsa", 1024)
    return make_key("ec" if kind == "ec256" else "rsa", 2048 if kind == "rsa" else None)


def _openssl(d, *args, **env):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, env=dict(os.environ, **env))


def _pem_files(d, tag, issued):
    (d / ("%s.pem" % tag)).write_bytes(issued.cert_pem())
    (d / ("%s.key" % tag)).write_bytes(issued.key_pem())


def _openssl_cert(d, name, issuer, key_file, *, digest="sha256", ca=False):
    """A certificate made by OpenSSL: `cryptography` neither signs with SHA-1 nor writes an id-RSASSA-PSS public key.
    issuer None: self-signed with key_file."""
    ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n" if ca else \
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n"
    (d / ("%s.cnf" % name)).write_text(ext)
    _openssl(d, "req", "-new", "-key", key_file, "-subj", "/CN=%s" % name, "-out", "%s.csr" % name)
    if issuer is None:
        _openssl(d, "x509", "-req", "-in", "%s.csr" % name, "-key", key_file, "-days", "30", "-%s" % digest,
                 "-extfile", "%s.cnf" % name, "-out", "%s.pem" % name)
    else:
        _pem_files(d, "issuer-" + name, issuer)
        _openssl(d, "x509", "-req", "-in", "%s.csr" % name, "-CA", "issuer-%s.pem" % name, "-CAkey",
                 "issuer-%s.key" % name, "-days", "30", "-%s" % digest, "-extfile", "%s.cnf" % name,
                 "-out", "%s.pem" % name)
        (d / ("issuer-%s.key" % name)).unlink()
    return x509.load_pem_x509_certificate((d / ("%s.pem" % name)).read_bytes())


def _keystore(d, name, chain, password, key=None, pss=False):
    path = d / ("ks-%s.p12" % name)
    if pss:  # the RSASSA-PSS key is OpenSSL's: let OpenSSL write the PKCS#12 too
        (d / "pss-chain.pem").write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain[1:]))
        subprocess.run(["openssl", "pkcs12", "-export", "-inkey", "pss.key", "-in", "pss.pem", "-certfile",
                        "pss-chain.pem", "-name", "client", "-passout", "env:KS_PASSWORD", "-out", str(path)],
                       cwd=d, check=True, capture_output=True, env=dict(os.environ, KS_PASSWORD=password))
        (d / "pss.key").unlink()
    else:
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            b"client", key, chain[0], chain[1:], serialization.BestAvailableEncryption(password.encode())))
    return {"path": str(path), "password": password}


def _clients(d, password):
    rsa_ca = make_ca("CN=KeyType Client CA")
    root_key = make_key("rsa", 2048)
    (d / "sha1-root.key").write_bytes(Issued(cert=rsa_ca.cert, key=root_key).key_pem())
    sha1_root = Issued(cert=_openssl_cert(d, "KeyType SHA-1 Root", None, "sha1-root.key", digest="sha1", ca=True),
                       key=root_key)
    under_sha1 = make_ca("CN=KeyType Issuing CA", parent=sha1_root)
    keystores, chains = {}, {}
    for name, (kind, how) in CLIENTS.items():
        if kind == "rsapss":
            _openssl(d, "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "pss.key")
            cert = _openssl_cert(d, "mp-client-%s" % name, rsa_ca, "pss.key")
            assert certcore.java_key_algorithm(cert) == "RSASSA-PSS"
            (d / "pss.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            chains[name] = [cert, rsa_ca.cert]
            keystores[name] = _keystore(d, name, chains[name], password, pss=True)
            continue
        key = _key(kind)
        if how == "same-type-ca":  # the client CA has a key of the leaf's type: the chain is signed that way
            issuer = make_ca("CN=KeyType Client CA %s" % name, key=_key(kind))
            chain = [make_leaf("CN=mp-client-%s" % name, issuer=issuer, key=key).cert, issuer.cert]
        elif how == "sha1-root-attached":  # leaf <- issuing CA (SHA-256) <- root, self-signed with SHA-1, attached
            chain = [make_leaf("CN=mp-client-%s" % name, issuer=under_sha1, key=key).cert, under_sha1.cert,
                     sha1_root.cert]
        elif how == "rsa-ca-sha1":
            (d / "sha1-leaf.key").write_bytes(Issued(cert=rsa_ca.cert, key=key).key_pem())
            chain = [_openssl_cert(d, "mp-client-%s" % name, rsa_ca, "sha1-leaf.key", digest="sha1"), rsa_ca.cert]
            (d / "sha1-leaf.key").unlink()
        else:
            chain = [make_leaf("CN=mp-client-%s" % name, issuer=rsa_ca, key=key, rsa_pss=how == "rsa-ca-pss").cert,
                     rsa_ca.cert]
        chains[name] = chain
        keystores[name] = _keystore(d, name, chain, password, key=key)
    (d / "sha1-root.key").unlink()
    assert certcore.sig_alg_name(chains["rsa-sha1"][0]) == "SHA1withRSA"
    assert certcore.sig_alg_name(chains["rsa-sha1-root"][-1]) == "SHA1withRSA"
    assert certcore.sig_alg_name(chains["rsa-pss-signed"][0]) == "RSASSA-PSS"
    return keystores, chains


def _java_25():
    explicit = os.environ.get("JSSE_MATRIX_JAVA_25")
    for path in ([explicit] if explicit else []) + ["/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"]:
        if path and os.access(path, os.X_OK):
            return path
    return None


def _run_jvm(java, d, keystores, cases, tag):
    spec = d / ("cases-%s.json" % tag)
    spec.write_text(json.dumps({"host": "127.0.0.1", "port": cases[0]["port"], "timeout_ms": 10000,
                                "read_timeout_ms": 150,
                                "keystores": keystores, "cases": cases}))
    try:
        run = subprocess.run([java, "-XX:+UseSerialGC", jsse_matrix.JAVA_SOURCE, str(spec),
                              str(d / ("results-%s.jsonl" % tag))], capture_output=True, text=True, timeout=300)
    finally:
        spec.unlink()  # it holds the keystore password
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in (d / ("results-%s.jsonl" % tag)).read_text().splitlines()]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("keytypes")
    cert, key, _ = server_files(d, "CN=KeyType Server CA")
    password = secrets.token_urlsafe(12)
    keystores, chains = _clients(d, password)
    procs, ports = [], []
    try:
        for version, sigalgs in SERVERS:
            proc, port = start_s_server(cert, key, "-client_sigalgs", sigalgs,
                                        "-cipher", "DEFAULT:@SECLEVEL=0", version=version)
            procs.append(proc)
            ports.append(port)
        requests_read = [probe("127.0.0.1", port, server_name="localhost", tls_versions=[v], attempt_handshake=False,
                               timeout=5)["certificate_request"] for (v, _), port in zip(SERVERS, ports, strict=True)]
        cases = [{"id": "%d:%s" % (i, name), "keystore": name, "protocol": v, "port": port,
                  "sni": {"SunX509": "localhost", "PKIX": "localhost"}}
                 for i, ((v, _), port) in enumerate(zip(SERVERS, ports, strict=True)) for name in CLIENTS]
        results = {"17": _run_jvm(jsse_matrix.java_executable(), d, keystores, cases, "17")}
        java25 = _java_25()
        if java25:
            results["17-sha1-off"] = _run_jvm(java25, d, keystores, cases, "25")
    finally:
        stop(*procs)
    return {"requests": requests_read, "results": results, "chains": chains}


def jsse_outcome(r):
    """not_sent | aborted | sent | sent_then_refused (the backend's alert after the chain: its own verdict on a
    chain it got) | backend_failed: ..."""
    if r.get("alias") is None:  # no alias chosen (or, with no key type to ask for, no key manager call)
        return "not_sent"
    error = r.get("error") or ""
    if "No supported CertificateVerify signature algorithm" in error:
        return "aborted"
    if r.get("protocol") and "Read timed out" in error:  # completed; s_server -quiet then writes nothing
        return "sent"
    if "Received fatal alert" in error:
        return "sent_then_refused"
    return "backend_failed: %s" % error


def model_outcome(req, chain, km, java):
    leaf = chain[0]
    key = certcore.java_key_algorithm(leaf)
    curve = getattr(getattr(leaf.public_key(), "curve", None), "name", None)
    offered = jsse_key_types(req, java)
    sel = certcore.jsse_select(chain, req["certificate_authorities"], key_manager=km, key_types=offered,
                               cert_signatures=jsse_permitted_cert_signatures(req, java))
    if not sel.sent or (key == "EC" and curve not in JSSE_EC_CURVES):
        return "not_sent"
    size = getattr(leaf.public_key(), "key_size", None)
    return "sent" if certificate_verify_scheme(req, key, curve, size, java) else "aborted"


def _compare(world, java):
    cells, wrong, counts = 0, [], {}
    for r in world["results"][java]:
        index, name = r["case"].split(":")
        req = world["requests"][int(index)]
        assert req is not None, "the probe read no CertificateRequest from %s" % (SERVERS[int(index)],)
        got, want = jsse_outcome(r), model_outcome(req, world["chains"][name], r["km"], java)
        counts[got] = counts.get(got, 0) + 1
        cells += 1
        if got != want and not (got == "sent_then_refused" and want == "sent"):
            wrong.append((SERVERS[int(index)], name, r["km"], "jsse", got, "model", want, r.get("key_types"),
                          jsse_key_types(req, java)))
    return cells, wrong, counts


def test_the_model_decides_every_cell_as_jsse_17_does(world):
    cells, wrong, counts = _compare(world, "17")
    assert cells == len(SERVERS) * len(CLIENTS) * 2 >= 400
    assert wrong == [], "\n".join(map(str, wrong))
    # every outcome occurs; the backend refused only the chain with the attached self-signed SHA-1 root it does not
    # trust (unknown_ca: what the MP sent is right, the backend's verdict is its own); no other backend failure
    assert {"sent", "not_sent", "aborted"} <= set(counts) <= {"sent", "not_sent", "aborted", "sent_then_refused"}
    refused = {r["case"].split(":")[1] for r in world["results"]["17"] if jsse_outcome(r) == "sent_then_refused"}
    assert refused <= {"rsa-sha1-root"}, refused
    print("JSSE 17 matrix: %d cells, %s" % (cells, counts))
    assert {r["km"] for r in world["results"]["17"] if r.get("alias")} == {"SunX509", "PKIX"}


def test_the_key_types_jsse_asks_for_are_the_models(world):
    """Where JSSE called its key manager, the key types it passed are the ones the model derives from the request."""
    wrong = []
    for r in world["results"]["17"]:
        index, _ = r["case"].split(":")
        if r.get("km_calls"):
            want = jsse_key_types(world["requests"][int(index)], "17")
            got = [k.split("_")[0] for k in r.get("key_types") or []]
            if list(dict.fromkeys(got)) != want:
                wrong.append((SERVERS[int(index)], got, want))
    assert wrong == []


def test_a_jdk_with_sha1_handshake_signatures_disabled_is_the_sha1_off_profile(world):
    if "17-sha1-off" not in world["results"]:
        pytest.skip("no second JDK with SHA-1 handshake signatures disabled (set JSSE_MATRIX_JAVA_25)")
    cells, wrong, _ = _compare(world, "17-sha1-off")
    assert cells == len(SERVERS) * len(CLIENTS) * 2
    assert wrong == [], "\n".join(map(str, wrong))


def test_an_ec_key_on_a_curve_the_server_cannot_verify_is_caught(world):
    """The MP sends a P-384 certificate and then aborts itself when the server allows only ecdsa_secp256r1_sha256:
    no CertificateVerify scheme fits the key's curve."""
    for (version, sigalgs), req in zip(SERVERS, world["requests"], strict=True):
        if sigalgs == "ECDSA+SHA256":
            assert certificate_verify_scheme(req, "EC", "secp384r1") is None, version
            assert certificate_verify_scheme(req, "EC", "secp256r1") == "ecdsa_secp256r1_sha256"
