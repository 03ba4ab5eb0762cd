"""The MP runtime against real backends through the real JSSE client (one JVM, real handshakes).

The management store is replaced by an in-memory object implementing the same read interface, so these tests exercise
the runtime's call-time resolution and its failure output without the management API; tests/lab/test_labctl.py runs
the same paths through the whole lab.
"""
import http.client
import io
import json
import os
import threading
import zipfile
from http.server import ThreadingHTTPServer

import pytest
from apigee_lab import backends, bundles, pki, procs, runtime, scenarios

from tests.helpers.lab import free_block, lab_ports

FAULT = ('{"fault":{"faultstring":"The Service is temporarily unavailable","detail":'
         '{"errorcode":"messaging.adaptors.http.flow.ServiceUnavailable"}}}')


class MemoryStore:
    """The Store read methods the runtime uses, over plain dicts."""

    def __init__(self):
        self.deployments = {"test": [], "prod": []}
        self.bundles, self.targetservers, self.references = {}, {}, {}
        self.keystores, self.aliases, self.truststore_certs = {}, {}, {}

    def list_deployments(self, org, env):
        return list(self.deployments.get(env, []))

    def get_revision_bundle(self, org, api, revision):
        return self.bundles[(api, int(revision))]

    def get_targetserver(self, org, env, name):
        return self.targetservers.get((env, name))

    def get_reference(self, org, env, name):
        return self.references.get((env, name))

    def get_keystore(self, org, env, name):
        return self.keystores.get((env, name))

    def get_alias_material(self, org, env, keystore, alias):
        return self.aliases.get((env, keystore, alias))

    def list_truststore_certs_pem(self, org, env, keystore):
        return list(self.truststore_certs.get((env, keystore), []))

    def active_debug_sessions(self, org, env, api, revision):
        return []   # no debug session here: tests/lab/test_labctl.py runs them through the whole lab


def _read(path):
    return pki.read_text(path)


@pytest.fixture(scope="module")
def rt(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("rtlab"))
    p = pki.ensure_pki(state)
    base = free_block(lab_ports())
    specs = backends.specs(state, base)
    backends.write_truststores(state, specs, force=True)
    backends.compile_java(state)
    store = MemoryStore()
    ports = {s["name"]: s["port"] for s in specs}
    store.keystores[("test", "mptruststore")] = {"name": "mptruststore"}
    store.truststore_certs[("test", "mptruststore")] = [_read(p["server_ca"])]
    store.references[("test", "mp-truststore-ref")] = {"name": "mp-truststore-ref", "refers": "mptruststore",
                                                       "resourceType": "KeyStore"}
    links = {}
    for link in scenarios.links_for("all"):
        side = link["side"]
        store.keystores[("test", link["keystore"])] = {"name": link["keystore"]}
        if link["content"] != "empty":
            chain = _read(p[f"fullchain_{side}"] if link["content"] == "fullchain" else p[f"leaf_{side}"])
            store.aliases[("test", link["keystore"], link["alias"])] = {"key_pem": _read(p[f"key_{side}"]),
                                                                        "chain_pem": chain}
        if link["reference"]:
            store.references[("test", link["reference"])] = {"name": link["reference"], "refers": link["keystore"],
                                                             "resourceType": "KeyStore"}
        if link["declared_in"] == "targetserver":
            store.targetservers[("test", link["targetserver"])] = {
                "name": link["targetserver"], "host": "localhost", "port": ports[link["backend"]], "isEnabled": True,
                "sSLInfo": {"enabled": "true", "clientAuthEnabled": str(link["client_auth"]).lower(),
                            "keyStore": scenarios.keystore_in_sslinfo(link), "keyAlias": link["alias"],
                            "trustStore": "ref://mp-truststore-ref"}}
        store.bundles[(link["api"], 1)] = scenarios.proxy_bundle(link, ports[link["backend"]])
        store.deployments["test"].append({"api": link["api"], "revision": 1, "basepaths": [link["basepath"]]})
        links[link["short"]] = link
    backends.start_all(state, specs)
    rtm = runtime.Runtime(state, "lab", ["test", "prod"], backends.classes_dir(state), store=store)
    server = ThreadingHTTPServer(("127.0.0.1", 0), runtime.make_handler(rtm))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"state": state, "store": store, "port": server.server_address[1], "links": links, "specs": specs,
               "pki": p, "runtime": rtm}
    finally:
        server.shutdown()
        server.server_close()
        rtm.jvm.close()
        backends.stop_all(state)


