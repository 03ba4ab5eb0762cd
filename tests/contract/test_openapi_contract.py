"""Contract tests: real responses of the management API emulator validated with openapi-core against Apigee Edge's
published OpenAPI specs, as the project carries them (tests/contract/edge-contract.json: the specs without their prose,
see edge_contract.py; checked against the published files whenever they are present).

The wrapper (``_load``) only:
- points ``servers`` at the emulator (``http://localhost/v1``);
- adds a ``default`` response with Edge's error body {"code", "message", "contexts"} to every operation, so error
  answers are validated too;
- corrects two places where the spec contradicts Edge's real answers, each visible in the spec's own examples:
  ``certInfo.expiryDate``/``validFrom`` are epoch-millisecond numbers (spec example ``expiryDate: 1470268707000``;
  the schema says string), and ``APIProxyRevision.basepaths`` is a list (spec example ``basepaths:
  [/mock-target-api]``; the schema says string);
- quotes the numeric defaults of two ``type: string`` request fields, which make the spec itself invalid.
Target servers have no spec in the reference folder; ``TARGETSERVERS_SPEC`` transcribes Edge's documented TargetServer
JSON (name, host, port, isEnabled, sSLInfo with enabled/clientAuthEnabled as "true"/"false" strings as Edge answers).
"""
from __future__ import annotations

import copy
import io

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.test import EnvironBuilder

from tests.contract import edge_contract
from tests.contract.mgmt_support import (
    BASIC,
    bundle_zip,
    create_keystore,
    full_chain_pem,
    import_bundle,
    make_app,
    pki,
    upload_keycert,
)

ERROR_SCHEMA = {"type": "object", "required": ["code", "message", "contexts"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "contexts": {"type": "array"}}}

TARGETSERVERS_SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "Target servers (transcribed from Apigee Edge's documentation)", "version": "1.0"},
    "paths": {
        "/organizations/{org_name}/environments/{env_name}/targetservers": {
            "parameters": [{"$ref": "#/components/parameters/org_name"}, {"$ref": "#/components/parameters/env_name"}],
            "get": {"operationId": "listTargetServers", "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}}}},
            "post": {"operationId": "createTargetServer", "responses": {"201": {"description": "Created", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TargetServer"}}}}}},
        },
        "/organizations/{org_name}/environments/{env_name}/targetservers/{ts_name}": {
            "parameters": [{"$ref": "#/components/parameters/org_name"}, {"$ref": "#/components/parameters/env_name"},
                           {"in": "path", "name": "ts_name", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "getTargetServer", "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TargetServer"}}}}}},
            "put": {"operationId": "updateTargetServer", "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TargetServer"}}}}}},
            "delete": {"operationId": "deleteTargetServer", "responses": {"200": {"description": "OK", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TargetServer"}}}}}},
        },
    },
    "components": {
        "parameters": {
            "org_name": {"in": "path", "name": "org_name", "required": True, "schema": {"type": "string"}},
            "env_name": {"in": "path", "name": "env_name", "required": True, "schema": {"type": "string"}},
        },
        "schemas": {"TargetServer": {
            "type": "object", "required": ["name", "host", "port", "isEnabled"], "additionalProperties": False,
            "properties": {
                "name": {"type": "string"}, "host": {"type": "string"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535}, "isEnabled": {"type": "boolean"},
                "sSLInfo": {"type": "object", "additionalProperties": False, "properties": {
                    "enabled": {"type": "string", "enum": ["true", "false"]},
                    "clientAuthEnabled": {"type": "string", "enum": ["true", "false"]},
                    "keyStore": {"type": "string"}, "keyAlias": {"type": "string"}, "trustStore": {"type": "string"},
                    "ignoreValidationErrors": {"type": "boolean"},
                    "protocols": {"type": "array", "items": {"type": "string"}},
                    "ciphers": {"type": "array", "items": {"type": "string"}}}},
            }}},
    },
}


