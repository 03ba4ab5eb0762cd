"""The organization and its environments.
"""
from __future__ import annotations

from flask import jsonify

from .common import (
    DEFAULT_USER,
    Resource,
    store,
)

bp = Resource('organizations', __name__)


def _org_json(name):
    rec = store.get_org(name)
    return {"createdAt": rec["created"], "createdBy": DEFAULT_USER, "displayName": name,
            "environments": store.list_envs(name), "lastModifiedAt": rec["created"],
            "lastModifiedBy": DEFAULT_USER, "name": name, "properties": {"property": []}, "type": "paid"}


@bp.api_route("", ["GET"])
def get_org(org):
    return jsonify(_org_json(org))


@bp.get("/v1/organizations/<org>/environments")
@bp.get("/v1/o/<org>/environments")
@bp.get("/v1/o/<org>/e")
def list_envs(org):
    return jsonify(store.list_envs(org))


@bp.api_route("/{env}", ["GET"])
def get_env(org, env):
    return jsonify({"createdAt": store.get_org(org)["created"], "createdBy": DEFAULT_USER, "description": "",
                    "lastModifiedAt": store.get_org(org)["created"], "lastModifiedBy": DEFAULT_USER,
                    "name": env, "properties": {"property": []}})
