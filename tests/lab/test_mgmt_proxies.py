"""Management API emulator: API proxy bundles (import, revisions, export), deployments per env / per API."""
from __future__ import annotations

import io
import zipfile

import pytest
from apigee_lab.bundles import BundleError, parse_bundle

from tests.contract.mgmt_support import BASIC, bundle_zip, import_bundle, make_app, store_of

# Edge's deploy takes a form body (deployments.yaml: Content-type required; APIGEE-FACTS: x-www-form-urlencoded)
FORM = {"delay": "0"}

TS_TARGET = ("ts", '<LoadBalancer><Server name="ts-a"/><Server name="ts-b"/></LoadBalancer><Path>/x</Path>')
URL_TARGET = ("direct", "<SSLInfo><Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled>"
                        "<KeyStore>ref://ksref</KeyStore><KeyAlias>a1</KeyAlias><TrustStore>ts1</TrustStore>"
                        "<Protocols><Protocol>TLSv1.2</Protocol></Protocols></SSLInfo>"
                        "<URL>https://127.0.0.1:18441/hello</URL>")


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture()
def client(app):
    return app.test_client()


def test_parse_bundle_reads_endpoints_servers_and_sslinfo():
    meta = parse_bundle(bundle_zip("p1", "/p1", [URL_TARGET, TS_TARGET]))
    assert meta["name"] == "p1" and meta["basepaths"] == ["/p1"]
    assert meta["proxyEndpoints"] == ["default"] and meta["targetEndpoints"] == ["direct", "ts"]
    assert meta["targetServers"] == ["ts-a", "ts-b"] and meta["policies"] == ["AM-Hello"]
    direct = meta["targets"][0]
    assert direct["url"] == "https://127.0.0.1:18441/hello"
    assert direct["ssl_info"]["keyStore"] == "ref://ksref" and direct["ssl_info"]["protocols"] == ["TLSv1.2"]
    assert meta["targets"][1]["servers"] == ["ts-a", "ts-b"] and meta["targets"][1]["ssl_info"] is None


@pytest.mark.parametrize("data, fragment", [
    (b"", "empty"),
    (b"not a zip", "not a zip"),
    (bundle_zip(extra_files={"apiproxy/targets/bad.xml": "<TargetEndpoint"}), "bad.xml"),
    (bundle_zip(extra_files={"apiproxy/targets/x.xml": "<ProxyEndpoint/>"}), "TargetEndpoint"),
])
def test_parse_bundle_rejects_broken_bundles(data, fragment):
    with pytest.raises(BundleError, match=fragment):
        parse_bundle(data)


def test_parse_bundle_rejects_zip_without_apiproxy():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("other/readme.txt", "x")
    with pytest.raises(BundleError, match="apiproxy"):
        parse_bundle(buf.getvalue())


def test_import_creates_revisions_and_exports_the_same_bundle(client):
    data1 = bundle_zip("p1", "/p1", [URL_TARGET])
    resp = import_bundle(client, "p1", data1)
    assert resp.status_code == 201
    rev = resp.get_json()
    assert rev["name"] == "p1" and rev["revision"] == "1" and rev["basepaths"] == ["/p1"]
    assert rev["targetEndpoints"] == ["direct"] and rev["type"] == "Application"
    data2 = bundle_zip("p1", "/p1", [TS_TARGET])
    resp = import_bundle(client, "p1", data2, multipart=False)
    assert resp.status_code == 201 and resp.get_json()["revision"] == "2"
    assert resp.get_json()["targetServers"] == ["ts-a", "ts-b"]
    assert client.get("/v1/o/lab/apis", headers=BASIC).get_json() == ["p1"]
    assert client.get("/v1/o/lab/apis/p1/revisions", headers=BASIC).get_json() == ["1", "2"]
    assert client.get("/v1/o/lab/apis/p1", headers=BASIC).get_json()["revision"] == ["1", "2"]
    exported = client.get("/v1/organizations/lab/apis/p1/revisions/1?format=bundle", headers=BASIC)
    assert exported.status_code == 200 and exported.mimetype == "application/octet-stream"
    assert exported.data == data1
    assert client.get("/v1/o/lab/apis/p1/revisions/2", headers=BASIC).get_json()["targets"] == ["ts"]
    missing = client.get("/v1/o/lab/apis/p1/revisions/9", headers=BASIC)
    assert missing.status_code == 404
    assert client.get("/v1/o/lab/apis/nope", headers=BASIC).get_json()["code"] == \
        "messaging.config.beans.ApplicationDoesNotExist"


def test_import_errors(client):
    bad = import_bundle(client, "p1", b"garbage")
    assert bad.status_code == 400 and "zip" in bad.get_json()["message"]
    url = "/v1/o/lab/apis?action=import&name=p1"
    assert client.post(url, json={"name": "p1"}, headers=BASIC).status_code == 415
    assert client.post("/v1/o/lab/apis?action=import&name=bad/name", data=bundle_zip(),
                       content_type="application/octet-stream", headers=BASIC).status_code == 400
    assert client.get("/v1/o/lab/apis", headers=BASIC).get_json() == []