def call(rt, path):
    conn = http.client.HTTPConnection("127.0.0.1", rt["port"], timeout=30)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    headers = dict(resp.getheaders())
    conn.close()
    return resp.status, resp.reason, headers, body


def system_log(rt):
    path = os.path.join(rt["state"], "logs", "mp", "system.log")
    return open(path, encoding="utf-8").read() if os.path.exists(path) else ""


@pytest.mark.interop
@pytest.mark.parametrize("short,backend", [("healthy-jsse", "jsse-a"), ("healthy-nginx", "nginx-a")])
def test_healthy_link_completes_a_real_mtls_handshake(rt, short, backend):
    status, _, headers, body = call(rt, rt["links"][short]["basepath"] + "/orders?x=1")
    assert status == 200, body
    doc = json.loads(body)
    assert doc["backend"] == backend
    assert "CN=mp-client-a" in doc["client_subject"]
    assert headers["X-Apigee.Message-ID"].startswith("rrt-")


@pytest.mark.interop
@pytest.mark.parametrize("short", ["missing-cert-jsse", "ca-mismatch-jsse", "chain-incomplete-jsse",
                                   "client-auth-off-jsse"])
def test_broken_jsse_link_gives_the_runbook_503_and_mp_log(rt, short):
    link = rt["links"][short]
    status, reason, headers, body = call(rt, link["basepath"])
    assert (status, reason) == (503, "Service Unavailable")
    assert body.decode() == FAULT
    mid = headers["X-Apigee.Message-ID"]
    log = system_log(rt)
    records = [line for line in log.splitlines() if f"messageid:{mid} " in line]
    assert len(records) == 3, log[-3000:]
    assert f"api:{link['api']} rev:1 " in records[0] and "org:lab env:test " in records[0]
    assert "NIOThread@0 ERROR HTTP.CLIENT - HTTPClient$Context.handshakeFailed() : SSLClientChannel[C:127.0.0.1:" \
        in records[0]
    port = dict((s["name"], s["port"]) for s in rt["specs"])[link["backend"]]
    assert f"# Remote host:127.0.0.1:{port} #]@" in records[0]
    assert records[0].endswith("handshake failed, message: Received fatal alert: bad_certificate")
    assert "SSLInfo: KeyStore:java.security.KeyStore@" in records[1] and f"KeyAlias:{link['alias']} " in records[1]
    assert "javax.net.ssl.SSLHandshakeException: Received fatal alert: bad_certificate" in records[2]
    # the real JSSE stack follows the record
    after = log.split(records[2], 1)[1].splitlines()[1]
    assert after.startswith("\tat ") and "sun.security.ssl." in after
    traces = rt["runtime"].traces(messageid=mid)
    assert traces[0]["error"]["cause"] == "Received fatal alert: bad_certificate"
    assert traces[0]["target"]["ssl_info"]["keystore"] == link["keystore"]


@pytest.mark.interop
@pytest.mark.parametrize("short", ["missing-cert-nginx", "ca-mismatch-nginx", "chain-incomplete-nginx",
                                   "client-auth-off-nginx"])
def test_broken_nginx_link_passes_nginx_400_through(rt, short):
    status, _, _, body = call(rt, rt["links"][short]["basepath"])
    assert status == 400
    assert b"No required SSL certificate was sent" in body


