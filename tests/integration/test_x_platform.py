"""Apigee X / hybrid: the lab's X mode answers in apigee-x.yaml's shapes with Google-style errors and a stand-in for
Google's token endpoint, and the tool's diagnosis reads it through google-auth with a service account key file, with
the same verdicts as on Edge."""
import json
import os

import pytest
import requests
from ansible.module_utils.mtls.apigee.client import ApigeeClient
from ansible.module_utils.mtls.apigee.google_auth import GoogleCredentials
from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError

from tests.contract import x_contract
from tests.helpers.lab import point_at_untrusting_truststore

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


MUTATES_LAB = True   # the fixes and the truststore test change the X lab: it is reset after this file


@pytest.fixture(scope="module")
def xlab(x_lab):
    """The session's X lab (tests/integration/conftest.py)."""
    return x_lab


@pytest.fixture(scope="module")
def token(xlab):
    return GoogleCredentials(xlab["service_account_file"]).token()


def _get(xlab, token, path):
    return requests.get("%s/v1/organizations/%s%s" % (xlab["mgmt_url"], xlab["org"], path),
                        headers={"Authorization": "Bearer %s" % token}, timeout=10)


def test_the_key_file_is_a_service_account_key_kept_private(xlab):
    assert xlab["platform"] == "x" and oct(os.stat(xlab["service_account_file"]).st_mode & 0o777) == "0o600"
    info = json.load(open(xlab["service_account_file"], encoding="utf-8"))
    assert info["type"] == "service_account" and info["token_uri"] == xlab["mgmt_url"] + "/token"
    assert info["private_key"] not in json.dumps(xlab)   # the manifest names the file, never its key


def test_the_x_lab_answers_in_x_shapes(xlab, token):
    link = next(lk for lk in xlab["links"] if lk["basepath"] == "/healthy-jsse")
    ks = _get(xlab, token, "/environments/test/keystores/%s" % link["keystore"]).json()
    assert ks == {"name": link["keystore"], "aliases": [link["alias"]]}          # Keystore.aliases: [string]
    alias = _get(xlab, token, "/environments/test/keystores/%s/aliases/%s" % (link["keystore"], link["alias"])).json()
    assert alias["type"] == "KEY_CERT" and "keyName" not in alias and alias["certsInfo"]["certInfo"]
    ts = _get(xlab, token, "/environments/test/targetservers/ts-healthy-jsse").json()
    assert ts["sSLInfo"]["enabled"] is True and ts["sSLInfo"]["clientAuthEnabled"] is True
    deps = _get(xlab, token, "/environments/test/deployments").json()
    assert {"apiProxy", "revision", "state", "environment"} <= set(deps["deployments"][0])
    assert "aPIProxy" not in deps
    # errors are google.rpc.Status; Edge's short forms and Basic auth do not exist there
    # every property the X lab answers is one apigee-x.yaml gives the resource (the project's copy of the spec)
    schemas = x_contract.load()
    for doc, schema in ((ks, "GoogleCloudApigeeV1Keystore"), (alias, "GoogleCloudApigeeV1Alias"),
                        (alias["certsInfo"], "GoogleCloudApigeeV1Certificate"),
                        (ts, "GoogleCloudApigeeV1TargetServer"), (ts["sSLInfo"], "GoogleCloudApigeeV1TlsInfo"),
                        (deps, "GoogleCloudApigeeV1ListDeploymentsResponse"),
                        (deps["deployments"][0], "GoogleCloudApigeeV1Deployment")):
        assert set(doc) <= set(schemas[schema]), (schema, sorted(set(doc) - set(schemas[schema])))
    missing = _get(xlab, token, "/environments/test/keystores/nope")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    short = requests.get("%s/v1/o/%s/e/test/keystores" % (xlab["mgmt_url"], xlab["org"]),
                         headers={"Authorization": "Bearer %s" % token}, timeout=10)
    assert short.status_code == 404
    basic = requests.get("%s/v1/organizations/%s" % (xlab["mgmt_url"], xlab["org"]),
                         auth=("lab-admin@example.com", "Lab-Passw0rd!"), timeout=10)
    assert basic.status_code == 401 and basic.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_key_the_token_endpoint_does_not_know_is_refused_in_plain_words(xlab, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    info = json.load(open(xlab["service_account_file"], encoding="utf-8"))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()).decode()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(info))
    with pytest.raises(MtlsError) as err:
        GoogleCredentials(str(bad)).token()
    assert "Google refused the credentials" in err.value.msg and "Invalid JWT Signature" in err.value.msg
    assert "PRIVATE KEY" not in err.value.msg
    with pytest.raises(MtlsError, match="not a service account key file"):
        _not_a_key(tmp_path)


def _not_a_key(tmp_path):
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "x"}))
    GoogleCredentials(str(path))


