"""References (``ref://``) to keystores and truststores.
"""
from __future__ import annotations

from flask import jsonify, request

from .common import (
    REFERENCE_NAME,
    RESOURCE_TYPES,
    ApiError,
    Resource,
    bad,
    json_body,
    store,
)

bp = Resource('references', __name__)


def _reference_or_404(org, env, name):
    ref = store.get_reference(org, env, name)
    if ref is None:
        raise ApiError(404, "messaging.config.beans.ResourceReferenceDoesNotExist",
                       "Reference %s does not exist in environment %s" % (name, env))
    return ref


def _valid_reference(org, env, data, name):
    refers = data.get("refers")
    rtype = data.get("resourceType")
    if not refers or not isinstance(refers, str):
        raise bad("refers is required", "messaging.config.beans.InvalidReference")
    if rtype not in RESOURCE_TYPES:
        raise bad("resourceType must be KeyStore or TrustStore (got %r)" % (rtype,),
                   "messaging.config.beans.InvalidReference")
    if store.get_keystore(org, env, refers) is None:
        raise bad("Reference %s refers to %s, which does not exist in environment %s" % (name, refers, env),
                   "messaging.config.beans.InvalidReference")
    return refers, rtype


@bp.api_route("/{env}/references", ["GET", "POST"])
def references(org, env):
    if request.method == "GET":
        return jsonify(store.list_references(org, env))
    data = json_body("reference")
    name = data.get("name")
    if not name or not isinstance(name, str) or not REFERENCE_NAME.match(name):
        raise bad("name is required (letters, digits, '_', '-', '.')", "messaging.config.beans.InvalidReference")
    if store.get_reference(org, env, name) is not None:
        raise ApiError(409, "messaging.config.beans.ResourceReferenceAlreadyExists",
                       "Reference %s already exists in environment %s" % (name, env))
    refers, rtype = _valid_reference(org, env, data, name)
    store.put_reference(org, env, name, refers, rtype)
    return jsonify(store.get_reference(org, env, name)), 201


@bp.api_route("/{env}/references/<name>", ["GET", "PUT", "DELETE"])
def reference(org, env, name):
    ref = _reference_or_404(org, env, name)
    if request.method == "GET":
        return jsonify(ref)
    if request.method == "DELETE":
        store.delete_reference(org, env, name)
        return jsonify(ref)
    data = json_body("reference")
    if data.get("name") not in (None, name):
        raise bad("the name in the body (%s) differs from the reference in the path (%s)"
                   % (data.get("name"), name), "messaging.config.beans.InvalidReference")
    refers, rtype = _valid_reference(org, env, data, name)
    store.put_reference(org, env, name, refers, rtype)
    return jsonify(store.get_reference(org, env, name))