@pytest.mark.interop
def test_reference_is_resolved_at_call_time(rt):
    store = rt["store"]
    link = rt["links"]["healthy-jsse"]
    assert call(rt, link["basepath"])[0] == 200
    original = store.references[("test", link["reference"])]
    store.references[("test", link["reference"])] = {**original, "refers": "ksmissingcertjsse"}
    try:
        assert call(rt, link["basepath"])[0] == 503
    finally:
        store.references[("test", link["reference"])] = original
    assert call(rt, link["basepath"])[0] == 200


@pytest.mark.interop
def test_jsse_backend_rereads_its_truststore_on_reload(rt):
    """ca-mismatch fixed the runbook's way: the leaf's issuing CA pushed into the backend truststore, then reload."""
    link = rt["links"]["ca-mismatch-jsse"]
    spec = next(s for s in rt["specs"] if s["name"] == "jsse-b")
    original = open(spec["truststore_path"], "rb").read()
    password = pki.read_text(spec["truststore_password_file"]).strip()
    try:
        assert call(rt, link["basepath"])[0] == 503
        pki.write_private(spec["truststore_path"], pki.java_truststore([rt["pki"]["root_b"], rt["pki"]["int_c"]],
                                                                       password))
        assert "2 trusted certificate(s)" in backends.reload_backend(rt["state"], "jsse-b", rt["specs"])
        status, _, _, body = call(rt, link["basepath"])
        assert status == 200, body
        assert "CN=mp-client-c" in json.loads(body)["client_subject"]
    finally:
        pki.write_private(spec["truststore_path"], original)
        backends.reload_backend(rt["state"], "jsse-b", rt["specs"])
    assert call(rt, link["basepath"])[0] == 503


def test_unknown_basepath_is_404_application_not_found(rt):
    status, _, _, body = call(rt, "/no-such-proxy")
    assert status == 404
    assert json.loads(body)["fault"]["detail"]["errorcode"] == "messaging.adaptors.http.flow.ApplicationNotFound"


def test_trace_endpoint_serves_the_records(rt):
    _, _, headers, _ = call(rt, rt["links"]["missing-cert-jsse"]["basepath"])
    mid = headers["X-Apigee.Message-ID"]
    status, _, _, body = call(rt, f"/_lab/trace?messageid={mid}")
    assert status == 200
    (rec,) = json.loads(body)["traces"]
    assert rec["api"] == "mtls-missing-cert-jsse" and rec["response"]["status"] == 503
    assert rec["target"]["link_id"] == "targetserver:test/ts-missing-cert-jsse"


def test_no_private_key_in_logs_or_traces(rt):
    call(rt, rt["links"]["healthy-jsse"]["basepath"])
    key_body = pki.read_text(rt["pki"]["key_a"]).splitlines()[1]
    logs = os.path.join(rt["state"], "logs", "mp")
    for name in os.listdir(logs):
        assert key_body not in open(os.path.join(logs, name), encoding="utf-8", errors="replace").read()


def test_match_basepath_prefers_the_longest_segment_prefix():
    deps = [{"api": "a", "basepaths": ["/v1"]}, {"api": "b", "basepaths": ["/v1/orders"]},
            {"api": "c", "basepaths": ["/"]}]
    assert runtime.match_basepath("/v1/orders/7", deps)[0]["api"] == "b"
    assert runtime.match_basepath("/v1/ordersX", deps)[0]["api"] == "a"
    assert runtime.match_basepath("/other", deps) == (deps[2], "/other")
    assert runtime.match_basepath("/v1", deps) == (deps[0], "")
    assert runtime.match_basepath("/x", deps[:2]) is None


def test_parse_bundle_reads_ssl_info_and_load_balancer():
    link = scenarios.links_for("chain-incomplete")
    ts = next(x for x in link if x["declared_in"] == "targetserver")
    px = next(x for x in link if x["declared_in"] == "proxy")
    b_ts = runtime.parse_bundle(scenarios.proxy_bundle(ts, 1234))
    assert b_ts["targets"]["default"]["servers"] == [ts["targetserver"]]
    assert runtime.choose_target(b_ts) == "default"
    b_px = runtime.parse_bundle(scenarios.proxy_bundle(px, 1234))
    t = b_px["targets"]["default"]
    assert t["url"] == "https://localhost:1234/"
    assert t["ssl_info"]["keyStore"] == f"ref://{px['reference']}"
    assert t["ssl_info"]["clientAuthEnabled"] is True and t["ssl_info"]["keyAlias"] == "mp-client-a"
    assert b_px["proxies"]["default"]["basepath"] == px["basepath"]


