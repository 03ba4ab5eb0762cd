"""Apigee resources: every management API path the project uses, "not found" as a value, and link ids.

The one place that spells Apigee's resource paths (relative to ``/v1/organizations/{org}``), quoting each name as one
path segment; the seam where another Apigee flavour plugs in.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError


def q(value) -> str:
    """One path segment: every character that is not unreserved is percent-encoded ('/' included).

    Refuses what would address another resource or no resource at all: an empty name, "." and ".." (HTTP clients
    and servers remove dot segments: DELETE .../keystores/.. would reach the environment), and control characters."""
    text = "" if value is None else str(value)
    if text in ("", ".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise MtlsError("%r is not a valid Apigee name: names are non-empty, are not '.' or '..' and hold no control "
                        "character" % (text,))
    return quote(text, safe="")


def names(doc, path: str) -> list[str]:
    """A listing (GET of a collection: a JSON list of names), checked; MtlsError naming the call otherwise."""
    if doc is None:
        return []
    if not isinstance(doc, list) or not all(isinstance(n, str) and n for n in doc):
        raise MtlsError("the Apigee management API answered GET %s with a malformed listing: expected a list of names, "
                        "got %s" % (path, _shape(doc)))
    return list(doc)


def document(doc, path: str) -> dict:
    """One resource (a JSON object), checked; MtlsError naming the call otherwise."""
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise MtlsError("the Apigee management API answered GET %s with a malformed document: expected a JSON object, "
                        "got %s" % (path, _shape(doc)))
    return doc


def _shape(doc) -> str:
    text = repr(doc)
    return "%s %s" % (type(doc).__name__, text if len(text) <= 80 else text[:77] + "...")


def environments_path() -> str:
    return "/environments"


def environment_path(env: str) -> str:
    return "/environments/%s" % q(env)


def keystores_path(env: str) -> str:
    return "%s/keystores" % environment_path(env)


def keystore_path(env: str, keystore: str) -> str:
    return "%s/%s" % (keystores_path(env), q(keystore))


def aliases_path(env: str, keystore: str) -> str:
    return "%s/aliases" % keystore_path(env, keystore)


def alias_path(env: str, keystore: str, alias: str) -> str:
    return "%s/%s" % (aliases_path(env, keystore), q(alias))


def alias_certificate_path(env: str, keystore: str, alias: str) -> str:
    return "%s/certificate" % alias_path(env, keystore, alias)


def reference_path(env: str, name: str | None = None) -> str:
    base = "%s/references" % environment_path(env)
    return base if name is None else "%s/%s" % (base, q(name))


def target_server_path(env: str, name: str | None = None) -> str:
    base = "%s/targetservers" % environment_path(env)
    return base if name is None else "%s/%s" % (base, q(name))


def deployments_path(env: str) -> str:
    return "%s/deployments" % environment_path(env)


def api_deployments_path(env: str, api: str) -> str:
    """The revisions of one proxy deployed in one environment."""
    return "%s/apis/%s/deployments" % (environment_path(env), q(api))


def revision_path(api: str, revision) -> str:
    """A proxy revision; GET with params={"format": "bundle"} exports its bundle (zip)."""
    return "/apis/%s/revisions/%s" % (q(api), q(revision))


APIS_PATH = "/apis"
BUNDLE_PARAMS = {"format": "bundle"}


def deployment_path(env: str, api: str, revision) -> str:
    return "%s/apis/%s/revisions/%s/deployments" % (environment_path(env), q(api), q(revision))


def deploy_over(client, env: str, api: str, revision):
    """Deploy a revision over the one deployed now (override). Edge's deploy takes a form body (Content-Type
    application/x-www-form-urlencoded, deployments.yaml); Apigee X / hybrid's takes none (apigee-x.yaml: deploy has
    query parameters only)."""
    body = {"data": {"override": "true"}} if getattr(client, "platform", "edge") == "edge" else {}
    return client.post(deployment_path(env, api, revision), params={"override": "true"}, **body)


def json_bool(like, value: bool):
    """`value` in the type the resource was read with: Edge answers a target server's sSLInfo enabled /
    clientAuthEnabled as the strings "true" / "false"; Apigee X / hybrid (TlsInfo) as JSON booleans, and refuses a
    string there."""
    return value if isinstance(like, bool) else ("true" if value else "false")


def debugsessions_path(env: str, api: str, revision, session: str | None = None) -> str:
    """Debug sessions (the UI's trace) of a deployed revision; with a session, that session (APIGEE-FACTS.md)."""
    path = "%s/apis/%s/revisions/%s/debugsessions" % (environment_path(env), q(api), q(revision))
    return path if session is None else "%s/%s" % (path, q(session))


def debug_data_path(env: str, api: str, revision, session: str, transaction: str | None = None) -> str:
    """A debug session's transaction ids; with a transaction, its data."""
    path = "%s/data" % debugsessions_path(env, api, revision, session)
    return path if transaction is None else "%s/%s" % (path, q(transaction))


# keystores-and-trustores.yaml (createKeystoreTruststore): "Keystore names can contain only alphanumeric characters"
NEW_KEYSTORE_NAME = re.compile(r"^[A-Za-z0-9]{1,255}$")


def check_new_keystore_name(name) -> str:
    """A name for a keystore or truststore the tool is about to create, checked against Edge's rule before any
    change (an existing keystore is used under whatever name it has)."""
    if not isinstance(name, str) or not NEW_KEYSTORE_NAME.match(name):
        raise MtlsError("keystore name %r cannot be created: Apigee keystore and truststore names can contain only "
                        "alphanumeric characters (keystores-and-trustores.yaml); choose a name such as %r"
                        % (name, re.sub(r"[^A-Za-z0-9]", "", str(name or "")) or "keystore1"))
    return name


def is_not_found(exc) -> bool:
    return getattr(exc, "status", None) == 404


def _or_none(read, path, **kwargs):
    try:
        return read(path, **kwargs)
    except ApigeeApiError as exc:
        if is_not_found(exc):
            return None
        raise


def get_or_none(client, path, **kwargs):
    """The JSON document at path, or None when Apigee answers 404 (any other error is raised)."""
    return _or_none(client.get, path, **kwargs)


def get_raw_or_none(client, path, **kwargs):
    """The bytes at path, or None on 404."""
    return _or_none(client.get_raw, path, **kwargs)


def deployed_revisions(doc, path: str) -> list[tuple]:
    """``(api, revision, base path or None)`` of every revision deployed in an environment, from either shape of
    ``GET .../environments/{env}/deployments``: Edge's ``{"aPIProxy": [{"name", "revision": [{"name", "state",
    "configuration": {"basePath"}}]}]}`` or Apigee X / hybrid's ``{"deployments": [{"apiProxy", "revision",
    "state"}]}`` (apigee-x.yaml, ListDeploymentsResponse; no base path there: it is in the bundle). A deployment in
    state ERROR serves nothing and is left out; an empty environment may answer either shape or ``{}``."""
    doc = document(doc, path)
    out = []
    if "deployments" in doc and "aPIProxy" not in doc:
        items = doc.get("deployments") or []
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise MtlsError("the Apigee management API answered GET %s with a malformed document: deployments is not "
                            "a list of deployments" % path)
        for d in items:
            if str(d.get("state") or "READY").upper() == "ERROR" or not d.get("apiProxy"):
                continue
            out.append((d["apiProxy"], int(d.get("revision")), None))
        return out
    proxies = doc.get("aPIProxy") or []
    if not isinstance(proxies, list) or not all(isinstance(p, dict) for p in proxies):
        raise MtlsError("the Apigee management API answered GET %s with a malformed document: aPIProxy is not a list "
                        "of proxies" % path)
    for proxy in proxies:
        for rev in proxy.get("revision") or []:
            if rev.get("state", "deployed") != "deployed":
                continue
            out.append((proxy.get("name"), int(rev.get("name")), (rev.get("configuration") or {}).get("basePath")))
    return out


def alias_names(keystore_doc) -> list[str]:
    names = []
    for item in (keystore_doc or {}).get("aliases") or []:
        name = item.get("aliasName") if isinstance(item, dict) else item
        if name:
            names.append(name)
    return names


# ------------------------------------------------------------------------------------------------------- link ids
# targetserver:<env>/<name>, proxy:<env>/<api>/<rev>/<target> and callout:<env>/<api>/<rev>/<policy> (a
# ServiceCallout policy's HTTPTargetConnection): built here, parsed here, nowhere else.

def target_server_link_id(env, name) -> str:
    return "targetserver:%s/%s" % (env, name)


def proxy_link_id(env, api, revision, target) -> str:
    return "proxy:%s/%s/%s/%s" % (env, api, revision, target)


def callout_link_id(env, api, revision, policy) -> str:
    return "callout:%s/%s/%s/%s" % (env, api, revision, policy)


def parse_link_id(link_id) -> dict:
    """{"kind", "env", and "name" (target server) or "api", "revision", "target" (proxy) / "policy" (callout)};
    MtlsError otherwise."""
    kind, sep, rest = str(link_id or "").partition(":")
    parts = rest.split("/")
    if sep and kind == "targetserver" and len(parts) >= 2 and parts[0] and parts[1]:
        return {"kind": kind, "env": parts[0], "name": "/".join(parts[1:])}
    if sep and kind in ("proxy", "callout") and len(parts) == 4 and all(parts):
        return {"kind": kind, "env": parts[0], "api": parts[1], "revision": parts[2],
                "target" if kind == "proxy" else "policy": parts[3]}
    raise MtlsError("link id %r is none of targetserver:<env>/<name>, proxy:<env>/<api>/<rev>/<target> and "
                    "callout:<env>/<api>/<rev>/<policy>" % (link_id,))


def latest_revision_id(link_id, known) -> str:
    """The id in `known` that a proxy/callout link id has at the highest revision of the same env, proxy and target
    (or policy), at least its own: two fixes of one run to the same proxy each deploy a new revision, so a link renamed
    by the first lives on in the second's. Any other id, or none found, is returned as it is."""
    try:
        where = parse_link_id(link_id)
    except MtlsError:
        return link_id
    if where["kind"] == "targetserver" or link_id in known or not where["revision"].isdigit():
        return link_id
    best, best_rev = link_id, int(where["revision"])
    name = where.get("target") or where.get("policy")
    for other in known:
        try:
            o = parse_link_id(other)
        except MtlsError:
            continue
        if o["kind"] == where["kind"] and (o["kind"], o["env"], o["api"], o.get("target") or o.get("policy")) == (
                where["kind"], where["env"], where["api"], name) and o["revision"].isdigit() \
                and int(o["revision"]) > best_rev:
            best, best_rev = other, int(o["revision"])
    return best


def env_of_link_id(link_id):
    """The environment named in a link id, or None when it is not a link id."""
    try:
        return parse_link_id(link_id)["env"]
    except MtlsError:
        return None