def test_deploy_undeploy_and_deployment_views(app, client):
    import_bundle(client, "p1", bundle_zip("p1", "/p1"))
    import_bundle(client, "p1", bundle_zip("p1", "/p1"))
    import_bundle(client, "p2", bundle_zip("p2", "/p1"))
    dep = client.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments", headers=BASIC, data=FORM)
    assert dep.status_code == 200
    assert dep.get_json() == {"aPIProxy": "p1", "configuration": {"basePath": "/p1", "steps": []},
                              "environment": "test", "name": "1", "organization": "lab", "revision": "1",
                              "server": [], "state": "deployed"}
    # same revision again: idempotent; another revision without override: refused; with override: replaces
    assert client.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments", headers=BASIC, data=FORM).status_code == 200
    assert client.post("/v1/o/lab/e/test/apis/p1/revisions/2/deployments", headers=BASIC, data=FORM).status_code == 400
    assert client.post("/v1/o/lab/e/test/apis/p1/revisions/2/deployments?override=true",
                       headers=BASIC, data=FORM).status_code == 200
    # another proxy on the same base path is refused
    clash = client.post("/v1/o/lab/e/test/apis/p2/revisions/1/deployments", headers=BASIC, data=FORM)
    assert clash.status_code == 409
    env_view = client.get("/v1/organizations/lab/environments/test/deployments", headers=BASIC).get_json()
    assert env_view == {"aPIProxy": [{"name": "p1", "revision": [
        {"configuration": {"basePath": "/p1", "steps": []}, "name": "2", "server": [], "state": "deployed"}]}],
        "name": "test", "organization": "lab"}
    assert store_of(app).list_deployments("lab", "test") == [{"api": "p1", "revision": 2, "basepaths": ["/p1"]}]
    per_api = client.get("/v1/o/lab/apis/p1/deployments", headers=BASIC).get_json()
    assert per_api["environment"][0]["name"] == "test" and per_api["environment"][0]["revision"][0]["name"] == "2"
    assert client.get("/v1/o/lab/e/test/apis/p1/deployments", headers=BASIC).get_json()["revision"][0]["name"] == "2"
    assert client.get("/v1/o/lab/apis/p1/revisions/2/deployments", headers=BASIC).get_json()["environment"][0][
        "name"] == "test"
    assert client.get("/v1/o/lab/deployments", headers=BASIC).get_json()["environment"][1]["name"] == "test"
    # deployed revisions cannot be deleted
    assert client.delete("/v1/o/lab/apis/p1/revisions/2", headers=BASIC).status_code == 400
    und = client.delete("/v1/o/lab/e/test/apis/p1/revisions/2/deployments", headers=BASIC, data=FORM)
    assert und.status_code == 200 and und.get_json()["state"] == "undeployed"
    again = client.delete("/v1/o/lab/e/test/apis/p1/revisions/2/deployments", headers=BASIC, data=FORM)
    assert again.status_code == 400 and again.get_json()["code"] == "distribution.RevisionNotDeployed"
    assert client.get("/v1/o/lab/e/test/deployments", headers=BASIC).get_json()["aPIProxy"] == []
    assert client.delete("/v1/o/lab/apis/p1/revisions/2", headers=BASIC).status_code == 200
    assert client.get("/v1/o/lab/apis/p1/revisions", headers=BASIC).get_json() == ["1"]
    assert client.delete("/v1/o/lab/apis/p1", headers=BASIC).status_code == 200
    assert client.get("/v1/o/lab/apis", headers=BASIC).get_json() == ["p2"]


def test_forced_undeploy(client):
    import_bundle(client, "p1", bundle_zip("p1", "/p1"))
    client.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments", headers=BASIC, data=FORM)
    resp = client.post("/v1/o/lab/apis/p1/revisions/1/deployments?action=undeploy&env=test&force=true",
                       content_type="application/x-www-form-urlencoded", headers=BASIC)
    assert resp.status_code == 200 and resp.get_json()["state"] == "undeployed"



def test_a_deploy_without_a_form_body_is_refused_as_edge_refuses_it(client):
    """deployments.yaml marks the Content-type header required and Edge's clients send a form body; a lab that
    deployed without one let the tool pass its tests while real Edge refused its deploys."""
    import_bundle(client, "p1", bundle_zip("p1", "/p1"))
    bare = client.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments?override=true", headers=BASIC)
    assert bare.status_code == 415 and "x-www-form-urlencoded" in bare.get_json()["message"]
    as_json = client.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments", headers=BASIC, json={"override": True})
    assert as_json.status_code == 415
    ok = client.post("/v1/o/lab/e/test/apis/p1/revisions/1/deployments", headers=BASIC, data={"override": "true"})
    assert ok.status_code == 200
