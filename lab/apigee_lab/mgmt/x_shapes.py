"""The emulator's Apigee X / hybrid mode (``labctl up --platform x``): the same resources under the shapes that
apigee-x.yaml gives them, where they differ from Edge's.

- Errors: ``{"error": {"code", "message", "status"}}`` (google.rpc.Status), the status name for the HTTP code.
- Keystore: ``{"name", "aliases": [string]}`` (Keystore); alias: ``{"alias", "certsInfo": {"certInfo"}, "type":
  "KEY_CERT" | "CERT"}`` (Alias: no ``keyName``).
- Target server: ``sSLInfo`` (TlsInfo) with JSON booleans; ``protocol`` ``HTTP`` (TargetServer).
- Deployments of an environment: ``{"deployments": [{"environment", "apiProxy", "revision", "deployStartTime",
  "state"}]}`` (ListDeploymentsResponse; no base path).
- Only ``/v1/organizations/{org}/environments/{env}/...``: the Edge short forms ``/v1/o/`` and ``/e/`` do not exist.
- Authentication: Google OAuth2 bearer tokens only (the lab's stand-in token endpoint, ``google_token.py``).
"""
from __future__ import annotations

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          405: "UNIMPLEMENTED", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 415: "INVALID_ARGUMENT",
          429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE"}


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
    return {"deployments": [{"environment": env, "apiProxy": d["api"], "revision": str(d["revision"]),
                             "deployStartTime": str(d.get("deployed_at") or 0), "state": "READY"} for d in rows]}


def is_edge_only_path(path: str) -> bool:
    """Edge's short forms (/v1/o/{org}, .../e/{env}/...) that Apigee X / hybrid do not serve."""
    parts = path.split("/")   # ['', 'v1', 'organizations' | 'o', org, 'environments' | 'e', env, ...]
    return len(parts) > 2 and parts[1] == "v1" and (parts[2] == "o" or (len(parts) > 4 and parts[4] == "e"))
