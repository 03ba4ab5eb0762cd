"""Management API emulator: keystores, aliases (keycertfile / pkcs12), certs, Apigee's upload validations, and the
rule that private keys never leave the server."""
from __future__ import annotations

import io

import pytest
from cryptography import x509

from tests.contract.mgmt_support import (
    BASIC,
    create_keystore,
    full_chain_pem,
    make_app,
    p12,
    pki,
    store_of,
    upload_keycert,
)
from tests.helpers.pki import chain_pem

KS = "/v1/organizations/lab/environments/test/keystores"


@pytest.fixture()
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture()
def client(app):
    return app.test_client()


def test_keystore_create_list_get_delete(client):
    resp = create_keystore(client, "ks1")
    assert resp.get_json() == {"aliases": [], "certs": [], "keys": [], "name": "ks1"}
    assert client.get(KS, headers=BASIC).get_json() == ["ks1"]
    assert client.get("/v1/o/lab/e/test/keystores/ks1", headers=BASIC).get_json()["name"] == "ks1"
    assert client.post(KS, json={"name": "ks1"}, headers=BASIC).status_code == 409
    assert client.post(KS, json={"name": "bad name!"}, headers=BASIC).status_code == 400
    # keystores-and-trustores.yaml (createKeystoreTruststore): "Keystore names can contain only alphanumeric
    # characters"; Edge's error body shape ({code, message, contexts})
    for name in ("ks-one", "ks_one", "ks.one"):
        resp = client.post(KS, json={"name": name}, headers=BASIC)
        assert resp.status_code == 400 and resp.get_json()["code"] == "keymanagement.service.InvalidKeystoreName"
        assert "only alphanumeric" in resp.get_json()["message"] and "contexts" in resp.get_json()
    assert client.post(KS, json={}, headers=BASIC).status_code == 400
    assert client.post(KS, data="<KeyStore name='x'/>", content_type="text/plain", headers=BASIC).status_code == 415
    assert client.get("/v1/o/lab/e/prod/keystores", headers=BASIC).get_json() == []
    assert client.delete(KS + "/ks1", headers=BASIC).status_code == 200
    missing = client.get(KS + "/ks1", headers=BASIC)
    assert missing.status_code == 404 and set(missing.get_json()) == {"code", "message", "contexts"}


def test_keycertfile_alias_with_full_chain(app, client):
    p = pki()
    create_keystore(client, "ks1")
    resp = upload_keycert(client, "ks1", "a1", full_chain_pem(), p["leaf"].key_pem())
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["alias"] == "a1" and body["keyName"] == "a1"
    assert body["certsInfo"]["certName"] == "a1-cert"
    infos = body["certsInfo"]["certInfo"]
    assert len(infos) == 3
    assert "CN=mp-client-a" in infos[0]["subject"] and "CN=Lab Test Issuing A" in infos[0]["issuer"]
    assert client.get(KS + "/ks1/aliases", headers=BASIC).get_json() == ["a1"]
    assert client.get(KS + "/ks1/aliases/a1", headers=BASIC).get_json() == body
    ks = client.get(KS + "/ks1", headers=BASIC).get_json()
    assert ks == {"aliases": [{"aliasName": "a1", "cert": "a1-cert", "key": "a1"}], "certs": ["a1-cert"],
                  "keys": ["a1"], "name": "ks1"}
    pem = client.get(KS + "/ks1/aliases/a1/certificate", headers=BASIC)
    assert pem.status_code == 200
    assert [c.subject for c in x509.load_pem_x509_certificates(pem.data)] == \
        [p["leaf"].cert.subject, p["inter"].cert.subject, p["root"].cert.subject]
    # what the runtime reads: the key (unencrypted, for the MP only) and the stored chain, leaf first
    material = store_of(app).get_alias_material("lab", "test", "ks1", "a1")
    assert "PRIVATE KEY" in material["key_pem"]
    assert x509.load_pem_x509_certificates(material["chain_pem"].encode())[0] == p["leaf"].cert
    assert client.post(KS, json={"name": "ks2"}, headers=BASIC).status_code == 200  # keystores-and-trustores.yaml
    assert upload_keycert(client, "ks1", "a1", full_chain_pem(), p["leaf"].key_pem()).status_code == 409


