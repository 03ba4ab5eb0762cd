"""A link's SSLInfo <Ciphers> (and the names in its <Protocols>), decided by the model (cipher_suites.py, the
diagnosis' TLS versions and the probe that offers the same suites) and by real JSSE.

The client is the lab MP's own JSSE client (lab/java/MpClient.java: ``setEnabledCipherSuites`` with the link's list, as
the MP applies SSLInfo <Ciphers>); the backend is an OpenSSL server accepting only some suites. For every case the model
must say what JSSE did: the MP opens TLS to the backend exactly when the model finds a version and a probe offering the
link's suites completes the handshake. The table itself is checked against this machine's JDK."""
import os
import subprocess

import pytest
from ansible.module_utils.mtls import jsse_profile
from ansible.module_utils.mtls.cipher_suites import DISABLED, SCSV, TLS12, TLS13, cipher_plan, no_handshake_reason
from ansible.module_utils.mtls.diagnosis import decide_per_version, link_tls_versions, no_protocol_probe
from ansible.module_utils.mtls.links import Link, SslInfo
from ansible.module_utils.mtls.probe import probe
from ansible.module_utils.mtls.verdicts import diagnose
from apigee_lab.backends import compile_java
from apigee_lab.runtime import JvmClient
from OpenSSL import SSL

from tests.helpers.openssl import TlsServer
from tests.helpers.pki import make_ca, make_leaf

pytestmark = pytest.mark.interop
ECDHE_128 = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
ECDHE_256 = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"

