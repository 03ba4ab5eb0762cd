"""Management API emulator: environments, references, target servers, error shapes, both URL forms."""
from __future__ import annotations

import pytest

from tests.contract.mgmt_support import BASIC, create_keystore, make_app


@pytest.fixture()
def client(tmp_path):
    return make_app(tmp_path).test_client()


def test_org_and_environments_in_long_and_short_forms(client):
    assert client.get("/v1/organizations/lab", headers=BASIC).get_json()["environments"] == ["prod", "test"]
    assert client.get("/v1/o/lab/environments", headers=BASIC).get_json() == ["prod", "test"]
    assert client.get("/v1/o/lab/e/test", headers=BASIC).get_json()["name"] == "test"
    resp = client.get("/v1/organizations/lab/environments/nope/keystores", headers=BASIC)
    assert resp.status_code == 404
    assert resp.get_json() == {"code": "messaging.config.beans.EnvironmentDoesNotExist",
                               "message": "Environment nope does not exist in organization lab", "contexts": []}
    assert client.get("/v1/o/missing", headers=BASIC).status_code == 404


def test_references_crud_and_validation(client):
    create_keystore(client, "ks1")
    create_keystore(client, "ks2")
    base = "/v1/o/lab/e/test/references"
    resp = client.post(base, json={"name": "ksref", "refers": "ks1", "resourceType": "KeyStore"}, headers=BASIC)
    assert resp.status_code == 201
    assert resp.get_json() == {"name": "ksref", "refers": "ks1", "resourceType": "KeyStore"}
    assert client.post(base, json={"name": "ksref", "refers": "ks1", "resourceType": "KeyStore"},
                       headers=BASIC).status_code == 409
    bad = client.post(base, json={"name": "r2", "refers": "nokeystore", "resourceType": "KeyStore"}, headers=BASIC)
    assert bad.status_code == 400 and "nokeystore" in bad.get_json()["message"]
    bad = client.post(base, json={"name": "r2", "refers": "ks1", "resourceType": "Vault"}, headers=BASIC)
    assert bad.status_code == 400 and "resourceType" in bad.get_json()["message"]
    assert client.post(base, data="name=x", content_type="application/x-www-form-urlencoded",
                       headers=BASIC).status_code == 415
    assert client.get(base, headers=BASIC).get_json() == ["ksref"]
    upd = client.put(base + "/ksref", json={"name": "ksref", "refers": "ks2", "resourceType": "KeyStore"},
                     headers=BASIC)
    assert upd.status_code == 200 and upd.get_json()["refers"] == "ks2"
    assert client.get("/v1/organizations/lab/environments/test/references/ksref", headers=BASIC).get_json()[
        "refers"] == "ks2"
    assert client.put(base + "/ksref", json={"name": "other", "refers": "ks2", "resourceType": "KeyStore"},
                      headers=BASIC).status_code == 400
    assert client.delete(base + "/ksref", headers=BASIC).get_json()["name"] == "ksref"
    missing = client.get(base + "/ksref", headers=BASIC)
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "messaging.config.beans.ResourceReferenceDoesNotExist"
    # references are per environment
    assert client.get("/v1/o/lab/e/prod/references", headers=BASIC).get_json() == []


def test_targetserver_flags_accepted_as_strings_or_booleans_and_returned_as_edge_does(client):
    base = "/v1/o/lab/e/test/targetservers"
    body = {"name": "ts-a", "host": "127.0.0.1", "port": 18441, "isEnabled": "true",
            "sSLInfo": {"enabled": True, "clientAuthEnabled": "TRUE", "keyStore": "ref://ksref", "keyAlias": "a1",
                        "trustStore": "ts1", "ignoreValidationErrors": "false", "protocols": ["TLSv1.2"]}}
    resp = client.post(base, json=body, headers=BASIC)
    assert resp.status_code == 201
    doc = resp.get_json()
    assert doc == {"host": "127.0.0.1", "isEnabled": True, "name": "ts-a", "port": 18441,
                   "sSLInfo": {"ciphers": [], "clientAuthEnabled": "true", "enabled": "true",
                               "ignoreValidationErrors": False, "keyAlias": "a1", "keyStore": "ref://ksref",
                               "protocols": ["TLSv1.2"], "trustStore": "ts1"}}
    assert client.get(base + "/ts-a", headers=BASIC).get_json() == doc
    assert client.post(base, json=body, headers=BASIC).status_code == 409
    # PUT replaces the whole document: the SSLInfo goes away when not given
    put = client.put(base + "/ts-a", json={"name": "ts-a", "host": "localhost", "port": "18442"}, headers=BASIC)
    assert put.status_code == 200
    assert put.get_json() == {"host": "localhost", "isEnabled": True, "name": "ts-a", "port": 18442}
    assert client.get(base, headers=BASIC).get_json() == ["ts-a"]
    assert client.delete(base + "/ts-a", headers=BASIC).status_code == 200
    gone = client.get(base + "/ts-a", headers=BASIC)
    assert gone.status_code == 404
    assert gone.get_json()["message"] == "Target server ts-a does not exist in environment test"


@pytest.mark.parametrize("body, fragment", [
    ({"name": "t", "port": 1}, "host"),
    ({"name": "t", "host": "h", "port": 0}, "port"),
    ({"name": "t", "host": "h", "port": "x"}, "port"),
    ({"name": "t", "host": "h", "port": 1, "sSLInfo": {"enabled": "yes"}}, "enabled"),
    ({"name": "t", "host": "h", "port": 1, "SSLInfo": {"enabled": True}}, "sSLInfo"),
    ({"name": "t/x", "host": "h", "port": 1}, "name"),
])
def test_targetserver_validation(client, body, fragment):
    resp = client.post("/v1/o/lab/e/test/targetservers", json=body, headers=BASIC)
    assert resp.status_code == 400
    assert fragment in resp.get_json()["message"]


def test_unknown_route_and_method_answer_in_edge_shape(client):
    resp = client.get("/v1/o/lab/e/test/nothing-here", headers=BASIC)
    assert resp.status_code == 404 and set(resp.get_json()) == {"code", "message", "contexts"}
    resp = client.patch("/v1/o/lab/e/test/keystores", headers=BASIC)
    assert resp.status_code == 405 and set(resp.get_json()) == {"code", "message", "contexts"}
