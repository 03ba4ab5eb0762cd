"""Which key types a JSSE 17 client sends to a server's CertificateRequest, decided by real JSSE and compared with the
model (certificate_request.jsse_key_types / certificate_verify_scheme) on the request the probe really read.

Each backend is a real `openssl s_server` asking for a client certificate with chosen client signature algorithms
(which also set the TLS 1.2 certificate_types) and no CA names (so the key type alone decides). Each client is a
PKCS#12 keystore with one key entry (RSA 2048, EC P-256, EC P-384, Ed25519, DSA 2048) in ONE JVM
(tests/interop/jsse/JsseMatrix.java, SunX509 and PKIX). "Sent" is the alias JSSE's own key manager returned."""
import json
import secrets
import shutil
import subprocess

import pytest
from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.certificate_request import (
    certificate_verify_scheme,
    jsse_key_types,
    jsse_permitted_cert_signatures,
)
from ansible.module_utils.mtls.probe import probe
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.helpers.lab import free_block, wait_for_port
from tests.helpers.pki import make_ca, make_key, make_leaf
from tests.interop.jsse import jsse_matrix

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("openssl") or not jsse_matrix.java_executable(),
                                                      reason="needs openssl and a JVM")]

SERVERS = [  # (TLS version, OpenSSL -client_sigalgs)
    ("TLSv1.2", "RSA+SHA256"), ("TLSv1.2", "ECDSA+SHA256"), ("TLSv1.2", "ECDSA+SHA384:RSA+SHA256"),
    ("TLSv1.2", "ed25519"), ("TLSv1.2", "RSA-PSS+SHA256"), ("TLSv1.2", "DSA+SHA256:ECDSA+SHA256"),
    ("TLSv1.3", "rsa_pss_rsae_sha256"), ("TLSv1.3", "ECDSA+SHA256"), ("TLSv1.3", "ed25519:ECDSA+SHA384"),
    ("TLSv1.3", "rsa_pss_pss_sha256:ECDSA+SHA256"), ("TLSv1.3", "rsa_pss_rsae_sha256:ed25519"),
]
KEYS = {"rsa": ("rsa", 2048), "ec256": ("ec", None), "ec384": ("ec-p384", None), "ed25519": ("ed25519", None),
        "dsa": ("dsa", 2048)}
CLIENTS = dict(KEYS, **{"ec256-m": ("ec", None), "ed25519-m": ("ed25519", None)})


def _key(kind):
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519

    if kind == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "dsa":
        return dsa.generate_private_key(2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return make_key(kind, 2048 if kind == "rsa" else None)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("keytypes")
    ca = make_ca("CN=KeyType Server CA")
    server = make_leaf("CN=localhost", issuer=ca, eku=("serverAuth",), san=["localhost"])
    (d / "server.pem").write_bytes(server.cert_pem())
    (d / "server.key").write_bytes(server.key_pem())
    password = secrets.token_urlsafe(12)
    keystores, leaves, chains = {}, {}, {}
    for name, (kind, _) in CLIENTS.items():
        # "-m": the client CA has a key of the leaf's type, so the chain is signed as the server asks (PKIX sends)
        issuer = make_ca("CN=KeyType Client CA %s" % name, key=_key(kind) if name.endswith("-m") else None)
        leaf = make_leaf("CN=mp-client-%s" % name, issuer=issuer, key=_key(kind))
        leaves[name] = leaf.cert
        chains[name] = [leaf.cert, issuer.cert]
        path = d / ("ks-%s.p12" % name)
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            b"client", leaf.key, leaf.cert, [issuer.cert], serialization.BestAvailableEncryption(password.encode())))
        keystores[name] = {"path": str(path), "password": password}
    procs, ports = [], []
    for version, sigalgs in SERVERS:
        port = free_block(1)
        flag = {"TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}[version]
        procs.append(subprocess.Popen(
            ["openssl", "s_server", "-accept", str(port), "-cert", str(d / "server.pem"), "-key", str(d / "server.key"),
             "-Verify", "1", flag, "-client_sigalgs", sigalgs, "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    try:
        for port in ports:
            wait_for_port(port)
        requests_read = [probe("127.0.0.1", port, server_name="localhost", tls_versions=[v], attempt_handshake=False,
                               timeout=5)["certificate_request"] for (v, _), port in zip(SERVERS, ports, strict=True)]
        cases = [{"id": "%d:%s" % (i, name), "keystore": name, "protocol": v, "port": port,
                  "sni": {"SunX509": "localhost", "PKIX": "localhost"}}
                 for i, ((v, _), port) in enumerate(zip(SERVERS, ports, strict=True)) for name in CLIENTS]
        (d / "cases.json").write_text(json.dumps({"host": "127.0.0.1", "port": ports[0], "timeout_ms": 500,
                                                  "keystores": keystores, "cases": cases}))
        run = subprocess.run([jsse_matrix.java_executable(), "-XX:+UseSerialGC", jsse_matrix.JAVA_SOURCE,
                              str(d / "cases.json"), str(d / "results.jsonl")], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        results = [json.loads(line) for line in (d / "results.jsonl").read_text().splitlines()]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return {"requests": requests_read, "results": results, "leaves": leaves, "chains": chains}


def _curve(cert):
    pub = cert.public_key()
    return getattr(getattr(pub, "curve", None), "name", None)


def test_the_model_decides_every_cell_as_jsse_does(world):
    cells, wrong = 0, []
    for r in world["results"]:
        index, name = r["case"].split(":")
        req = world["requests"][int(index)]
        assert req is not None, "the probe read no CertificateRequest from %s" % (SERVERS[int(index)],)
        leaf = world["leaves"][name]
        key = certcore.java_key_algorithm(leaf)
        offered = jsse_key_types(req)
        sel = certcore.jsse_select(world["chains"][name], req["certificate_authorities"], key_manager=r["km"],
                                   key_types=offered, cert_signatures=jsse_permitted_cert_signatures(req))
        model_sent = sel.sent and (key != "EC" or _curve(leaf) in ("secp256r1", "secp384r1", "secp521r1"))
        jsse_sent = r.get("alias") is not None
        cells += 1
        if model_sent != jsse_sent:
            wrong.append((SERVERS[int(index)], name, r["km"], "model", model_sent, "jsse", jsse_sent,
                          r.get("key_types"), offered))
    assert cells == len(SERVERS) * len(CLIENTS) * 2
    sent = sum(1 for r in world["results"] if r.get("alias") is not None)
    assert 0 < sent < cells  # both outcomes occur, for both key managers
    assert {r["km"] for r in world["results"] if r.get("alias")} == {"SunX509", "PKIX"}
    assert wrong == [], "\n".join(map(str, wrong))


def test_an_ec_key_on_a_curve_the_server_cannot_verify_is_caught(world):
    """The MP sends a P-384 certificate and then aborts itself when the server allows only ecdsa_secp256r1_sha256:
    no CertificateVerify scheme fits the key's curve."""
    for (version, sigalgs), req in zip(SERVERS, world["requests"], strict=True):
        if sigalgs == "ECDSA+SHA256":
            assert certificate_verify_scheme(req, "EC", "secp384r1") is None, version
            assert certificate_verify_scheme(req, "EC", "secp256r1") == "ecdsa_secp256r1_sha256"