def test_an_x_client_refuses_edge_credentials_and_says_why():
    with pytest.raises(MtlsError, match="takes Google credentials"):
        ApigeeClient("https://apigee.googleapis.com", "my-project", username="u", password="p", platform="x")
    with pytest.raises(MtlsError, match="is for Apigee X / hybrid"):
        ApigeeClient("https://api.enterprise.apigee.com", "org", username="u", password="p",
                     service_account_file="/x.json")
    assert ApigeeClient(None, "my-project", token="t", platform="hybrid").mgmt_url == "https://apigee.googleapis.com"


def test_every_link_of_the_x_lab_gets_the_verdict_it_gets_on_edge(xlab):
    client = ApigeeClient(xlab["mgmt_url"], xlab["org"], platform="x",
                          service_account_file=xlab["service_account_file"])
    report = run_diagnosis(client, [xlab["env"]], key_manager=xlab["mp"]["key_manager"], java=xlab["mp"]["java"])
    got = {r["id"]: r["verdict"] for r in report["links"]}
    assert got == {lk["id"]: lk["expected_verdict"] for lk in xlab["links"]}
    # a wrong project is said as the X user would read it
    with pytest.raises(ApigeeApiError) as err:
        ApigeeClient(xlab["mgmt_url"], "not-a-project", platform="x",
                     service_account_file=xlab["service_account_file"]).get("/environments")
    # Apigee X answers a project that does not exist as one it will not show: 403 PERMISSION_DENIED (as quoted in
    # crossplane-contrib/provider-upjet-gcp#193); the lab does the same, and the error says what it may mean
    assert err.value.status == 403 and "project 'not-a-project' does not exist" in err.value.msg


def _send(xlab, token, method, path, **kw):
    return requests.request(method, "%s/v1/organizations/%s%s" % (xlab["mgmt_url"], xlab["org"], path),
                            headers={"Authorization": "Bearer %s" % token}, timeout=10, **kw)


def test_the_x_lab_reads_bodies_as_apigee_x_does(xlab, token):
    """Apigee X parses a JSON body into its proto message (apigee-x.yaml's TargetServer / TlsInfo; the protobuf JSON
    mapping): Edge's string booleans in sSLInfo and fields the message lacks are 400 INVALID_ARGUMENT, where Edge
    takes them; a deploy takes no body; an alias update must say ignoreExpiryValidation (APIGEE-FACTS.md)."""
    path = "/environments/test/targetservers/ts-healthy-jsse"
    doc = _get(xlab, token, path).json()
    as_edge = dict(doc, sSLInfo=dict(doc["sSLInfo"], clientAuthEnabled="true"))
    refused = _send(xlab, token, "PUT", path, json=as_edge)
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    why = refused.json()["error"]["message"]
    assert "TYPE_BOOL" in why and "clientAuthEnabled" in why
    unknown = _send(xlab, token, "PUT", path, json=dict(doc, aliasName="x"))
    assert unknown.status_code == 400 and 'Unknown name "aliasName"' in unknown.json()["error"]["message"]
    assert _send(xlab, token, "PUT", path, json=doc).json() == doc     # the same document, as read, is taken
    link = next(lk for lk in xlab["links"] if lk["basepath"] == "/healthy-nginx")
    deploy = "/environments/test/apis/%s/revisions/%s/deployments" % (link["proxy"], link["revision"])
    with_form = _send(xlab, token, "POST", deploy, params={"override": "true"}, data={"override": "true"})
    assert with_form.status_code == 400
    done = _send(xlab, token, "POST", deploy, params={"override": "true"})
    assert done.status_code == 200 and set(done.json()) <= set(x_contract.load()["GoogleCloudApigeeV1Deployment"])
    assert done.json()["apiProxy"] == link["proxy"] and done.json()["state"] == "READY"
    alias = "/environments/test/keystores/%s/aliases/%s" % (link["keystore"], link["alias"])
    pem = _send(xlab, token, "GET", alias + "/certificate").content
    no_flag = _send(xlab, token, "PUT", alias, files={"certFile": ("c.pem", pem, "application/x-pem-file")})
    assert no_flag.status_code == 400 and "ignoreExpiryValidation" in no_flag.json()["error"]["message"]
    with_flag = _send(xlab, token, "PUT", alias, params={"ignoreExpiryValidation": "false"},
                      files={"certFile": ("c.pem", pem, "application/x-pem-file")})
    assert with_flag.status_code == 200 and with_flag.json()["type"] == "KEY_CERT"


