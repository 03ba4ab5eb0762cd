"""Does a request the tool made look like one the published Edge specs accept?

The emulator journals every request it gets (method, path, query parameter names, Content-Type; never a body or a
header value: ``GET /_lab/requests?journal=1``). :func:`problems` checks each against the project's contract file
(edge-contract.json, the published specs): the path is one the specs know, the method is one they allow there, every
required query parameter is present, a required ``Content-type`` header is sent, and a body is sent with one of the
media types the operation's ``requestBody`` lists. Calls documented outside those four specs (organization,
environment, target servers) are listed below with where Apigee documents them.
"""
from __future__ import annotations

import re

from tests.contract import edge_contract

# Operations of the Edge management API documented outside the four specs (docs.apigee.com: organizations, environments,
# target servers and debug sessions API reference): method -> the request media types they take (None: no body), or
# (media types, required query parameters).
OTHER_OPERATIONS = {
    "/organizations/{org_name}": {"get": None},
    "/organizations/{org_name}/environments": {"get": None},   # List environments: a JSON list of names
    "/organizations/{org_name}/environments/{env_name}": {"get": None},
    "/organizations/{org_name}/environments/{env_name}/targetservers": {"get": None, "post": ["application/json"]},
    "/organizations/{org_name}/environments/{env_name}/targetservers/{ts_name}": {
        "get": None, "put": ["application/json"], "delete": None},
    # Debug sessions (APIGEE-FACTS.md "Debug sessions"; docs.apigee.com "Create a debug session": the session name as
    # the query parameter `session`, "Specify the content type as application/x-www-url-form-encoded")
    "/organizations/{org_name}/environments/{env_name}/apis/{api_name}/revisions/{revision_number}/debugsessions": {
        "get": None, "post": (["application/x-www-form-urlencoded"], ["session"])},
    "/organizations/{org_name}/environments/{env_name}/apis/{api_name}/revisions/{revision_number}/debugsessions/"
    "{session_name}": {"get": None, "delete": None},
    "/organizations/{org_name}/environments/{env_name}/apis/{api_name}/revisions/{revision_number}/debugsessions/"
    "{session_name}/data": {"get": None},
    "/organizations/{org_name}/environments/{env_name}/apis/{api_name}/revisions/{revision_number}/debugsessions/"
    "{session_name}/data/{transaction_id}": {"get": None},
}
METHODS = ("get", "post", "put", "delete", "patch", "head")


def _resolve(spec, node):
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not ref:
        return node
    target = spec
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return target


def _pattern(template: str):
    return re.compile("^/v1" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")


def operations() -> list[dict]:
    """Every operation: {"pattern", "template", "method", "media" (list or None), "query" (required names),
    "content_type_header" (a required Content-type header)}."""
    out = []
    for name, spec in edge_contract.load().items():
        for template, item in spec["paths"].items():
            shared = [_resolve(spec, p) for p in item.get("parameters") or []]
            for method, op in item.items():
                if method not in METHODS:
                    continue
                params = shared + [_resolve(spec, p) for p in op.get("parameters") or []]
                body = _resolve(spec, op.get("requestBody")) if op.get("requestBody") else None
                out.append({"pattern": _pattern(template), "template": template, "method": method.upper(),
                            "spec": name, "media": sorted((body or {}).get("content") or {}) or None,
                            "query": sorted(p["name"] for p in params if p.get("in") == "query" and p.get("required")),
                            "content_type_header": any(p.get("in") == "header" and p.get("required") and
                                                       p["name"].lower() == "content-type" for p in params)})
    for template, methods in OTHER_OPERATIONS.items():
        for method, media in methods.items():
            media, query = media if isinstance(media, tuple) else (media, [])
            out.append({"pattern": _pattern(template), "template": template, "method": method.upper(),
                        "spec": "docs.apigee.com", "media": media, "query": list(query),
                        "content_type_header": bool(media and "application/x-www-form-urlencoded" in media)})
    return out


def problems(journal, ops=None) -> list[str]:
    """What in the journaled requests the specs would not accept (empty when everything would be)."""
    ops = operations() if ops is None else ops
    found = []
    for entry in journal:
        path, method = entry["path"], entry["method"]
        if not path.startswith("/v1/"):
            continue  # the login service and the lab's own admin paths
        at_path = [op for op in ops if op["pattern"].match(path)]
        if not at_path:
            found.append("%s %s: no such path in the specs" % (method, path))
            continue
        # the most specific template first (fewest {parameters})
        at_path.sort(key=lambda op: op["template"].count("{"))
        op = next((o for o in at_path if o["method"] == method), None)
        if op is None:
            found.append("%s %s: the specs allow only %s there" % (method, path,
                                                                  ", ".join(sorted({o["method"] for o in at_path}))))
            continue
        missing = [q for q in op["query"] if q not in entry.get("query", [])]
        if missing:
            found.append("%s %s: required query parameter(s) %s missing" % (method, path, ", ".join(missing)))
        media = entry.get("content_type") or ""
        if op["content_type_header"] and not media:
            found.append("%s %s: the spec requires a Content-type header" % (method, path))
        if media and op["media"] and media not in op["media"]:
            found.append("%s %s: sent %s, the spec takes %s" % (method, path, media, ", ".join(op["media"])))
    return sorted(set(found))