def test_parse_bundle_reads_service_callouts_and_preflow_steps_with_the_management_parser():
    """The runtime executes what the management API validated at import: one parser (bundles.parse_bundle)."""
    co = next(x for x in scenarios.links_for("service-callout") if x["declared_in"] == "callout")
    data = scenarios.proxy_bundle(co, 1234)
    view = runtime.parse_bundle(data)
    assert view["targets"] == {}
    assert view["proxies"]["default"]["request_steps"] == [scenarios.CALLOUT_POLICY]
    callout = view["callouts"][scenarios.CALLOUT_POLICY]
    assert callout["url"] == "https://localhost:1234/"
    assert callout["ssl_info"]["clientAuthEnabled"] is True and callout["ssl_info"]["enabled"] is True
    assert callout["ssl_info"]["keyStore"] == f"ref://{co['reference']}"
    manifest = bundles.parse_bundle(data)
    assert manifest["policies"] == [scenarios.CALLOUT_POLICY]
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as zf:
        for name in zipfile.ZipFile(io.BytesIO(data)).namelist():
            zf.writestr(name, zipfile.ZipFile(io.BytesIO(data)).read(name))
        zf.writestr("apiproxy/policies/Broken.xml", "<ServiceCallout name='Broken'>")
    with pytest.raises(bundles.BundleError, match="Broken.xml is not well-formed"):
        runtime.parse_bundle(broken.getvalue())


@pytest.mark.parametrize("name", ["jsse-a", "nginx-a"])
def test_validate_truststore_accepts_a_good_candidate_and_rejects_a_bad_one(rt, name, tmp_path):
    spec = next(s for s in rt["specs"] if s["name"] == name)
    good = tmp_path / "good"
    good.write_bytes(open(spec["truststore_path"], "rb").read())
    assert name in backends.validate_truststore(rt["state"], name, str(good), rt["specs"])
    bad = tmp_path / "bad"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with pytest.raises(procs.LabProcessError, match=name):
        backends.validate_truststore(rt["state"], name, str(bad), rt["specs"])


@pytest.mark.interop
def test_ssl_info_protocols_are_honoured(rt):
    store = rt["store"]
    key = ("test", "ts-healthy-jsse")
    original = store.targetservers[key]
    store.targetservers[key] = {**original, "sSLInfo": {**original["sSLInfo"], "protocols": ["TLSv1.2"]}}
    try:
        status, _, _, body = call(rt, rt["links"]["healthy-jsse"]["basepath"])
        assert status == 200 and json.loads(body)["protocol"] == "TLSv1.2"
    finally:
        store.targetservers[key] = original
    status, _, _, body = call(rt, rt["links"]["healthy-jsse"]["basepath"])
    assert status == 200 and json.loads(body)["protocol"] == "TLSv1.3"


@pytest.mark.interop
@pytest.mark.parametrize("key_manager", ["SunX509", "PKIX"])
def test_key_manager_is_configurable_and_both_refuse_a_leaf_only_chain(rt, key_manager):
    other = runtime.Runtime(rt["state"], "lab", ["test"], backends.classes_dir(), key_manager=key_manager,
                            store=rt["store"], jvm=rt["runtime"].jvm)
    status, headers, _ = other.handle("GET", rt["links"]["healthy-jsse"]["basepath"], {}, b"")
    assert status == 200
    status, headers, _ = other.handle("GET", rt["links"]["chain-incomplete-jsse"]["basepath"], {}, b"")
    assert status == 503
    (trace,) = other.traces(messageid=headers["X-Apigee.Message-ID"])
    assert trace["target"]["ssl_info"]["key_manager"] == key_manager
    assert trace["error"]["cause"] == "Received fatal alert: bad_certificate"
