"""The emulator's Apigee X / hybrid mode (``labctl up --platform x``): the same resources under the shapes that
apigee-x.yaml gives them, where they differ from Edge's.

- Errors: ``{"error": {"code", "message", "status"}}`` (google.rpc.Status), the status name for the HTTP code.
- Keystore: ``{"name", "aliases": [string]}`` (Keystore); alias: ``{"alias", "certsInfo": {"certInfo"}, "type":
  "KEY_CERT" | "CERT"}`` (Alias: no ``keyName``).
- Target server: ``sSLInfo`` (TlsInfo) with JSON booleans; ``protocol`` ``HTTP`` (TargetServer).
- Deployments of an environment: ``{"deployments": [{"environment", "apiProxy", "revision", "deployStartTime",
  "state"}]}`` (ListDeploymentsResponse; no base path).
- Only ``/v1/organizations/{org}/environments/{env}/...``: the Edge short forms ``/v1/o/`` and ``/e/`` do not exist.
- Request bodies are read as their proto messages are (the protobuf JSON mapping, protobuf.dev/programming-guides/
  json): a field the message does not have is refused ("Unknown name"), and so is a boolean field given anything but
  ``true`` / ``false`` (a target server's ``sSLInfo.clientAuthEnabled: "true"``, which Edge takes, is a 400 here).
- Deploy takes no body (apigee-x.yaml: query parameters only) and answers a Deployment.
- An alias update requires ``ignoreExpiryValidation`` (APIGEE-FACTS.md).
- Authentication: Google OAuth2 bearer tokens only (the lab's stand-in token endpoint, ``google_token.py``).
"""
from __future__ import annotations

import json

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          405: "UNIMPLEMENTED", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 415: "INVALID_ARGUMENT",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}


# The JSON fields of the request bodies the X lab takes, by message (apigee-x.yaml components.schemas:
# GoogleCloudApigeeV1TargetServer, TlsInfo, Reference, Keystore): field -> JSON type, or the message it holds.
BODIES = {
    "target_server": {"name": "string", "description": "string", "host": "string", "port": "integer",
                      "isEnabled": "boolean", "sSLInfo": "tls_info", "protocol": "string"},
    "tls_info": {"enabled": "boolean", "clientAuthEnabled": "boolean", "keyStore": "string", "keyAlias": "string",
                 "trustStore": "string", "ignoreValidationErrors": "boolean", "protocols": "array",
                 "ciphers": "array", "commonName": "object"},
    "reference": {"name": "string", "description": "string", "refers": "string", "resourceType": "string"},
    "keystore": {"name": "string", "aliases": "array"},
}
_PROTO_TYPE = {"string": "TYPE_STRING", "integer": "TYPE_INT32", "boolean": "TYPE_BOOL"}


def body_error(message: str, data, at: str | None = None) -> str | None:
    """Why Apigee X would refuse `data` as a `message` body (a field it lacks, a value of the wrong type), or None."""
    at = at or message
    if not isinstance(data, dict):
        return "Invalid JSON payload received. Expected an object at '%s'." % at
    fields = BODIES[message]
    for key, value in data.items():
        kind = fields.get(key)
        if kind is None:
            return "Invalid JSON payload received. Unknown name \"%s\" at '%s': Cannot find field." % (key, at)
        where = "%s.%s" % (at, key)
        if value is None:
            continue
        if kind in BODIES:
            why = body_error(kind, value, where)
            if why:
                return why
            continue
        ok = {"string": isinstance(value, str),
              "boolean": isinstance(value, bool),
              # proto3 JSON takes an int32 as a number or a string of digits
              "integer": (isinstance(value, int) and not isinstance(value, bool))
              or (isinstance(value, str) and value.strip().lstrip("-").isdigit()),
              "array": isinstance(value, list), "object": isinstance(value, dict)}[kind]
        if not ok:
            return "Invalid value at '%s' (%s), %s" % (where, _PROTO_TYPE.get(kind, kind.upper()),
                                                        json.dumps(value))
    return None


def deployment(env: str, api: str, revision, at) -> dict:
    return {"environment": env, "apiProxy": api, "revision": str(revision), "deployStartTime": str(at or 0),
            "state": "READY"}


def error(status: int, message: str) -> dict:
    return {"error": {"code": status, "message": message, "status": STATUS.get(status, "UNKNOWN")}}


def keystore(doc: dict) -> dict:
    return {"name": doc["name"], "aliases": [a["aliasName"] for a in doc.get("aliases") or []]}


def alias(edge_alias: dict) -> dict:
    return {"alias": edge_alias["alias"], "certsInfo": {"certInfo": edge_alias["certsInfo"]["certInfo"]},
            "type": "KEY_CERT" if edge_alias.get("keyName") else "CERT"}


def target_server(doc: dict) -> dict:
    out = dict(doc, protocol="HTTP")
    ssl = doc.get("sSLInfo")
    if ssl is not None:
        ssl = dict(ssl)
        for key in ("enabled", "clientAuthEnabled"):
            ssl[key] = str(ssl.get(key)).lower() == "true"
        out["sSLInfo"] = ssl
    return out


def deployments(org: str, env: str, rows: list[dict]) -> dict:
    return {"deployments": [deployment(env, d["api"], d["revision"], d.get("deployed_at")) for d in rows]}


def is_edge_only_path(path: str) -> bool:
    """Edge's short forms (/v1/o/{org}, .../e/{env}/...) that Apigee X / hybrid do not serve."""
    parts = path.split("/")   # ['', 'v1', 'organizations' | 'o', org, 'environments' | 'e', env, ...]
    return len(parts) > 2 and parts[1] == "v1" and (parts[2] == "o" or (len(parts) > 4 and parts[4] == "e"))
