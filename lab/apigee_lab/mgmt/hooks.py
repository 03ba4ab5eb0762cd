"""What the management API does for every request: Edge's error bodies (``ApiError``, auth errors, 404, 405), then
counting and the lab's fault rules (``faults.py``), authentication (``auth.py``), and the organization and
environment scope of the user.
"""
from __future__ import annotations

import socket
import time

from flask import Response, g, jsonify, request

from ..auth import AuthError
from . import x_shapes
from .common import (
    ApiError,
    Resource,
    auth,
    faults,
    store,
    x_mode,
)

bp = Resource('hooks', __name__)


@bp.app_errorhandler(ApiError)
def api_error_answer(exc: ApiError):
    if x_mode():
        resp = jsonify(x_shapes.error(exc.status, exc.message))
    else:
        resp = jsonify({"code": exc.code, "message": exc.message, "contexts": []})
    resp.status_code = exc.status
    for k, v in exc.headers.items():
        resp.headers[k] = v
    return resp


@bp.app_errorhandler(AuthError)
def _auth_error(exc: AuthError):
    if x_mode() and not exc.uaa:
        resp = jsonify(x_shapes.error(exc.status, exc.message))
        resp.status_code = exc.status
        resp.headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return resp
    if exc.uaa:
        resp = jsonify({"error": exc.code, "error_description": exc.message})
    else:
        resp = jsonify({"code": exc.code, "message": exc.message, "contexts": []})
    resp.status_code = exc.status
    if exc.status == 401 and not exc.uaa:
        resp.headers["WWW-Authenticate"] = 'Basic realm="Apigee Edge lab"'
    return resp


@bp.app_errorhandler(404)
def _not_found(_exc):
    return api_error_answer(ApiError(404, "messaging.config.beans.ResourceNotFound",
                               "No resource at %s %s" % (request.method, request.path)))


@bp.app_errorhandler(405)
def _not_allowed(_exc):
    return api_error_answer(ApiError(405, "messaging.config.beans.MethodNotAllowed",
                               "Method %s is not allowed on %s" % (request.method, request.path)))

# ------------------------------------------------------------------ every request: count, faults, auth, scope
@bp.before_app_request
def _before():
    path = request.path
    if path.startswith("/_lab/"):
        return None
    faults.count(request.method, path, request.args.keys(), request.mimetype or "")
    rule = faults.match(request.method, path)
    if rule is not None:
        if rule.latency_ms:
            time.sleep(rule.latency_ms / 1000.0)
        if rule.drop:
            # Shut the TCP connection down under the server's feet: the client sees the connection reset /
            # closed without any HTTP answer (the server's own write then fails quietly as a dropped connection).
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return Response(b"", status=500)
        if rule.status is not None:
            headers = {}
            if rule.retry_after is not None:
                headers["Retry-After"] = str(rule.retry_after)
            reason = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
            raise ApiError(rule.status, "lab.fault.Injected%d" % rule.status,
                           "%s (injected by a lab fault rule)" % reason.get(rule.status, "Error"), headers)
    if not path.startswith("/v1/"):
        return None
    if x_mode() and x_shapes.is_edge_only_path(path):
        raise ApiError(404, "NOT_FOUND", "The requested URL %s was not found on this server." % path)
    g.user = auth.authenticate(request.headers.get("Authorization"))
    view_args = request.view_args or {}
    req_org = view_args.get("org")
    if req_org is not None:
        if x_mode() and (store.get_org(req_org) is None or req_org not in g.user.orgs):
            # Apigee X answers a project that does not exist, is not an Apigee organization or is not the caller's
            # alike: 403 PERMISSION_DENIED (as quoted in crossplane-contrib/provider-upjet-gcp#193: 'Error 403:
            # Permission denied on resource "organizations/..."'), never a 404 that would tell them apart
            raise ApiError(403, "PERMISSION_DENIED", 'Permission denied on resource "organizations/%s"' % req_org)
        if store.get_org(req_org) is None:
            raise ApiError(404, "messaging.config.beans.OrganizationDoesNotExist",
                           "Organization %s does not exist" % req_org)
        if req_org not in g.user.orgs:
            raise ApiError(403, "security.Forbidden",
                           "User %s is not allowed to access organization %s" % (g.user.email, req_org))
        env = view_args.get("env")
        if env is not None and not store.env_exists(req_org, env):
            raise ApiError(404, "messaging.config.beans.EnvironmentDoesNotExist",
                           "Environment %s does not exist in organization %s" % (env, req_org))
    return None


@bp.after_app_request
def _after(resp):
    if not request.path.startswith("/_lab/"):
        faults.count_status(resp.status_code)
    return resp
