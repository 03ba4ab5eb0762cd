"""API proxies, their revisions, and bundle import / validate / export (``bundles.py`` validates).
"""
from __future__ import annotations

import hashlib

from flask import Response, g, jsonify, request

from ..bundles import RUNTIME_ONLY, BundleError, parse_bundle
from .common import (
    API_NAME,
    ApiError,
    Resource,
    bad,
    store,
    x_mode,
)

bp = Resource('apis', __name__)


def api_or_404(org, api):
    rec = store.get_api(org, api)
    if rec is None:
        raise ApiError(404, "messaging.config.beans.ApplicationDoesNotExist",
                       "APIProxy named %s does not exist in organization %s" % (api, org))
    return rec


def revision_or_404(org, api, rev):
    api_or_404(org, api)
    try:
        number = int(rev)
    except ValueError:
        raise bad("revision must be a number (got %r)" % rev, "messaging.config.beans.InvalidRevision") from None
    rec = store.get_revision(org, api, number)
    if rec is None:
        raise ApiError(404, "messaging.config.beans.ApplicationRevisionDoesNotExist",
                       "Revision %s for APIProxy %s does not exist" % (rev, api))
    return number, rec


def _revision_json(org, api, number, rec):
    meta = rec["meta"]
    ts, who = rec["created_at"], rec["created_by"]
    return {
        "basepaths": meta.get("basepaths", []),
        "configurationVersion": {"majorVersion": 4, "minorVersion": 0},
        "contextInfo": "Revision %d of application %s, in organization %s" % (number, api, org),
        "createdAt": ts, "createdBy": who,
        "description": meta.get("description", ""),
        "displayName": meta.get("displayName") or api,
        "entityMetaDataAsProperties": {"bundle_type": "zip", "createdAt": str(ts), "createdBy": who,
                                       "lastModifiedAt": str(ts), "lastModifiedBy": who, "subType": "null"},
        "lastModifiedAt": ts, "lastModifiedBy": who,
        "manifestVersion": "SHA-512:%s" % meta.get("sha512", ""),
        "name": api,
        "policies": meta.get("policies", []),
        "proxies": meta.get("proxyEndpoints", []),
        "proxyEndpoints": meta.get("proxyEndpoints", []),
        "resourceFiles": {"resourceFile": [{"name": r.split("://", 1)[1], "type": r.split("://", 1)[0]}
                                           for r in meta.get("resources", [])]},
        "resources": meta.get("resources", []),
        "revision": str(number),
        "sharedFlows": [],
        "targetEndpoints": meta.get("targetEndpoints", []),
        "targetServers": meta.get("targetServers", []),
        "targets": meta.get("targetEndpoints", []),
        "type": "Application",
    }


def _bundle_from_request():
    if request.mimetype == "multipart/form-data":
        f = request.files.get("file")
        if f is None:
            raise bad("the multipart body needs the bundle zip in field file",
                       "messaging.config.beans.ImportFailed")
        return f.read()
    if request.mimetype in ("application/octet-stream", "application/zip", "application/x-zip-compressed"):
        return request.get_data()
    raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                   "Unsupported Content-Type %r: import a bundle as multipart/form-data (file) or "
                   "application/octet-stream" % (request.content_type or ""))


def _meta_of(data, name):
    try:
        manifest = parse_bundle(data, expected_name=name)
    except BundleError as exc:
        raise bad("Bundle is invalid: %s" % exc, "messaging.config.beans.ImportFailed") from None
    manifest = {k: v for k, v in manifest.items() if k not in RUNTIME_ONLY}
    manifest["sha512"] = hashlib.sha512(data).hexdigest()[:32]
    return manifest


@bp.api_route("/apis", ["GET", "POST"])
def apis(org):
    if request.method == "GET":
        if x_mode():   # apigee-x.yaml ListApiProxiesResponse
            return jsonify({"proxies": [{"name": n} for n in store.list_apis(org)]})
        return jsonify(store.list_apis(org))
    action = request.args.get("action")
    name = request.args.get("name")
    if action not in ("import", "validate"):
        raise bad("action must be import or validate", "messaging.config.beans.InvalidAction")
    if not name or not API_NAME.match(name):
        raise bad("name is required (characters A-Za-z0-9._-)", "messaging.config.beans.InvalidName")
    data = _bundle_from_request()
    meta = _meta_of(data, name)
    if action == "validate":
        return jsonify({"name": name, "basepaths": meta["basepaths"], "valid": True})
    number = store.add_revision(org, name, data, meta, g.user.email)
    return jsonify(_revision_json(org, name, number, store.get_revision(org, name, number))), 201


@bp.api_route("/apis/<api>", ["GET", "DELETE"])
def api_item(org, api):
    rec = api_or_404(org, api)
    revs = store.list_revisions(org, api)
    if request.method == "DELETE":
        deployed = [d for d in store.list_all_deployments(org) if d["api"] == api]
        if deployed:
            raise bad("APIProxy %s has deployed revisions (%s): undeploy them first"
                       % (api, ", ".join("%s in %s" % (d["revision"], d["env"]) for d in deployed)),
                       "messaging.config.beans.ApplicationIsDeployed")
        body = _revision_json(org, api, revs[-1], store.get_revision(org, api, revs[-1])) if revs else \
            {"name": api}
        store.delete_api(org, api)
        return jsonify(body)
    return jsonify({"metaData": {"createdAt": rec["created_at"], "createdBy": rec["created_by"],
                                 "lastModifiedAt": rec["modified_at"], "lastModifiedBy": rec["modified_by"],
                                 "subType": "null"},
                    "name": api, "revision": [str(r) for r in revs]})


@bp.api_route("/apis/<api>/revisions", ["GET"])
def api_revisions(org, api):
    api_or_404(org, api)
    return jsonify([str(r) for r in store.list_revisions(org, api)])


@bp.api_route("/apis/<api>/revisions/<rev>", ["GET", "POST", "DELETE"])
def api_revision(org, api, rev):
    number, rec = revision_or_404(org, api, rev)
    if request.method == "GET":
        if request.args.get("format") == "bundle":
            data = store.get_revision_bundle(org, api, number)
            resp = Response(data, mimetype="application/octet-stream")
            resp.headers["Content-Disposition"] = 'attachment; filename="%s_rev%d.zip"' % (api, number)
            return resp
        return jsonify(_revision_json(org, api, number, rec))
    deployed_in = [d["env"] for d in store.list_all_deployments(org) if d["api"] == api
                   and d["revision"] == number]
    if request.method == "DELETE":
        if deployed_in:
            raise bad("Revision %d of APIProxy %s is deployed in %s: undeploy it first"
                       % (number, api, ", ".join(deployed_in)), "messaging.config.beans.ApplicationIsDeployed")
        body = _revision_json(org, api, number, rec)
        store.delete_revision(org, api, number)
        return jsonify(body)
    raise ApiError(405, "messaging.config.beans.MethodNotAllowed",
                   "updating a revision in place is not supported by the lab: import a new revision")