def test_encrypted_key_needs_the_right_password(client):
    p = pki()
    create_keystore(client, "ks1")
    enc = p["leaf"].key_pem(password="s3cret-pw")
    no_pw = upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), enc)
    assert no_pw.status_code == 400
    wrong = upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), enc, password="nope-wrong")
    assert wrong.status_code == 400
    assert "nope-wrong" not in wrong.get_data(as_text=True)
    ok = upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), enc, password="s3cret-pw")
    assert ok.status_code == 201


def test_key_not_matching_the_certificate_is_refused(client):
    p = pki()
    create_keystore(client, "ks1")
    resp = upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), p["other"].key_pem())
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "keymanagement.service.KeyCertMismatch"
    assert "PRIVATE KEY" not in resp.get_data(as_text=True)
    # chain in the wrong order (intermediate first): the first certificate is not the key's
    resp = upload_keycert(client, "ks1", "a1", chain_pem([p["inter"], p["leaf"]]), p["leaf"].key_pem())
    assert resp.status_code == 400
    assert client.get(KS + "/ks1/aliases", headers=BASIC).get_json() == []


def test_expired_certificate_refused_unless_ignore_expiry_validation(client):
    p = pki()
    create_keystore(client, "ks1")
    resp = upload_keycert(client, "ks1", "old", p["expired"].cert_pem(), p["expired"].key_pem())
    assert resp.status_code == 400
    assert resp.get_json()["code"] == "keymanagement.service.CertificateExpired"
    assert "ignoreExpiryValidation" in resp.get_json()["message"]
    resp = upload_keycert(client, "ks1", "old", p["expired"].cert_pem(), p["expired"].key_pem(),
                          query="&ignoreExpiryValidation=true")
    assert resp.status_code == 201
    assert resp.get_json()["certsInfo"]["certInfo"][0]["isValid"] == "No"


def test_malformed_pem_and_missing_parameters(client):
    p = pki()
    create_keystore(client, "ks1")
    garbage = b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
    resp = upload_keycert(client, "ks1", "a1", garbage, p["leaf"].key_pem())
    assert resp.status_code == 400 and resp.get_json()["code"] == "keymanagement.service.InvalidCertificate"
    resp = upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), b"-----BEGIN PRIVATE KEY-----\nxx\n"
                                                                      b"-----END PRIVATE KEY-----\n")
    assert resp.status_code == 400 and resp.get_json()["code"] == "keymanagement.service.InvalidKey"
    url = KS + "/ks1/aliases?alias=a1"
    assert client.post(url, data={"certFile": (io.BytesIO(p["leaf"].cert_pem()), "c.pem")},
                       content_type="multipart/form-data", headers=BASIC).status_code == 400   # no format
    assert client.post(KS + "/ks1/aliases?format=keycertfile", data={},
                       content_type="multipart/form-data", headers=BASIC).status_code == 400   # no alias
    assert client.post(url + "&format=keycertfile", json={"x": 1}, headers=BASIC).status_code == 415
    assert client.post(KS + "/nope/aliases?alias=a&format=keycertfile", data={},
                       content_type="multipart/form-data", headers=BASIC).status_code == 404
    no_newline = p["leaf"].cert_pem().rstrip(b"\n") + p["inter"].cert_pem()
    strict = upload_keycert(client, "ks1", "a1", no_newline, p["leaf"].key_pem(),
                            query="&ignoreNewlineValidation=false")
    assert strict.status_code == 400 and "newline" in strict.get_json()["message"]


def test_pkcs12_alias(client):
    p = pki()
    create_keystore(client, "ks1")
    data = {"file": (io.BytesIO(p12(p["leaf"], [p["inter"]], "p12-pass")), "ks.p12"), "password": "p12-pass"}
    resp = client.post(KS + "/ks1/aliases?alias=a12&format=pkcs12", data=data, content_type="multipart/form-data",
                       headers=BASIC)
    assert resp.status_code == 201, resp.get_json()
    infos = resp.get_json()["certsInfo"]["certInfo"]
    assert len(infos) == 2 and "CN=mp-client-a" in infos[0]["subject"]
    bad = {"file": (io.BytesIO(p12(p["leaf"], [], "p12-pass")), "ks.p12"), "password": "wrong"}
    resp = client.post(KS + "/ks1/aliases?alias=a13&format=pkcs12", data=bad, content_type="multipart/form-data",
                       headers=BASIC)
    assert resp.status_code == 400


