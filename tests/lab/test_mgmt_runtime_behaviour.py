"""Management API emulator: fault injection, request counters, persistence across restarts, DB file mode,
the real HTTP server (dropped connections) and testssl (a real TLS handshake against a loopback server)."""
from __future__ import annotations

import os
import socket
import stat
import struct
import threading
import time

import pytest
import requests
from apigee_lab.mgmt import serve
from OpenSSL import SSL, crypto

from tests.contract.mgmt_support import (
    BASIC,
    bundle_zip,
    create_keystore,
    full_chain_pem,
    import_bundle,
    make_app,
    pki,
    store_of,
    upload_keycert,
)
from tests.helpers.lab import free_block


@pytest.fixture()
def client(tmp_path):
    return make_app(tmp_path).test_client()


def test_fault_rule_status_retry_after_and_count(client):
    rule = client.post("/_lab/faults", json={"method": "GET", "path_regex": "/keystores$", "status": 429,
                                             "retry_after": 2, "count": 2})
    assert rule.status_code == 201
    for _ in range(2):
        resp = client.get("/v1/o/lab/e/test/keystores", headers=BASIC)
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"
        assert set(resp.get_json()) == {"code", "message", "contexts"}
    assert client.get("/v1/o/lab/e/test/keystores", headers=BASIC).status_code == 200
    # other methods / paths are not affected
    client.post("/_lab/faults", json={"method": "POST", "path_regex": "keystores", "status": 503})
    assert client.get("/v1/o/lab/e/test/keystores", headers=BASIC).status_code == 200
    assert client.post("/v1/o/lab/e/test/keystores", json={"name": "k"}, headers=BASIC).status_code == 503
    assert client.post("/v1/o/lab/e/test/keystores", json={"name": "k"}, headers=BASIC).status_code == 200
    stats = client.get("/_lab/requests").get_json()
    assert stats["total"] == 6 and stats["injected"] == 3
    assert stats["by_route"]["GET /v1/o/lab/e/test/keystores"] == 4
    assert stats["by_status"]["429"] == 2
    client.delete("/_lab/requests")
    assert client.get("/_lab/requests").get_json()["total"] == 0


def test_fault_rule_latency_and_clear(client):
    client.post("/_lab/faults", json={"path_regex": "/environments$", "latency_ms": 150, "count": 1})
    t0 = time.monotonic()
    assert client.get("/v1/o/lab/environments", headers=BASIC).status_code == 200
    assert time.monotonic() - t0 >= 0.15
    client.post("/_lab/faults", json={"path_regex": ".", "status": 500, "count": 5})
    assert len(client.get("/_lab/faults").get_json()) == 1
    client.delete("/_lab/faults")
    assert client.get("/v1/o/lab/environments", headers=BASIC).status_code == 200


@pytest.mark.parametrize("rule", [
    {"status": 418}, {"path_regex": "(", "status": 500}, {"count": 0, "status": 500}, {"drop": "yes"},
    {"status": 500, "drop": True}, {"path_regex": "x"}, {"status": 500, "colour": "red"},
])
def test_invalid_fault_rules_are_refused(client, rule):
    resp = client.post("/_lab/faults", json=rule)
    assert resp.status_code == 400 and resp.get_json()["code"] == "lab.fault.InvalidRule"


def test_state_survives_a_restart_and_db_is_private(tmp_path):
    p = pki()
    app = make_app(tmp_path)
    c = app.test_client()
    create_keystore(c, "ks1")
    assert upload_keycert(c, "ks1", "a1", full_chain_pem(), p["leaf"].key_pem()).status_code == 201
    c.post("/v1/o/lab/e/test/references", json={"name": "r", "refers": "ks1", "resourceType": "KeyStore"},
           headers=BASIC)
    c.post("/v1/o/lab/e/test/targetservers", json={"name": "t", "host": "h", "port": 1}, headers=BASIC)
    import_bundle(c, "p1", bundle_zip("p1", "/p1"))
    c.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments", headers=BASIC, data={"override": "false"})
    before = {path: c.get(path, headers=BASIC).get_json() for path in (
        "/v1/o/lab/e/test/keystores/ks1/aliases/a1", "/v1/o/lab/e/test/references/r",
        "/v1/o/lab/e/test/targetservers/t", "/v1/o/lab/e/test/deployments", "/v1/o/lab/apis/p1/revisions/1")}
    store_of(app).close()

    db = tmp_path / "lab.db"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    app2 = make_app(tmp_path)
    c2 = app2.test_client()
    for path, body in before.items():
        assert c2.get(path, headers=BASIC).get_json() == body, path
    store_of(app2).close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_server(tmp_path):
    port = free_block()
    holder = {}
    ready = threading.Event()

    def _ready(server):
        holder["server"] = server
        ready.set()

    th = threading.Thread(target=serve, args=("127.0.0.1", port, str(tmp_path)), kwargs={"ready": _ready},
                          daemon=True)
    th.start()
    assert ready.wait(10)
    yield "http://127.0.0.1:%d" % port
    holder["server"].shutdown()
    th.join(10)
    assert not th.is_alive()