def test_a_truststore_that_does_not_trust_the_backend_is_server_not_trusted_on_x_too(xlab):
    """X's TlsInfo has trustStore and ignoreValidationErrors as Edge's SSLInfo (apigee-x.yaml): the lab MP validates
    the backend with the truststore and fails; the diagnosis says server_not_trusted. The target server is restored."""
    client = ApigeeClient(xlab["mgmt_url"], xlab["org"], platform="x",
                          service_account_file=xlab["service_account_file"])
    env = "/environments/test"
    original, _changed = point_at_untrusting_truststore(client, xlab["state"])
    try:
        basepath = next(lk["basepath"] for lk in xlab["links"] if lk["id"] == "targetserver:test/ts-healthy-jsse")
        assert requests.get(xlab["mp_url"] + basepath, timeout=30).status_code == 503
        report = run_diagnosis(client, ["test"], key_manager=xlab["mp"]["key_manager"], java=xlab["mp"]["java"])
        row = next(r for r in report["links"] if r["id"] == "targetserver:test/ts-healthy-jsse")
        assert row["verdict"] == "server_not_trusted" and "clientrootonly" in row["remediation"]["text"]
    finally:
        client.put(env + "/targetservers/ts-healthy-jsse", json=original)
    assert requests.get(xlab["mp_url"] + basepath, timeout=30).status_code == 200


def test_sslinfo_ciphers_the_backend_cannot_use_are_backend_unreachable_on_x_too(xlab):
    """X's TlsInfo.ciphers are Java's standard names (apigee-x.yaml): the lab MP offers only those and the backend
    refuses (503); the diagnosis says backend_unreachable, never ok. The target server is restored."""
    import copy

    client = ApigeeClient(xlab["mgmt_url"], xlab["org"], platform="x",
                          service_account_file=xlab["service_account_file"])
    path = "/environments/test/targetservers/ts-healthy-jsse"
    original = client.get(path, cache=False)
    changed = copy.deepcopy(original)
    changed["sSLInfo"]["ciphers"] = ["TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"]
    basepath = next(lk["basepath"] for lk in xlab["links"] if lk["id"] == "targetserver:test/ts-healthy-jsse")
    client.put(path, json=changed)
    try:
        assert requests.get(xlab["mp_url"] + basepath, timeout=30).status_code == 503
        report = run_diagnosis(client, ["test"], key_manager=xlab["mp"]["key_manager"], java=xlab["mp"]["java"],
                               target_servers=["ts-healthy-jsse"], proxies=[])
        row = next(r for r in report["links"] if r["id"] == "targetserver:test/ts-healthy-jsse")
        assert row["verdict"] == "backend_unreachable", row["verdict"]
    finally:
        client.put(path, json=original)
    assert requests.get(xlab["mp_url"] + basepath, timeout=30).status_code == 200


def test_the_fixes_write_what_apigee_x_takes(xlab):
    """Turning client auth on: a target server keeps X's JSON booleans; a proxy gets a new revision, deployed without
    a body. An alias updated in place says ignoreExpiryValidation. (This test changes the lab: it runs last.)"""
    from ansible.module_utils.mtls.alias_chain import desired_chain
    from ansible.module_utils.mtls.apigee_stores import update_alias_certificate
    from ansible.module_utils.mtls.client_auth import enable_client_auth

    client = ApigeeClient(xlab["mgmt_url"], xlab["org"], platform="x",
                          service_account_file=xlab["service_account_file"])
    ts = next(lk for lk in xlab["links"] if lk["basepath"] == "/client-auth-off-nginx")
    assert enable_client_auth(client, ts["id"])["changed"] is True
    ssl = client.get("/environments/test/targetservers/ts-client-auth-off-nginx", cache=False)["sSLInfo"]
    assert ssl["clientAuthEnabled"] is True and ssl["enabled"] is True
    assert enable_client_auth(client, ts["id"])["changed"] is False
    proxy = next(lk for lk in xlab["links"] if lk["basepath"] == "/client-auth-off-jsse")
    moved = enable_client_auth(client, proxy["id"])
    assert moved["changed"] is True and moved["new_id"] != proxy["id"]
    deployed = client.get("/environments/test/deployments", cache=False)["deployments"]
    assert [d["revision"] for d in deployed if d["apiProxy"] == proxy["proxy"]] == [moved["new_id"].split("/")[2]]
    healthy = next(lk for lk in xlab["links"] if lk["basepath"] == "/healthy-jsse")
    with open(healthy["material"]["cert_chain"], encoding="utf-8") as fh:
        desired = desired_chain(cert_chain=fh.read())
    path = "/environments/test/keystores/%s/aliases/%s" % (healthy["keystore"], healthy["alias"])
    before = client.get(path, cache=False)["certsInfo"]["certInfo"]
    update_alias_certificate(client, "test", healthy["keystore"], healthy["alias"], desired)   # the leaf kept
    after = client.get(path, cache=False)
    assert after["type"] == "KEY_CERT" and len(after["certsInfo"]["certInfo"]) == len(desired.chain)
    assert after["certsInfo"]["certInfo"][0] == before[0]
