"""Debug sessions (the UI's trace) of a deployed proxy revision, as Edge's management API has them.

Under ``/v1/organizations/{org}/environments/{env}/apis/{api}/revisions/{rev}/debugsessions`` (APIGEE-FACTS.md, "Debug
sessions"; docs.apigee.com management API reference "Create a debug session"):

- ``POST ?session={name}&timeout={s}`` with ``Content-Type: application/x-www-form-urlencoded`` -> 201. Filters are the
  query parameters ``header_<name>`` / ``qparam_<name>``. ``timeout`` defaults to 120 s ("the time in seconds after
  which the particular session should be discarded. Default is 120 seconds"); a session records at most 20
  transactions ("a maximum of 20 messages").
- ``GET`` -> the session names; ``GET {s}/data`` -> the transaction ids; ``GET {s}/data/{tx}`` -> ``{completed,
  point: [{id, results: [...]}]}``; ``DELETE {s}`` closes the session and discards its data.

Apigee X / hybrid mode (apigee-x.yaml): POST takes a DebugSession JSON body (count up to 15, timeout default 600 s) and
names the session; DELETE .../{session}/data deletes it.

The transactions are what the lab's runtime really did with each call while the session was live (``runtime.py``
records them); a session past its timeout is gone. Not settled by a source, so kept strict here: a session for a
revision not deployed in the environment, a session name in use, a body that is not a form are refused (the error codes
are the lab's own; the tool relies on the status only).
"""
from __future__ import annotations

import time
import uuid

from flask import jsonify, request

from .apis import revision_or_404
from .common import ApiError, Resource, bad, json_body, store, x_mode

bp = Resource('debugsessions', __name__)

DEFAULT_TIMEOUT = 120     # seconds (docs.apigee.com, create a debug session: "Default is 120 seconds")
SESSION_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _deployed_revision(org, env, api, rev):
    number, _ = revision_or_404(org, api, rev)
    if not store.env_exists(org, env):
        raise ApiError(404, "messaging.config.beans.EnvironmentDoesNotExist",
                       "Environment %s does not exist in organization %s" % (env, org))
    if not any(d["api"] == api and d["revision"] == number for d in store.list_deployments(org, env)):
        raise ApiError(400, "messaging.config.beans.ApplicationNotDeployed",
                       "Revision %s of application %s is not deployed in environment %s" % (number, api, env))
    return number


def _session_or_404(org, env, api, number, name):
    sess = store.get_debug_session(org, env, api, number, name)
    if sess is None:
        raise ApiError(404, "messaging.config.beans.DebugSessionDoesNotExist",
                       "Debug session %s does not exist for revision %s of %s in %s" % (name, number, api, env))
    return sess


@bp.api_route("/{env}/apis/<api>/revisions/<rev>/debugsessions", ["GET", "POST"])
def debugsessions(org, env, api, rev):
    number = _deployed_revision(org, env, api, rev)
    if x_mode():
        return _x_debugsessions(org, env, api, number)
    if request.method == "GET":
        return jsonify([s["name"] for s in store.list_debug_sessions(org, env, api, number)])
    if request.mimetype != "application/x-www-form-urlencoded":
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Unsupported Content-Type %r: a debug session is created with "
                       "application/x-www-form-urlencoded" % (request.content_type or ""))
    name = request.args.get("session") or ""
    if not name or not set(name) <= SESSION_NAME_CHARS or len(name) > 255:
        raise bad("session must name the debug session (letters, digits, - _ .)")
    try:
        timeout = int(request.args.get("timeout") or DEFAULT_TIMEOUT)
    except ValueError:
        raise bad("timeout must be a number of seconds") from None
    if timeout < 1:
        raise bad("timeout must be a positive number of seconds")
    if store.get_debug_session(org, env, api, number, name) is not None:
        raise ApiError(409, "messaging.config.beans.DebugSessionAlreadyExists",
                       "Debug session %s already exists" % name)
    filters = {"headers": {}, "qparams": {}}
    for key, value in request.args.items():
        if key.startswith("header_") and len(key) > 7:
            filters["headers"][key[7:].lower()] = value
        elif key.startswith("qparam_") and len(key) > 7:
            filters["qparams"][key[7:]] = value
    store.add_debug_session(org, env, api, number, name, timeout, filters)
    return jsonify({"name": name, "validity": timeout}), 201


