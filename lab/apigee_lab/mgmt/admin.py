"""The token endpoint (``POST /oauth/token``, login.apigee.com style) and the lab's own admin endpoints outside
``/v1`` (``/_lab/health``, ``/_lab/faults``, ``/_lab/passcode``, ``/_lab/requests``).
"""
from __future__ import annotations

from flask import jsonify, request

from ..faults import FaultRuleError
from .common import (
    SSO_USER,
    Resource,
    auth,
    bad,
    faults,
    lab_config,
    store,
)

bp = Resource('admin', __name__)


@bp.post("/oauth/token")
def oauth_token():
    body = auth.token_endpoint(request.headers.get("Authorization"), request.form.to_dict(),
                               request.args.to_dict())
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    return resp

@bp.post("/token")
def google_token():
    """Apigee X / hybrid mode: the stand-in for https://oauth2.googleapis.com/token (the service account's
    token_uri), a JWT bearer grant (google_token.py)."""
    resp = jsonify(auth.google_token(request.form.to_dict()))
    resp.headers["Cache-Control"] = "no-store"
    return resp

# ------------------------------------------------------------------ lab admin
@bp.get("/_lab/health")
def lab_health():
    return jsonify({"status": "ok", "org": lab_config()["org"], "envs": store.list_envs(lab_config()["org"])})


@bp.route("/_lab/faults", methods=["GET", "POST", "DELETE"])
def lab_faults():
    if request.method == "GET":
        return jsonify(faults.rules())
    if request.method == "DELETE":
        faults.clear()
        return jsonify([])
    spec = request.get_json(silent=True)
    specs = spec if isinstance(spec, list) else [spec]
    try:
        added = [faults.add(s).to_dict() for s in specs]
    except FaultRuleError as exc:
        raise bad(str(exc), "lab.fault.InvalidRule") from None
    return jsonify(added if isinstance(spec, list) else added[0]), 201


@bp.post("/_lab/passcode")
def lab_passcode():
    """What https://<zone>.login.apigee.com/passcode shows an SSO user after the SAML login: a one-time code."""
    email = (request.get_json(silent=True) or {}).get("user") or request.args.get("user") or SSO_USER
    return jsonify({"passcode": auth.issue_passcode(email), "user": email, "expires_in": auth.passcode_ttl})


@bp.route("/_lab/requests", methods=["GET", "DELETE"])
def lab_requests():
    if request.method == "DELETE":
        faults.reset_stats()
    if request.args.get("journal"):
        return jsonify(faults.journal_entries())
    return jsonify(faults.stats())
