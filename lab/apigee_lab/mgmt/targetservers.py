"""Target servers and their ``sSLInfo``.
"""
from __future__ import annotations

from flask import jsonify, request

from . import x_shapes
from .common import (
    ENTITY_NAME,
    ApiError,
    Resource,
    bad,
    json_body,
    store,
    truthy,
    x_mode,
)

bp = Resource('targetservers', __name__)


def _targetserver_doc(data, name):
    host = data.get("host")
    if not host or not isinstance(host, str):
        raise bad("host is required", "messaging.config.beans.InvalidTargetServer")
    port = data.get("port")
    try:
        if isinstance(port, bool):
            raise ValueError
        port = int(port)
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raise bad("port must be an integer between 1 and 65535", "messaging.config.beans.InvalidTargetServer") \
            from None
    doc = {"host": host, "isEnabled": truthy(data.get("isEnabled"), "isEnabled", True), "name": name,
           "port": port}
    ssl = data.get("sSLInfo")
    if ssl is None and "SSLInfo" in data:
        raise bad("use sSLInfo (Edge's JSON name), not SSLInfo", "messaging.config.beans.InvalidTargetServer")
    if ssl is not None:
        if not isinstance(ssl, dict):
            raise bad("sSLInfo must be an object", "messaging.config.beans.InvalidTargetServer")
        out = {}
        for key in ("ciphers", "protocols"):
            value = ssl.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad("sSLInfo.%s must be a list of strings" % key,
                           "messaging.config.beans.InvalidTargetServer")
            out[key] = value
        # Edge answers enabled/clientAuthEnabled as strings and ignoreValidationErrors as a boolean.
        out["clientAuthEnabled"] = "true" if truthy(ssl.get("clientAuthEnabled"), "clientAuthEnabled") \
            else "false"
        out["enabled"] = "true" if truthy(ssl.get("enabled"), "enabled") else "false"
        out["ignoreValidationErrors"] = truthy(ssl.get("ignoreValidationErrors"), "ignoreValidationErrors")
        for key in ("keyAlias", "keyStore", "trustStore"):
            value = ssl.get(key)
            if value not in (None, ""):
                if not isinstance(value, str):
                    raise bad("sSLInfo.%s must be a string" % key, "messaging.config.beans.InvalidTargetServer")
                out[key] = value
        doc["sSLInfo"] = dict(sorted(out.items()))
    return doc


@bp.api_route("/{env}/targetservers", ["GET", "POST"])
def targetservers(org, env):
    if request.method == "GET":
        return jsonify(store.list_targetservers(org, env))
    data = json_body("target_server")
    name = data.get("name")
    if not name or not isinstance(name, str) or not ENTITY_NAME.match(name):
        raise bad("name is required (characters A-Za-z0-9._-$ %)", "messaging.config.beans.InvalidTargetServer")
    if store.get_targetserver(org, env, name) is not None:
        raise ApiError(409, "messaging.config.beans.TargetServerAlreadyExists",
                       "Target server %s already exists in environment %s" % (name, env))
    doc = _targetserver_doc(data, name)
    store.put_targetserver(org, env, name, doc)
    return jsonify(x_shapes.target_server(doc) if x_mode() else doc), 201


@bp.api_route("/{env}/targetservers/<name>", ["GET", "PUT", "DELETE"])
def targetserver(org, env, name):
    doc = store.get_targetserver(org, env, name)
    if doc is None:
        raise ApiError(404, "messaging.config.beans.TargetServerDoesNotExist",
                       "Target server %s does not exist in environment %s" % (name, env))
    if request.method == "GET":
        return jsonify(x_shapes.target_server(doc) if x_mode() else doc)
    if request.method == "DELETE":
        store.delete_targetserver(org, env, name)
        return jsonify(x_shapes.target_server(doc) if x_mode() else doc)
    data = json_body("target_server")
    if data.get("name") not in (None, name):
        raise bad("the name in the body (%s) differs from the target server in the path (%s)"
                   % (data.get("name"), name), "messaging.config.beans.InvalidTargetServer")
    new = _targetserver_doc(data, name)
    store.put_targetserver(org, env, name, new)
    return jsonify(x_shapes.target_server(new) if x_mode() else new)

