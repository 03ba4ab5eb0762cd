"""Deployments: per environment, organization, proxy and revision; deploy (form body, ``override``) and undeploy.
"""
from __future__ import annotations

from flask import jsonify, request

from . import x_shapes
from .apis import api_or_404, revision_or_404
from .common import (
    ApiError,
    Resource,
    bad,
    query_flag,
    store,
    x_mode,
)

bp = Resource('deployments', __name__)


def _rev_entry(number, basepaths, state="deployed"):
    return {"configuration": {"basePath": basepaths[0] if basepaths else "/", "steps": []},
            "name": str(number), "server": [], "state": state}


def _deployment_env_json(org, env, api, number, basepaths, state):
    return {"aPIProxy": api, "configuration": {"basePath": basepaths[0] if basepaths else "/", "steps": []},
            "environment": env, "name": str(number), "organization": org, "revision": str(number),
            "server": [], "state": state}


@bp.api_route("/{env}/deployments", ["GET"])
def env_deployments(org, env):
    if x_mode():
        return jsonify(x_shapes.deployments(org, env, store.list_deployments(org, env)))
    by_api = {}
    for d in store.list_deployments(org, env):
        by_api.setdefault(d["api"], []).append(_rev_entry(d["revision"], d["basepaths"]))
    return jsonify({"aPIProxy": [{"name": api, "revision": revs} for api, revs in sorted(by_api.items())],
                    "name": env, "organization": org})


@bp.api_route("/deployments", ["GET"])
def org_deployments(org):
    envs_out = []
    for env in store.list_envs(org):
        by_api = {}
        for d in store.list_deployments(org, env):
            by_api.setdefault(d["api"], []).append(_rev_entry(d["revision"], d["basepaths"]))
        envs_out.append({"aPIProxy": [{"name": a, "revision": r} for a, r in sorted(by_api.items())],
                         "name": env})
    return jsonify({"environment": envs_out, "name": org})


@bp.api_route("/apis/<api>/deployments", ["GET"])
def api_deployments(org, api):
    api_or_404(org, api)
    envs_out = {}
    for d in store.list_all_deployments(org):
        if d["api"] == api:
            envs_out.setdefault(d["env"], []).append(_rev_entry(d["revision"], d["basepaths"]))
    return jsonify({"environment": [{"name": e, "revision": r} for e, r in sorted(envs_out.items())],
                    "name": api, "organization": org})


@bp.api_route("/{env}/apis/<api>/deployments", ["GET"])
def api_env_deployments(org, env, api):
    api_or_404(org, api)
    revs = [_rev_entry(d["revision"], d["basepaths"]) for d in store.list_deployments(org, env)
            if d["api"] == api]
    return jsonify({"environment": env, "name": api, "organization": org, "revision": revs})


@bp.api_route("/apis/<api>/revisions/<rev>/deployments", ["GET", "POST"])
def api_revision_deployments(org, api, rev):
    number, rec = revision_or_404(org, api, rev)
    if request.method == "POST":   # forced undeploy: ?action=undeploy&env=...&force=true
        if request.args.get("action") != "undeploy":
            raise bad("action must be undeploy", "messaging.config.beans.InvalidAction")
        env = request.args.get("env")
        if not env or not store.env_exists(org, env):
            raise ApiError(404, "messaging.config.beans.EnvironmentDoesNotExist",
                           "Environment %s does not exist in organization %s" % (env, org))
        return _undeploy(org, env, api, number, rec)
    envs_out = [dict(_rev_entry(d["revision"], d["basepaths"]), name=d["env"])
                for d in store.list_all_deployments(org) if d["api"] == api and d["revision"] == number]
    return jsonify({"aPIProxy": api, "environment": envs_out, "name": str(number), "organization": org})


def _undeploy(org, env, api, number, rec):
    current = [d for d in store.list_deployments(org, env) if d["api"] == api and d["revision"] == number]
    if not current:
        raise bad("Revision %d of application %s is not deployed in environment %s" % (number, api, env),
                   "distribution.RevisionNotDeployed")
    store.remove_deployment(org, env, api, number)
    return jsonify(_deployment_env_json(org, env, api, number, current[0]["basepaths"], "undeployed"))


@bp.api_route("/{env}/apis/<api>/revisions/<rev>/deployments", ["GET", "POST", "DELETE"])
def deploy(org, env, api, rev):
    number, rec = revision_or_404(org, api, rev)
    deployed = store.list_deployments(org, env)
    if request.method == "DELETE":
        return _undeploy(org, env, api, number, rec)
    mine = [d for d in deployed if d["api"] == api and d["revision"] == number]
    if request.method == "GET":
        if not mine:
            raise bad("Revision %d of application %s is not deployed in environment %s" % (number, api, env),
                       "distribution.RevisionNotDeployed")
        return jsonify(_deployment_env_json(org, env, api, number, mine[0]["basepaths"], "deployed"))
    # deployments.yaml marks the Content-type header required; Edge's deploy takes a form body
    # (APIGEE-FACTS: application/x-www-form-urlencoded, as apigeetool and the deploy maven plugin send it)
    # Apigee X / hybrid: no body, query parameters only (apigee-x.yaml, deploy); the answer is a Deployment
    if not x_mode() and not (request.content_type or "").startswith("application/x-www-form-urlencoded"):
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Deploy needs Content-Type: application/x-www-form-urlencoded (got %s)"
                       % (request.content_type or "none"))
    if x_mode() and request.get_data():
        raise bad("Invalid JSON payload received. Deploy takes no request body.")
    basepaths = rec["meta"].get("basepaths") or ["/"]
    if mine:
        return _deployed(org, env, api, number, basepaths)
    others = [d for d in deployed if d["api"] == api and d["revision"] != number]
    override = query_flag("override")
    if others and not override:
        raise bad("Revision %s of application %s is already deployed in environment %s: undeploy it first or "
                   "deploy with override=true" % (others[0]["revision"], api, env),
                   "distribution.ApplicationAlreadyDeployed")
    for d in deployed:
        if d["api"] != api and set(d["basepaths"]) & set(basepaths):
            raise ApiError(409, "distribution.DuplicateBasePath",
                           "Base path %s is already used by revision %d of %s in environment %s"
                           % (sorted(set(d["basepaths"]) & set(basepaths))[0], d["revision"], d["api"], env))
    store.add_deployment(org, env, api, number, basepaths, replace_other_revisions=override)
    return _deployed(org, env, api, number, basepaths)


def _deployed(org, env, api, number, basepaths):
    if x_mode():
        row = next((d for d in store.list_deployments(org, env) if d["api"] == api and d["revision"] == number), {})
        return jsonify(x_shapes.deployment(env, api, number, row.get("deployed_at")))
    return jsonify(_deployment_env_json(org, env, api, number, basepaths, "deployed"))