X_DEFAULT_TIMEOUT = 600   # "The debug session records requests for 10 minutes" (cloud.google.com, Using Debug)
X_MAX_COUNT = 15          # apigee-x.yaml, DebugSession.count: "Min = 1, Max = 15, Default = 10"


def _x_debugsessions(org, env, api, number):
    """Apigee X / hybrid: POST takes a DebugSession JSON body (or none) and names the session itself; GET lists
    ``{"sessions": [{"id", "timestampMs"}]}`` (apigee-x.yaml)."""
    if request.method == "GET":
        return jsonify({"sessions": [{"id": s["name"], "timestampMs": str(s["created"])}
                                     for s in store.list_debug_sessions(org, env, api, number)]})
    body = {}
    if request.get_data():
        if request.mimetype != "application/json":
            raise bad("Invalid JSON payload received: the body of a DebugSession is JSON")
        body = json_body()
    try:
        timeout = int(body.get("timeout") or request.args.get("timeout") or X_DEFAULT_TIMEOUT)
        count = int(body.get("count") or 10)
    except (TypeError, ValueError):
        raise bad("Invalid value for timeout or count") from None
    if timeout < 1 or not 1 <= count <= X_MAX_COUNT:
        raise bad("count must be between 1 and %d and timeout positive" % X_MAX_COUNT)
    name = str(uuid.uuid4())
    store.add_debug_session(org, env, api, number, name, timeout, {"headers": {}, "qparams": {}, "count": count})
    return jsonify({"name": name, "validity": 10, "count": count, "tracesize": 5120, "timeout": str(timeout),
                    "createTime": str(int(time.time()))}), 200


@bp.api_route("/{env}/apis/<api>/revisions/<rev>/debugsessions/<session>", ["GET", "DELETE"])
def debugsession(org, env, api, rev, session):
    number = _deployed_revision(org, env, api, rev)
    sess = _session_or_404(org, env, api, number, session)
    if x_mode() and request.method == "DELETE":   # X deletes a session through DELETE .../{session}/data
        raise ApiError(404, "NOT_FOUND", "Method not found.")
    if request.method == "DELETE":
        store.delete_debug_session(org, env, api, number, session)
    return jsonify({"name": sess["name"], "validity": sess["timeout"]})


@bp.api_route("/{env}/apis/<api>/revisions/<rev>/debugsessions/<session>/data", ["GET", "DELETE"])
def debugsession_data(org, env, api, rev, session):
    number = _deployed_revision(org, env, api, rev)
    _session_or_404(org, env, api, number, session)
    if request.method == "DELETE":
        if not x_mode():
            raise ApiError(405, "messaging.config.beans.MethodNotAllowed", "Method DELETE is not allowed here")
        store.delete_debug_session(org, env, api, number, session)
        return jsonify({})
    return jsonify(store.list_debug_transactions(org, env, api, number, session))


@bp.api_route("/{env}/apis/<api>/revisions/<rev>/debugsessions/<session>/data/<tx>", ["GET"])
def debugsession_transaction(org, env, api, rev, session, tx):
    number = _deployed_revision(org, env, api, rev)
    _session_or_404(org, env, api, number, session)
    data = store.get_debug_transaction(org, env, api, number, session, tx)
    if data is None:
        raise ApiError(404, "messaging.config.beans.DebugSessionTransactionDoesNotExist",
                       "Transaction %s is not in debug session %s" % (tx, session))
    return jsonify(data)