def _fix_string_defaults(node):
    """The keystore spec declares ``type: string`` with numeric defaults (keySize 2048, certValidityInDays 365),
    which the spec validator refuses; quote them (no emulator response involves those request-only schemas)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and "default" in node and not isinstance(node["default"], str):
            node["default"] = str(node["default"])
        for value in node.values():
            _fix_string_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _fix_string_defaults(value)


def _with_defaults(spec: dict) -> dict:
    spec = copy.deepcopy(spec)
    _fix_string_defaults(spec)
    spec["servers"] = [{"url": "http://localhost/v1"}]
    spec.setdefault("components", {}).setdefault("schemas", {})["LabEdgeError"] = ERROR_SCHEMA
    for item in spec["paths"].values():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete") and isinstance(op, dict):
                op["responses"].setdefault("default", {"description": "Edge error", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/LabEdgeError"}}}})
    return spec


def test_contract_file_matches_the_published_specs():
    """edge-contract.json is exactly the published specs without their prose (run where the specs are present)."""
    spec_dir = edge_contract.full_spec_dir()
    if spec_dir is None:
        pytest.skip("the published Edge specs are not here (APIGEE_OPENAPI_DIR); the contract file is used as it is")
    assert edge_contract.load() == edge_contract.facts(spec_dir)


@pytest.fixture(scope="module")
def specs():
    out = {}
    published = edge_contract.load()
    for name in edge_contract.SPECS:
        spec = _with_defaults(published[name])
        if name == "keystores-and-trustores":
            for schema in ("Alias", "Certificate"):
                props = spec["components"]["schemas"][schema]["properties"]
                info = props["certsInfo"]["properties"]["certInfo"] if schema == "Alias" else props["certInfo"]
                for field in ("expiryDate", "validFrom"):
                    info["items"]["properties"][field] = {"type": "integer"}
        if name == "proxies":
            spec["components"]["schemas"]["APIProxyRevision"]["properties"]["basepaths"] = {
                "type": "array", "items": {"type": "string"}}
        out[name] = OpenAPI.from_dict(spec)
    out["targetservers"] = OpenAPI.from_dict(_with_defaults(TARGETSERVERS_SPEC))
    return out


@pytest.fixture()
def client(tmp_path):
    return make_app(tmp_path).test_client()


def _request_of(resp):
    """The request that produced resp, rebuilt without its (already consumed) body: response validation only needs
    the method, the path (to find the operation) and the query."""
    sent = resp.request
    return WerkzeugOpenAPIRequest(EnvironBuilder(path=sent.path, method=sent.method, base_url="http://localhost",
                                                 query_string=sent.query_string.decode("latin-1")).get_request())


def check(specs, name, resp, expect_status):
    """Validate one real emulator response against the named spec (raises with openapi-core's explanation)."""
    assert resp.status_code == expect_status, resp.get_data(as_text=True)
    specs[name].validate_response(_request_of(resp), WerkzeugOpenAPIResponse(resp))
    return resp


ORG = "/v1/organizations/lab"
ENV = ORG + "/environments/test"


def test_keystores_aliases_certs_contract(specs, client):
    p = pki()
    check(specs, "keystores-and-trustores", create_keystore(client, "ks1"), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores", headers=BASIC), 200)
    check(specs, "keystores-and-trustores",
          upload_keycert(client, "ks1", "a1", full_chain_pem(), p["leaf"].key_pem()), 201)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1/aliases", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1/aliases/a1", headers=BASIC), 200)
    check(specs, "keystores-and-trustores",
          client.get(ENV + "/keystores/ks1/aliases/a1/certificate", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.put(
        ENV + "/keystores/ks1/aliases/a1", data={"file": (io.BytesIO(p["leaf"].cert_pem()), "c.pem")},
        content_type="multipart/form-data", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1/certs", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1/certs/a1-cert", headers=BASIC), 200)
    check(specs, "keystores-and-trustores",
          client.get(ENV + "/keystores/ks1/certs/a1-cert/export", headers=BASIC), 200)
    create_keystore(client, "ts1")
    check(specs, "keystores-and-trustores", client.post(
        ENV + "/keystores/ts1/certs?alias=rootA", data={"file": (io.BytesIO(p["root"].cert_pem()), "r.pem")},
        content_type="multipart/form-data", headers=BASIC), 204)
    check(specs, "keystores-and-trustores", client.delete(ENV + "/keystores/ts1/certs/rootA", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.delete(ENV + "/keystores/ks1/aliases/a1", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1/aliases/a1", headers=BASIC), 404)
    check(specs, "keystores-and-trustores", client.delete(ENV + "/keystores/ks1", headers=BASIC), 200)
    check(specs, "keystores-and-trustores", client.get(ENV + "/keystores/ks1", headers=BASIC), 404)


def test_alias_expired_and_duplicate_errors_contract(specs, client):
    p = pki()
    create_keystore(client, "ks1")
    check(specs, "keystores-and-trustores",
          upload_keycert(client, "ks1", "old", p["expired"].cert_pem(), p["expired"].key_pem()), 400)
    upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), p["leaf"].key_pem())
    check(specs, "keystores-and-trustores",
          upload_keycert(client, "ks1", "a1", p["leaf"].cert_pem(), p["leaf"].key_pem()), 409)


def test_references_contract(specs, client):
    create_keystore(client, "ks1")
    body = {"name": "ksref", "refers": "ks1", "resourceType": "KeyStore"}
    check(specs, "references", client.post(ENV + "/references", json=body, headers=BASIC), 201)
    check(specs, "references", client.get(ENV + "/references", headers=BASIC), 200)
    check(specs, "references", client.get(ENV + "/references/ksref", headers=BASIC), 200)
    check(specs, "references", client.put(ENV + "/references/ksref", json=body, headers=BASIC), 200)
    check(specs, "references", client.delete(ENV + "/references/ksref", headers=BASIC), 200)
    check(specs, "references", client.get(ENV + "/references/ksref", headers=BASIC), 404)


def test_targetservers_contract(specs, client):
    body = {"name": "ts-a", "host": "127.0.0.1", "port": 18441,
            "sSLInfo": {"enabled": "true", "clientAuthEnabled": True, "keyStore": "ref://r", "keyAlias": "a"}}
    check(specs, "targetservers", client.post(ENV + "/targetservers", json=body, headers=BASIC), 201)
    check(specs, "targetservers", client.get(ENV + "/targetservers", headers=BASIC), 200)
    check(specs, "targetservers", client.get(ENV + "/targetservers/ts-a", headers=BASIC), 200)
    check(specs, "targetservers", client.put(ENV + "/targetservers/ts-a", json=body, headers=BASIC), 200)
    check(specs, "targetservers", client.delete(ENV + "/targetservers/ts-a", headers=BASIC), 200)
    check(specs, "targetservers", client.get(ENV + "/targetservers/ts-a", headers=BASIC), 404)


def test_proxies_and_deployments_contract(specs, client):
    check(specs, "proxies", import_bundle(client, "p1", bundle_zip("p1", "/p1")), 201)
    check(specs, "proxies", client.get(ORG + "/apis", headers=BASIC), 200)
    check(specs, "proxies", client.get(ORG + "/apis/p1", headers=BASIC), 200)
    check(specs, "proxies", client.get(ORG + "/apis/p1/revisions", headers=BASIC), 200)
    check(specs, "proxies", client.get(ORG + "/apis/p1/revisions/1", headers=BASIC), 200)
    check(specs, "proxies", client.get(ORG + "/apis/p1/revisions/1?format=bundle", headers=BASIC), 200)
    check(specs, "deployments", client.post(ENV + "/apis/p1/revisions/1/deployments", headers=BASIC,
                                            data={"override": "false"}), 200)
    check(specs, "deployments", client.get(ENV + "/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.get(ORG + "/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.get(ORG + "/apis/p1/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.get(ENV + "/apis/p1/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.get(ORG + "/apis/p1/revisions/1/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.get(ENV + "/apis/p1/revisions/1/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.delete(ENV + "/apis/p1/revisions/1/deployments", headers=BASIC), 200)
    check(specs, "deployments", client.delete(ENV + "/apis/p1/revisions/1/deployments", headers=BASIC), 400)
    check(specs, "proxies", client.delete(ORG + "/apis/p1/revisions/1", headers=BASIC), 200)
    check(specs, "proxies", client.get(ORG + "/apis/p1/revisions/1", headers=BASIC), 404)


def test_the_validator_rejects_a_wrong_shape(specs, client):
    """The contract check is not a rubber stamp: a response with a wrong field type fails validation."""
    import json

    from werkzeug.wrappers import Response

    create_keystore(client, "ks1")
    real = client.post(ENV + "/references", json={"name": "r", "refers": "ks1", "resourceType": "KeyStore"},
                       headers=BASIC)
    fake = Response(json.dumps({"name": 5, "refers": "ks1", "resourceType": "KeyStore"}), status=201,
                    mimetype="application/json")
    with pytest.raises(Exception, match="(?i)invalid|validat"):
        specs["references"].validate_response(_request_of(real), WerkzeugOpenAPIResponse(fake))