# (case, backend: TLS version (None: 1.2 and 1.3), TLS 1.2 suites (OpenSSL names), TLS 1.3 suites; the link's
# <Protocols>, its <Ciphers>; whether real JSSE gets through -- the expectation is asserted against JSSE too)
CASES = [
    ("a_shared_tls12_suite", "TLSv1.2", ["ECDHE-RSA-AES256-GCM-SHA384"], None, [], [ECDHE_256], True),
    ("no_shared_tls12_suite", "TLSv1.2", ["ECDHE-RSA-AES256-GCM-SHA384"], None, [], [ECDHE_128], False),
    ("one_of_several_shared", "TLSv1.2", ["ECDHE-RSA-AES256-GCM-SHA384"], None, [],
     [ECDHE_128, "TLS_RSA_WITH_AES_128_CBC_SHA", ECDHE_256], True),
    ("an_openssl_name_fails_the_whole_list", None, None, None, [], [ECDHE_128, "ECDHE-RSA-AES128-GCM-SHA256"], False),
    ("a_name_java_only_knows_by_name", None, None, None, [], [ECDHE_128, "TLS_AES_128_CCM_SHA256"], False),
    ("only_disabled_suites", None, None, None, [], ["TLS_RSA_WITH_3DES_EDE_CBC_SHA", "SSL_RSA_WITH_RC4_128_SHA"],
     False),
    ("a_disabled_suite_is_dropped", None, None, None, [], ["TLS_RSA_WITH_3DES_EDE_CBC_SHA", ECDHE_128], True),
    ("tls13_backend_tls12_suites_only", "TLSv1.3", None, None, [], [ECDHE_128], False),
    ("tls13_backend_shared_tls13_suite", "TLSv1.3", None, ["TLS_AES_256_GCM_SHA384"], [],
     ["TLS_AES_256_GCM_SHA384", ECDHE_128], True),
    ("tls13_backend_no_shared_tls13_suite", "TLSv1.3", None, ["TLS_AES_256_GCM_SHA384"], [],
     ["TLS_AES_128_GCM_SHA256", ECDHE_128], False),
    ("tls12_backend_tls13_suites_only", "TLSv1.2", None, None, [], ["TLS_AES_128_GCM_SHA256"], False),
    ("tls13_suites_with_protocols_tls12", None, None, None, ["TLSv1.2"], ["TLS_AES_128_GCM_SHA256"], False),
    # the backend takes TLS 1.3 (the highest both offer) before it looks for a suite, and refuses: no fall back to
    # the TLS 1.2 suite both share
    ("tls13_taken_first_no_fallback_to_a_shared_tls12_suite", None, ["ECDHE-RSA-AES256-GCM-SHA384"],
     ["TLS_AES_256_GCM_SHA384"], [], ["TLS_AES_128_GCM_SHA256", ECDHE_256], False),
    ("both_versions_shared", None, ["ECDHE-RSA-AES256-GCM-SHA384"], ["TLS_AES_256_GCM_SHA384"], [],
     ["TLS_AES_256_GCM_SHA384", ECDHE_256], True),
    ("tls13_only_link_against_both_versions", None, None, None, ["TLSv1.3"], [ECDHE_128, "TLS_AES_128_GCM_SHA256"],
     True),
    ("only_the_signalling_value", None, None, None, [], [SCSV], False),
    # <Protocols> names are exact in JSSE too: one it does not know fails the whole list
    ("a_protocol_name_in_lower_case", None, None, None, ["tlsv1.2"], [], False),
    ("tls_1_0_spelled_with_a_zero", None, None, None, ["TLSv1.0", "TLSv1.2"], [], False),
    ("protocols_as_java_names_them", None, None, None, ["TLSv1.2"], [], True),
    ("the_signalling_value_and_a_disabled_suite", None, None, None, [], [SCSV, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"], False),
]
VERSIONS = {"TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION}


@pytest.fixture(scope="module")
def pki():
    root = make_ca("CN=Cipher Root,O=Lab")
    return root, make_leaf("CN=localhost", issuer=root, san=["localhost"], eku=("serverAuth",))


@pytest.fixture(scope="module")
def jsse(tmp_path_factory):
    client = JvmClient(compile_java(), str(tmp_path_factory.mktemp("mpclient") / "mpclient.log"))
    yield client
    client.close()


def _mp_call(jsse, port, protocols, ciphers, root):
    return jsse.call({"host": "127.0.0.1", "port": port, "method": "GET", "path": "/", "headers": {},
                      "body_b64": "", "tls": True, "client_auth": False, "alias": None, "key_pkcs8_b64": None,
                      "chain_pem": None, "trust_pem": [root.cert_pem().decode()], "ignore_validation_errors": False,
                      "protocols": protocols, "ciphers": ciphers, "key_manager": "SunX509", "timeout_ms": 10000})


def _link(port, protocols, ciphers):
    return Link(id="targetserver:test/ts", env="test", source="targetserver", name="ts", host="127.0.0.1",
                port=port, sni=None, ssl=SslInfo(enabled=True, protocols=protocols, ciphers=ciphers, present=True))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_model_opens_tls_exactly_when_jsse_does(jsse, pki, case):
    _name, version, suites12, suites13, protocols, ciphers, expected = case
    root, leaf = pki
    srv = TlsServer(leaf, [], VERSIONS.get(version), require=False, ciphers=suites12, tls13_suites=suites13)
    prof = jsse_profile.profile("17")
    link = _link(srv.port, protocols, ciphers)
    try:
        real = _mp_call(jsse, srv.port, protocols, ciphers, root)
        versions = link_tls_versions(link, prof)
        per_version = [(v, probe("127.0.0.1", srv.port, timeout=5, tls_versions=[v], ciphers=ciphers))
                       for v in versions] or [(None, no_protocol_probe(link, prof))]
    finally:
        srv.close()
    assert bool(real.get("ok")) is expected, real   # the case is what it says it is, in real JSSE
    result, chosen, _tls = decide_per_version(per_version, lambda pr: diagnose(link, None, pr, []), versions, prof)
    opened = bool(chosen and chosen.get("reachable") and (chosen.get("handshake_without_certificate") or {})
                  .get("completed"))
    assert opened is expected, (per_version, real.get("message"))
    if not expected:
        assert result["verdict"] == "backend_unreachable", result
        if not versions:   # JSSE opened nothing: the model says why, in JSSE's own terms
            assert real["stage"] in ("setup", "handshake"), real
            said = result["remediation"]["text"] + " " + (chosen or {}).get("error", "")
            jsse_said = real.get("message", "")
            assert any(w in jsse_said and w in said for w in ("Unsupported CipherSuite", "No appropriate protocol",
                                                             "No negotiable cipher suite", "Unsupported protocol")), \
                (jsse_said, said)
    else:
        assert chosen["protocol"] == real["protocol"], (chosen["protocol"], real["protocol"])
        assert chosen["cipher"] is not None


JAVA_SUITES = r"""
import javax.net.ssl.*; import java.nio.file.*; import java.util.*;
public class Suites { public static void main(String[] a) throws Exception {
  SSLContext c = SSLContext.getInstance("TLS"); c.init(null, null, null);
  SSLSocket s = (SSLSocket) c.getSocketFactory().createSocket();
  System.out.println("SUPPORTED " + String.join(",", s.getSupportedCipherSuites()));
  System.out.println("DEFAULT " + String.join(",", s.getEnabledCipherSuites()));
  for (String n : Files.readAllLines(Paths.get(a[0]))) {
    try { s.setEnabledCipherSuites(new String[]{n}); System.out.println("ACCEPTED " + n); }
    catch (IllegalArgumentException e) { System.out.println("REFUSED " + n); } } } }
"""


def test_the_table_is_what_this_jdk_does(tmp_path):
    """Every usable suite of the table is in JDK 17's supported and default lists and nothing else is; every disabled
    name is accepted by setEnabledCipherSuites and absent from both lists; an OpenSSL name is refused."""
    (tmp_path / "Suites.java").write_text(JAVA_SUITES)
    names = sorted(DISABLED) + ["ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_CCM_SHA256"]
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    subprocess.run(["javac", "-d", str(tmp_path), str(tmp_path / "Suites.java")], check=True, timeout=120)
    out = subprocess.run(["java", "-cp", str(tmp_path), "Suites", str(tmp_path / "names.txt")], check=True,
                         capture_output=True, text=True, timeout=60, env=dict(os.environ)).stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines() if line.startswith(("SUPPORTED", "DEFAULT")))
    supported = lines["SUPPORTED"].split(",")
    assert supported == lines["DEFAULT"].split(",")
    assert supported == list(TLS13) + list(TLS12) + [SCSV]   # the same suites, in JSSE's order
    verdicts = dict(reversed(line.split(" ", 1)) for line in out.splitlines() if line.startswith(("ACC", "REF")))
    assert {n for n in DISABLED if verdicts[n] != "ACCEPTED"} == set()
    assert verdicts["ECDHE-RSA-AES128-GCM-SHA256"] == "REFUSED" and verdicts["TLS_AES_128_CCM_SHA256"] == "REFUSED"
    assert not set(DISABLED) & set(supported)


def test_the_openssl_names_are_openssls():
    """OpenSSL's own mapping of the standard names (openssl ciphers -stdname) gives the table's TLS 1.2 names."""
    out = subprocess.run(["openssl", "ciphers", "-stdname", "ALL"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    mapping = {parts[0]: parts[2] for parts in (line.split() for line in out.splitlines()) if len(parts) >= 3}
    assert {n: mapping.get(n) for n in TLS12} == TLS12


def test_no_handshake_reasons_name_the_cause():
    assert no_handshake_reason(cipher_plan([])) is None
    assert "Unsupported CipherSuite" in no_handshake_reason(cipher_plan([ECDHE_128, "AES128-SHA"]))
    assert "No appropriate protocol" in no_handshake_reason(cipher_plan(["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]))
    assert no_handshake_reason(cipher_plan(["TLS_RSA_WITH_3DES_EDE_CBC_SHA", ECDHE_128])) is None


def _probe_module(port, ciphers):
    """Module tls_backend_probe run by ansible (ad hoc, on localhost) with the given ciphers."""
    import json
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = json.dumps({"host": "127.0.0.1", "port": port, "sni": False, "timeout": 5, "ciphers": ciphers})
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m",
                          "tls_backend_probe", "-a", args, "-o"], cwd=root, capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"),
                                               ANSIBLE_NOCOLOR="1"))
    return res.returncode, res.stdout + res.stderr


def test_the_probe_module_offers_the_links_suites(pki):
    root, leaf = pki
    srv = TlsServer(leaf, [], SSL.TLS1_2_VERSION, require=False, ciphers=["ECDHE-RSA-AES256-GCM-SHA384"])
    try:
        rc, shared = _probe_module(srv.port, [ECDHE_256])
        assert rc == 0 and '"completed": true' in shared and "ECDHE-RSA-AES256-GCM-SHA384" in shared, shared
        rc, none_shared = _probe_module(srv.port, [ECDHE_128])
        assert rc == 0 and '"completed": false' in none_shared and "handshake_failure" in none_shared, none_shared
        rc, bad = _probe_module(srv.port, [ECDHE_128, "AES128-SHA"])
        assert rc != 0 and "Unsupported CipherSuite" in bad and "AES128-SHA" in bad, bad
    finally:
        srv.close()


def test_what_the_java_17_table_cannot_tell_for_older_javas_is_named():
    from ansible.module_utils.mtls.cipher_suites import unmeasured_for

    plan = cipher_plan(["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", ECDHE_128, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"])
    assert unmeasured_for(plan, "17") == [] and unmeasured_for(plan, "17-sha1-off") == []
    assert unmeasured_for(plan, "11") == unmeasured_for(plan, "8") == [
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA"]
    assert unmeasured_for(None, "8") == []
