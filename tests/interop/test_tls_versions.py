"""Per TLS version: a link is decided on the version the MP negotiates, checked against a real JSSE 17 client.

Backends are real `openssl s_server`s requiring a client certificate:
* ``tls12``: TLS 1.2 only;
* ``pkcs1``: TLS 1.2 and 1.3, client signature algorithms ``RSA+SHA256`` only. In TLS 1.2 an RSA client can sign its
  CertificateVerify with rsa_pkcs1_sha256; TLS 1.3 forbids PKCS#1 there, and this server then closes the TLS 1.3
  handshake before it asks for a certificate.
Links allow the Java 17 client defaults (empty <Protocols>: TLS 1.3 and 1.2), TLS 1.3 only, or TLS 1.2 only. The
client is one RSA keystore; JSSE is asked with the same protocol list the link gives the MP
(tests/interop/jsse/JsseMatrix.java)."""
import shutil

import pytest
from ansible.module_utils.mtls import jsse_profile
from ansible.module_utils.mtls.diagnosis import decide_per_version, link_tls_versions
from ansible.module_utils.mtls.links import Link, Resolved, SslInfo
from ansible.module_utils.mtls.probe import probe_many
from ansible.module_utils.mtls.verdicts import diagnose

from tests.helpers.openssl import server_files, start_s_server, stop
from tests.helpers.pki import client_pkcs12
from tests.interop.jsse import jsse_matrix

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("openssl") or not jsse_matrix.java_executable(),
                                                      reason="needs openssl and a JVM")]

SERVERS = {"tls12": ["-tls1_2"], "pkcs1": ["-client_sigalgs", "RSA+SHA256"]}
LINK_PROTOCOLS = {"defaults": [], "tls13": ["TLSv1.3"], "tls12": ["TLSv1.2"]}


def _link(port, protocols):
    ssl = SslInfo(enabled=True, client_auth_enabled=True, keystore="ks", key_alias="client", present=True,
                  protocols=list(protocols))
    return Link(id="targetserver:test/ts", env="test", source="targetserver", name="ts", host="127.0.0.1",
                port=port, sni="localhost", scheme="https", ssl=ssl, keystore=Resolved(declared="ks", name="ks"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("versions")
    cert, key, _ = server_files(d, "CN=Versions Server CA")
    client = client_pkcs12(d, "CN=Versions Client CA")
    client_ca, keystore, password = client["ca"], client["keystore"], client["password"]
    procs, ports = [], {}
    prof = jsse_profile.profile("17")
    try:
        for name, flags in SERVERS.items():
            proc, ports[name] = start_s_server(cert, key, *flags)
            procs.append(proc)
        targets = [("127.0.0.1", port, "localhost", v) for port in ports.values() for v in ("TLSv1.3", "TLSv1.2")]
        probes = probe_many(targets, timeout=5, attempt_handshake=False)
        model = {}
        cases = []
        for server, port in ports.items():
            for lname, protocols in LINK_PROTOCOLS.items():
                link = _link(port, protocols)
                versions = link_tls_versions(link, prof)
                per = [(v, probes[("127.0.0.1", port, "localhost", v)]) for v in versions]
                model[(server, lname)] = decide_per_version(
                    per, lambda pr, link=link: diagnose(link, keystore, pr, [client_ca.cert], java=prof), versions,
                    prof)
                cases.append({"id": "%s:%s" % (server, lname), "keystore": "ks", "protocol": ",".join(versions),
                              "port": port, "sni": {"SunX509": "localhost"}})
        jsse = jsse_matrix.run_cases(d, ports["tls12"],
                                     {"ks": {"path": str(d / "ks.p12"), "password": password}}, cases)
    finally:
        stop(*procs)
    return {"model": model, "jsse": jsse}


def _jsse_completes_with_certificate(r):
    """JSSE chose the alias and the handshake completed: s_server -quiet then writes nothing, so the client's read
    after the handshake times out (any other error is a failed handshake)."""
    return r["alias"] is not None and r["protocol"] is not None and "Read timed out" in (r["error"] or "")


def test_every_link_is_decided_as_jsse_negotiates_it(world):
    wrong = []
    for (server, lname), (result, _, _) in world["model"].items():
        jsse_ok = _jsse_completes_with_certificate(world["jsse"]["%s:%s" % (server, lname)])
        if (result["verdict"] == "ok") != jsse_ok:
            wrong.append((server, lname, result["verdict"], world["jsse"]["%s:%s" % (server, lname)]))
    assert wrong == []
    assert {k: v[0]["verdict"] for k, v in world["model"].items()} == {
        ("tls12", "defaults"): "ok", ("tls12", "tls13"): "backend_unreachable", ("tls12", "tls12"): "ok",
        ("pkcs1", "defaults"): "backend_unreachable", ("pkcs1", "tls13"): "backend_unreachable",
        ("pkcs1", "tls12"): "ok"}


def test_the_other_versions_outcome_is_kept_and_named(world):
    result, _, tls = world["model"][("pkcs1", "defaults")]
    assert tls["allowed"] == ["TLSv1.3", "TLSv1.2"] and tls["negotiated"] == "TLSv1.3"
    assert tls["per_version"]["TLSv1.2"]["verdict"] == "ok" and tls["per_version"]["TLSv1.2"]["answered"]
    assert "with TLSv1.2 the outcome would be TLSv1.2: ok" in result["remediation"]["text"]
    assert "fails before the backend asks for a client certificate" in result["remediation"]["text"]
    # a TLS 1.2-only backend: the MP negotiates TLS 1.2, the version the backend answers
    _, _, tls = world["model"][("tls12", "defaults")]
    assert tls["negotiated"] == "TLSv1.2" and tls["per_version"]["TLSv1.3"]["answered"] is False


def test_a_java_8_mp_offers_only_tls_1_2_by_default():
    """JDK 8u261+ clients enable only TLS 1.2 unless told otherwise (release note JDK-8245485)."""
    link = _link(1, [])
    assert link_tls_versions(link, jsse_profile.profile("8")) == ["TLSv1.2"]
    assert link_tls_versions(link, jsse_profile.profile("17")) == ["TLSv1.3", "TLSv1.2"]
    assert link_tls_versions(_link(1, ["TLSv1.1"]), jsse_profile.profile("17")) == []