def test_truststore_alias_update_certificate_and_delete(app, client):
    p = pki()
    create_keystore(client, "ts1")
    resp = upload_keycert(client, "ts1", "rootA", p["root"].cert_pem())
    assert resp.status_code == 201 and "keyName" not in resp.get_json()
    ks = client.get(KS + "/ts1", headers=BASIC).get_json()
    assert ks["keys"] == [] and ks["aliases"] == [{"aliasName": "rootA", "cert": "rootA-cert"}]
    assert store_of(app).get_alias_material("lab", "test", "ts1", "rootA")["key_pem"] is None

    create_keystore(client, "ks1")
    upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), p["leaf"].key_pem())
    # update: the complete chain for the same key is accepted; a certificate for another key is not
    upd = client.put(KS + "/ks1/aliases/a1", data={"file": (io.BytesIO(chain_pem([p["leaf"], p["inter"]])),
                                                            "chain.pem")},
                     content_type="multipart/form-data", headers=BASIC)
    assert upd.status_code == 200 and len(upd.get_json()["certsInfo"]["certInfo"]) == 2
    wrong = client.put(KS + "/ks1/aliases/a1", data={"file": (io.BytesIO(p["other"].cert_pem()), "c.pem")},
                       content_type="multipart/form-data", headers=BASIC)
    assert wrong.status_code == 400
    assert len(x509.load_pem_x509_certificates(
        client.get(KS + "/ks1/aliases/a1/certificate", headers=BASIC).data)) == 2
    deleted = client.delete(KS + "/ks1/aliases/a1", headers=BASIC)
    assert deleted.status_code == 200 and deleted.get_json()["alias"] == "a1"
    assert client.get(KS + "/ks1/aliases/a1", headers=BASIC).status_code == 404


def test_certs_list_get_export_upload_delete(app, client):
    p = pki()
    create_keystore(client, "ts1")
    up = client.post(KS + "/ts1/certs?alias=interA", data={"file": (io.BytesIO(p["inter"].cert_pem()), "i.pem")},
                     content_type="multipart/form-data", headers=BASIC)
    assert up.status_code == 204
    assert client.post(KS + "/ts1/certs?alias=interA", data={"file": (io.BytesIO(p["inter"].cert_pem()), "i.pem")},
                       content_type="multipart/form-data", headers=BASIC).status_code == 409
    upload_keycert(client, "ts1", "rootA", p["root"].cert_pem())
    assert client.get(KS + "/ts1/certs", headers=BASIC).get_json() == ["interA", "rootA-cert"]
    got = client.get(KS + "/ts1/certs/rootA-cert", headers=BASIC).get_json()
    assert got["certName"] == "rootA-cert" and "CN=Lab Test Root A" in got["certInfo"][0]["subject"]
    exp = client.get(KS + "/ts1/certs/interA/export", headers=BASIC)
    assert x509.load_pem_x509_certificate(exp.data) == p["inter"].cert
    pems = store_of(app).list_truststore_certs_pem("lab", "test", "ts1")
    assert [x509.load_pem_x509_certificate(x.encode()) for x in pems] == [p["inter"].cert, p["root"].cert]
    assert client.delete(KS + "/ts1/certs/interA", headers=BASIC).status_code == 200
    assert client.get(KS + "/ts1/certs/interA", headers=BASIC).status_code == 404
    assert client.get(KS + "/ts1/certs", headers=BASIC).get_json() == ["rootA-cert"]


def test_no_endpoint_ever_returns_key_material(app, client):
    p = pki()
    create_keystore(client, "ks1")
    upload_keycert(client, "ks1", "a1", full_chain_pem(), p["leaf"].key_pem())
    client.post("/v1/o/lab/e/test/references", json={"name": "r", "refers": "ks1", "resourceType": "KeyStore"},
                headers=BASIC)
    bodies = []
    for path in ("", "/aliases", "/aliases/a1", "/aliases/a1/certificate", "/certs", "/certs/a1-cert",
                 "/certs/a1-cert/export"):
        resp = client.get(KS + "/ks1" + path, headers=BASIC)
        assert resp.status_code == 200, path
        bodies.append(resp.get_data(as_text=True))
    bodies.append(client.get("/v1/o/lab/e/test/references/r", headers=BASIC).get_data(as_text=True))
    key_body = p["leaf"].key_pem().decode().splitlines()[1]
    for body in bodies:
        assert "PRIVATE KEY" not in body and key_body not in body
