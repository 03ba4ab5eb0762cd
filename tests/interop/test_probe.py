"""The probe against a real OpenSSL server (pyOpenSSL) requiring client certificates, TLS 1.2 and TLS 1.3."""
import socket

import pytest
from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.probe import probe, probe_many
from OpenSSL import SSL

from tests.helpers.openssl import TlsServer
from tests.helpers.pki import make_ca, make_leaf

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def pki():
    root_a = make_ca("CN=Probe Root A,O=Lab", key_type="ec")
    int_a = make_ca("CN=Probe Intermediate A,O=Lab", parent=root_a, key_type="ec")
    leaf_a = make_leaf("CN=mp-client-a,O=Lab", issuer=int_a, key_type="ec")
    root_c = make_ca("CN=Probe Root C,O=Lab", key_type="ec")
    leaf_c = make_leaf("CN=mp-client-c,O=Lab", issuer=root_c, key_type="ec")
    server = make_leaf("CN=localhost", issuer=root_a, key_type="ec", eku=("serverAuth",), san=["localhost"])
    return locals()


def Server(pki, version, require=True):
    """An OpenSSL server that requires a client certificate from Root A and answers HTTP 200 when it gets one."""
    return TlsServer(pki["server"], [pki["root_a"]], version, require=require)


@pytest.fixture(params=[SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION], ids=["TLSv1.2", "TLSv1.3"])
def server(request, pki):
    srv = Server(pki, request.param)
    yield srv
    srv.close()


def test_acceptable_cas_and_no_certificate_outcome(server, pki):
    r = probe("127.0.0.1", server.port, server_name="localhost", timeout=5)
    assert r["reachable"] and r["client_auth_requested"]
    assert r["acceptable_client_cas"] == ["CN=Probe Root A,O=Lab"]
    assert r["acceptable_client_cas_openssl"] == [certcore.dn_openssl(pki["root_a"].cert.subject)]
    assert r["server_chain"][0]["subject"] == "CN=localhost"
    hs = r["handshake"]
    assert hs["ok"] is False and hs["client_certificate_presented"] is False
    # OpenSSL servers: handshake_failure (TLS 1.2) or certificate_required (TLS 1.3), received for real
    assert hs["alert"] in ("handshake_failure", "certificate_required"), hs
    assert hs["alert"].replace("_", " ") in hs["alert_text"]


def test_chain_jsse_would_send_is_accepted(server, pki):
    chain = [pki["leaf_a"].cert, pki["int_a"].cert]
    r = probe("127.0.0.1", server.port, server_name="localhost", timeout=5, client_chain=chain,
              client_key=pki["leaf_a"].key)
    assert r["will_send_client_certificate"] is True
    assert r["matched_issuer"] == "CN=Probe Root A,O=Lab" and r["matched_index"] == 1
    assert r["handshake"]["ok"] is True and r["handshake"]["http_status"] == 200
    assert r["handshake"]["client_certificate_presented"] is True


def test_leaf_only_chain_is_not_sent_like_jsse(server, pki):
    # leaf A alone: its issuer (Intermediate A) is not acceptable -> JSSE sends nothing -> the server refuses
    r = probe("127.0.0.1", server.port, server_name="localhost", timeout=5, client_chain=[pki["leaf_a"].cert],
              client_key=pki["leaf_a"].key)
    assert r["will_send_client_certificate"] is False
    assert r["handshake"]["ok"] is False and r["handshake"]["client_certificate_presented"] is False


def test_unreachable_and_dedup(pki):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = probe("127.0.0.1", port, timeout=2)
    assert r["reachable"] is False and "cannot connect" in r["error"]
    srv = Server(pki, SSL.TLS1_3_VERSION, require=False)
    try:
        out = probe_many([("127.0.0.1", srv.port, "localhost")] * 5 + [("127.0.0.1", port, None)], max_workers=4,
                         timeout=3)
        assert len(out) == 2
        ok = out[("127.0.0.1", srv.port, "localhost")]
        assert ok["client_auth_requested"] is False and ok["handshake"]["http_status"] == 200
    finally:
        srv.close()
