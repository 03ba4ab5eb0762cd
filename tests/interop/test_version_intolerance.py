"""A backend behind a relay that drops a ClientHello offering TLS 1.3 alone (tests/helpers/version_intolerant.py): the
probe pinned to TLS 1.3 is closed without an alert, so the pinned probes cannot tell which version the MP gets. JSSE
offers TLS 1.3 and 1.2 in one ClientHello, which passes, and the server behind picks TLS 1.3. The model then offers the
link's versions in one ClientHello too, and decides on the version the server picked there; checked against a real
JSSE 17 client through the same relay.

Servers (real `openssl s_server`s requiring a client certificate):
* ``pkcs1``: client signature algorithms ``RSA+SHA256`` only: TLS 1.2 completes with an RSA client, TLS 1.3 refuses
  (PKCS#1 is not allowed for a TLS 1.3 CertificateVerify). The TLS 1.2 probe alone said ``ok``; the MP fails.
* ``both``: TLS 1.3 and 1.2 with the defaults: the MP completes in TLS 1.3, and so does the model."""
import shutil

import pytest
from ansible.module_utils.mtls import jsse_profile
from ansible.module_utils.mtls.diagnosis import decide_per_version, link_tls_versions, run_diagnosis, unanswered
from ansible.module_utils.mtls.probe import probe_many
from ansible.module_utils.mtls.verdicts import diagnose

from tests.helpers.fake_apigee import FakeClient
from tests.helpers.openssl import server_files, start_s_server, stop
from tests.helpers.pki import client_pkcs12
from tests.helpers.version_intolerant import DropsTls13OnlyHello
from tests.interop.jsse import jsse_matrix
from tests.interop.test_tls_versions import _link

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("openssl") or not jsse_matrix.java_executable(),
                                                      reason="needs openssl and a JVM")]

SERVERS = {"pkcs1": ["-client_sigalgs", "RSA+SHA256"], "both": []}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("intolerant")
    cert, key, _ = server_files(d, "CN=Intolerant Server CA")
    client = client_pkcs12(d, "CN=Intolerant Client CA")
    client_ca, leaf, keystore, password = client["ca"], client["leaf"], client["keystore"], client["password"]
    prof = jsse_profile.profile("17")
    procs, relays, out = [], {}, {}
    try:
        for name, flags in SERVERS.items():
            proc, port = start_s_server(cert, key, *flags)
            procs.append(proc)
            relays[name] = DropsTls13OnlyHello(port)
        cases = []
        for name, relay in relays.items():
            link = _link(relay.port, [])
            versions = link_tls_versions(link, prof)
            pinned = probe_many([("127.0.0.1", relay.port, "localhost", v) for v in versions], timeout=5,
                                attempt_handshake=False)
            per = [(v, pinned[("127.0.0.1", relay.port, "localhost", v)]) for v in versions]
            offered = probe_many([("127.0.0.1", relay.port, "localhost", tuple(versions))], timeout=5,
                                 attempt_handshake=False)[("127.0.0.1", relay.port, "localhost", tuple(versions))]

            def decide(pr, link=link):
                return diagnose(link, keystore, pr, [client_ca.cert], java=prof)

            out[name] = {"per": per, "offered": offered,
                         "model": decide_per_version(per, decide, versions, prof, offered=offered),
                         "pinned_only": decide_per_version(per, decide, versions, prof)}
            cases.append({"id": name, "keystore": "ks", "protocol": ",".join(versions), "port": relay.port,
                          "sni": {"SunX509": "localhost"}})
        pipeline = _pipeline(relays, leaf, client_ca)
        jsse = jsse_matrix.run_cases(d, relays["pkcs1"].port,
                                     {"ks": {"path": str(d / "ks.p12"), "password": password}}, cases)
        dropped = {name: relay.dropped for name, relay in relays.items()}
    finally:
        for relay in relays.values():
            relay.close()
        stop(*procs)
    return {"out": out, "jsse": jsse, "dropped": dropped, "pipeline": pipeline}


def _pipeline(relays, leaf, client_ca):
    """run_diagnosis on one target server per relay (an Edge environment as JSON, the probes real): its rows and the
    number of probes it made."""
    def ts(name, port):
        return {"name": name, "host": "127.0.0.1", "port": port, "isEnabled": True,
                "sSLInfo": {"enabled": "true", "clientAuthEnabled": "true", "keyStore": "ks", "keyAlias": "client"}}

    data = {"": {"name": "acme"}, "/environments/test": {"name": "test"},
            "/environments/test/targetservers": sorted(relays),
            "/environments/test/deployments": {"aPIProxy": []}, "/environments/test/keystores": ["ks"],
            "/environments/test/keystores/ks": {"name": "ks", "aliases": [{"aliasName": "client", "key": "k"}]}}
    data.update({"/environments/test/targetservers/%s" % n: ts(n, r.port) for n, r in relays.items()})
    raw = {"/environments/test/keystores/ks/aliases/client/certificate": leaf.cert_pem() + client_ca.cert_pem()}
    report = run_diagnosis(FakeClient(data, raw), ["test"], probe_timeout=5, use_sni=False,
                           ca_bundle=[client_ca.cert_pem().decode()])
    return {"rows": {r["name"]: r for r in report["links"]}, "probes": report["stats"]["probes"]}


def _jsse_completes_with_certificate(r):
    return r["alias"] is not None and r["protocol"] is not None and "Read timed out" in (r["error"] or "")


def test_the_pinned_tls13_probe_is_dropped_and_says_nothing(world):
    for name, o in world["out"].items():
        tls13, tls12 = o["per"]
        assert unanswered(tls13[1]) and tls13[1]["server_hello_version"] is None, (name, tls13)
        assert tls12[1]["server_hello_version"] == "TLSv1.2"
        assert o["offered"]["server_hello_version"] == "TLSv1.3"   # the server behind picks TLS 1.3
        assert world["dropped"][name] >= 1


def test_the_link_is_decided_on_the_version_the_server_picks_from_the_mps_offer(world):
    got = {name: o["model"][0]["verdict"] for name, o in world["out"].items()}
    jsse = {name: _jsse_completes_with_certificate(world["jsse"][name]) for name in world["out"]}
    assert jsse == {"pkcs1": False, "both": True}, world["jsse"]
    assert {name: verdict == "ok" for name, verdict in got.items()} == jsse
    assert world["jsse"]["pkcs1"]["protocol"] in (None, "TLSv1.3")
    # judged on the pinned probes alone, the dropped TLS 1.3 probe made the model take TLS 1.2's ok
    assert world["out"]["pkcs1"]["pinned_only"][0]["verdict"] == "ok"
    _, _, tls = world["out"]["pkcs1"]["model"]
    assert tls["negotiated"] == "TLSv1.3" and tls["per_version"]["TLSv1.3"]["answered"] is False
    assert tls["per_version"]["TLSv1.2"]["verdict"] == "ok"


def test_the_whole_diagnosis_makes_the_offer_probe_and_decides_as_jsse(world):
    """run_diagnosis itself: the pinned probes, then one probe offering both versions for each link whose TLS 1.3
    probe was dropped; the verdicts are JSSE's."""
    rows, probes = world["pipeline"]["rows"], world["pipeline"]["probes"]
    assert probes == 2 * 2 + 2   # two pinned probes per backend, one offer probe each
    assert rows["pkcs1"]["verdict"] != "ok" and rows["both"]["verdict"] == "ok", {n: r["verdict"] for n, r in
                                                                                   rows.items()}
    assert rows["pkcs1"]["tls_versions"]["negotiated"] == "TLSv1.3"