def test_real_server_drop_connection_then_recovers(live_server):
    auth = ("lab-admin@example.com", "Lab-Passw0rd!")
    assert requests.get(live_server + "/v1/o/lab/environments", auth=auth, timeout=5).json() == ["prod", "test"]
    requests.post(live_server + "/_lab/faults", json={"path_regex": "/environments$", "drop": True, "count": 1},
                  timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(live_server + "/v1/o/lab/environments", auth=auth, timeout=5)
    assert requests.get(live_server + "/v1/o/lab/environments", auth=auth, timeout=5).status_code == 200
    assert requests.get(live_server + "/_lab/requests", timeout=5).json()["injected"] == 1


# ------------------------------------------------------------------------------------------------- testssl
@pytest.fixture()
def mtls_server():
    """A pyOpenSSL server on loopback that requires a client certificate issued under Root A (all in memory)."""
    p = pki()
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.use_privatekey(crypto.PKey.from_cryptography_key(p["server"].key))
    ctx.use_certificate(crypto.X509.from_cryptography(p["server"].cert))
    ctx.add_extra_chain_cert(crypto.X509.from_cryptography(p["inter"].cert))
    ctx.get_cert_store().add_cert(crypto.X509.from_cryptography(p["root"].cert))
    ctx.get_cert_store().add_cert(crypto.X509.from_cryptography(p["inter"].cert))
    ctx.set_client_ca_list([crypto.X509.from_cryptography(p["root"].cert).get_subject()])
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *a: a[-1])
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    lsock.settimeout(0.2)
    stop = threading.Event()
    errors = []

    def run():
        while not stop.is_set():
            try:
                raw, _ = lsock.accept()
            except (TimeoutError, OSError):
                continue
            raw.settimeout(None)   # pyOpenSSL needs a blocking socket; bound the wait with SO_RCVTIMEO instead
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
            conn = SSL.Connection(ctx, raw)
            conn.set_accept_state()
            try:
                conn.do_handshake()
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                conn.shutdown()
            except (SSL.Error, OSError) as exc:
                errors.append(exc)
            finally:
                raw.close()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    yield lsock.getsockname()[1]
    stop.set()
    th.join(5)
    lsock.close()


def test_testssl_real_handshake_ok_and_failing(client, mtls_server):
    p = pki()
    create_keystore(client, "ksfull")
    upload_keycert(client, "ksfull", "a1", full_chain_pem(), p["leaf"].key_pem())
    create_keystore(client, "ksempty")
    create_keystore(client, "trust")
    upload_keycert(client, "trust", "rootA", p["root"].cert_pem())
    client.post("/v1/o/lab/e/test/references", json={"name": "ksref", "refers": "ksfull",
                                                     "resourceType": "KeyStore"}, headers=BASIC)
    url = "/v1/organizations/lab/environments/test/testssl"
    good = client.post(url, json={"host": "127.0.0.1", "port": str(mtls_server), "targetEndpointConfiguration": {
        "clientAuthEnabled": True, "keyStore": "ref://ksref", "keyAlias": "a1", "trustStore": "trust"}},
        headers=BASIC)
    assert good.status_code == 200
    body = good.get_json()
    assert body["success"] is True, body
    assert body["clientCertificateRequested"] is True and body["clientCertificateSent"] is True
    assert any("CN=Lab Test Root A" in ca for ca in body["acceptableClientCAs"])
    assert "CN=127.0.0.1" in body["serverCertificates"][0]["subject"]
    assert body["protocol"] in ("TLSv1.2", "TLSv1.3")

    bad = client.post(url, json={"host": "127.0.0.1", "port": mtls_server, "targetEndpointConfiguration": {
        "clientAuthEnabled": "true", "keyStore": "ksempty", "trustStore": "trust"}}, headers=BASIC).get_json()
    assert bad["success"] is False and bad["error"]
    assert bad["clientCertificateSent"] is False

    untrusted = client.post(url, json={"host": "127.0.0.1", "port": mtls_server, "targetEndpointConfiguration": {
        "clientAuthEnabled": True, "keyStore": "ksfull", "keyAlias": "a1", "trustStore": "ksempty"}},
        headers=BASIC).get_json()
    assert untrusted["success"] is False and "certificate verify failed" in untrusted["error"]

    closed = client.post(url, json={"host": "127.0.0.1", "port": _free_port()}, headers=BASIC).get_json()
    assert closed["success"] is False and "cannot connect" in closed["error"]
    assert client.post(url, json={"port": 1}, headers=BASIC).status_code == 400
    assert client.post(url, json={"host": "127.0.0.1", "port": 1, "targetEndpointConfiguration": {
        "keyStore": "ref://nope"}}, headers=BASIC).status_code == 404
