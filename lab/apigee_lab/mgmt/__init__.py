"""The lab's Apigee Edge management API emulator (Flask).

Same paths, methods, status codes, field names and JSON shapes as Apigee Edge's management API v1
(``/v1/organizations/{org}/...`` and the short forms ``/v1/o/{org}/...``, ``/environments/{env}`` or ``/e/{env}``):
environments, keystores/truststores, aliases, certs, references, target servers, API proxies (bundle import/export,
revisions), deployments, debug sessions (the UI's trace), and ``POST .../environments/{env}/testssl`` (a real TLS
handshake from the management server towards a backend with a keystore/truststore; Edge documents the request
(``TestTLS``) but not the answer, see ``testssl_handshake``). Errors are Edge's ``{"code", "message", "contexts": []}``.

Authentication (``auth.py``): HTTP Basic or OAuth2 bearer tokens from ``POST /oauth/token`` (login.apigee.com style).
Admin endpoints outside ``/v1`` (no authentication, loopback only): ``/_lab/faults`` (fault injection, ``faults.py``),
``/_lab/requests`` (request counters), ``/_lab/health``, ``/_lab/passcode`` (a one-time passcode for the SSO user
``lab-sso@example.com``, as the SSO zone's /passcode page gives one).

State: SQLite at ``<state>/lab.db`` (``store.py``), mode 0600; private keys are stored there for the Message Processor
and never returned by any endpoint.

One Flask blueprint per Apigee resource, each in its own file: ``organizations``, ``keystores`` (with aliases and
certs), ``references``, ``targetservers``, ``apis`` (revisions, bundles), ``deployments``,
``debugsessions`` (the trace), ``testssl``; ``hooks`` holds
what every request goes through (errors, counting, faults, authentication, scope), ``admin`` the token endpoint and the
``/_lab`` endpoints, ``common`` what they share.

Run: ``python -m apigee_lab.mgmt --state DIR --port N`` (with ``lab/`` on ``sys.path``).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import threading
import time

from flask import Flask

from ..auth import Authenticator, User
from ..faults import Faults
from ..store import Store
from . import (
    admin,
    apis,
    debugsessions,
    deployments,
    hooks,
    keystores,
    organizations,
    references,
    targetservers,
    testssl,
)
from .common import DEFAULT_ENVS, DEFAULT_ORG, DEFAULT_PASSWORD, DEFAULT_USER, SSO_USER, ApiError

SERVICE_ACCOUNT_FILE = "service-account.json"   # Apigee X / hybrid mode: the service account's key file

__all__ = ["DEFAULT_ENVS", "DEFAULT_ORG", "DEFAULT_PASSWORD", "DEFAULT_USER", "SSO_USER", "ApiError", "create_app",
           "main", "serve"]

BLUEPRINTS = (hooks.bp, admin.bp, organizations.bp, keystores.bp, references.bp, targetservers.bp, apis.bp,
              deployments.bp, debugsessions.bp, testssl.bp)


def create_app(state_dir: str, org: str = DEFAULT_ORG, envs=DEFAULT_ENVS, users: list[User] | None = None,
               token_ttl: int = 1799, refresh_ttl: int = 86400, clock=time.time, platform: str = "edge") -> Flask:
    """The management API application over the state folder (SQLite at <state_dir>/lab.db); ``platform`` ``x`` or
    ``hybrid`` answers as Apigee X / hybrid do (``x_shapes.py``), authenticating the service account whose key file
    is <state_dir>/service-account.json (``google_token.py``)."""
    os.makedirs(state_dir, exist_ok=True)
    store = Store(os.path.join(state_dir, "lab.db"))
    store.ensure_org(org, list(envs))
    if users is None:
        users = [User(DEFAULT_USER, DEFAULT_PASSWORD, orgs=(org,)),
                 User(SSO_USER, secrets.token_urlsafe(24), orgs=(org,), sso=True)]
    accounts = {}
    if platform != "edge":
        from ..google_token import public_facts
        with open(os.path.join(state_dir, SERVICE_ACCOUNT_FILE), encoding="utf-8") as fh:
            facts = public_facts(json.load(fh))
        accounts[facts["client_email"]] = dict(facts, orgs=(org,))
    auth = Authenticator(users, token_ttl=token_ttl, refresh_ttl=refresh_ttl, clock=clock, platform=platform,
                         service_accounts=accounts)

    app = Flask("apigee_lab.mgmt")
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    app.extensions["apigee_lab"] = {"store": store, "auth": auth, "faults": Faults(), "state_dir": state_dir,
                                    "org": org, "platform": platform}
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    return app


def serve(host: str, port: int, state_dir: str, ready=None, **kwargs) -> None:
    """Serve the management API until SIGTERM/SIGINT (threaded werkzeug server, loopback only by default)."""
    from werkzeug.serving import make_server

    os.umask(0o077)
    app = create_app(state_dir, **kwargs)
    server = make_server(host, port, app, threaded=True)

    def _stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    if ready is not None:
        ready(server)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.extensions["apigee_lab"]["store"].close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="apigee_lab.mgmt", description="Apigee Edge management API emulator")
    lab_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--state", default=os.environ.get("MTLS_LAB_STATE") or os.path.join(lab_dir, ".state"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--org", default=DEFAULT_ORG)
    parser.add_argument("--envs", default=",".join(DEFAULT_ENVS), help="comma-separated environment names")
    parser.add_argument("--token-ttl", type=int, default=1799, help="OAuth2 access token lifetime (s)")
    parser.add_argument("--platform", default="edge", choices=["edge", "x", "hybrid"],
                        help="answer as Apigee Edge (default) or as Apigee X / hybrid")
    args = parser.parse_args(argv)
    envs = [e for e in args.envs.split(",") if e]
    print("management API on http://%s:%d (org %s, envs %s, state %s)" % (args.host, args.port, args.org,
                                                                          ",".join(envs), args.state), flush=True)
    serve(args.host, args.port, args.state, org=args.org, envs=envs, token_ttl=args.token_ttl,
          platform=args.platform)
    return 0

