"""The lab's Apigee Edge management API emulator (Flask).

Same paths, methods, status codes, field names and JSON shapes as Apigee Edge's management API v1
(``/v1/organizations/{org}/...`` and the short forms ``/v1/o/{org}/...``, ``/environments/{env}`` or ``/e/{env}``):
environments, keystores/truststores, aliases, certs, references, target servers, API proxies (bundle import/export,
revisions), deployments, and ``POST .../environments/{env}/testssl`` (a real TLS handshake from the management server
towards a backend with a keystore/truststore; Edge documents the request (``TestTLS``) but not the answer, see
``_testssl``). Errors are Edge's ``{"code", "message", "contexts": []}``.

Authentication (``auth.py``): HTTP Basic or OAuth2 bearer tokens from ``POST /oauth/token`` (login.apigee.com style).
Admin endpoints outside ``/v1`` (no authentication, loopback only): ``/_lab/faults`` (fault injection, ``faults.py``),
``/_lab/requests`` (request counters), ``/_lab/health``, ``/_lab/passcode`` (a one-time passcode for the SSO user
``lab-sso@example.com``, as the SSO zone's /passcode page gives one).

State: SQLite at ``<state>/lab.db`` (``store.py``), mode 0600; private keys are stored there for the Message Processor
and never returned by any endpoint.

Run: ``python -m apigee_lab.mgmt --state DIR --port N`` (with ``lab/`` on ``sys.path``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime
from io import BytesIO

from flask import Flask, Response, g, jsonify, request

from . import _core  # makes ansible.module_utils.mtls.certcore importable
from .auth import Authenticator, AuthError, User
from .bundles import RUNTIME_ONLY, BundleError, parse_bundle
from .faults import FaultRuleError, Faults
from .store import Store, split_pem

DEFAULT_ORG = "lab"
DEFAULT_ENVS = ("test", "prod")
DEFAULT_USER = "lab-admin@example.com"
DEFAULT_PASSWORD = "Lab-Passw0rd!"
SSO_USER = "lab-sso@example.com"  # a SAML user: one-time passcodes only (POST /_lab/passcode)
MAX_CERT_FILE = 50 * 1024            # Edge: "File size is no larger than 50KB"

# keystores-and-trustores.yaml (createKeystoreTruststore): "Keystore names can contain only alphanumeric characters"
KEYSTORE_NAME = re.compile(r"^[A-Za-z0-9]{1,255}$")
ALIAS_NAME = re.compile(r"^[\w\s.\-]{1,255}$")
ENTITY_NAME = re.compile(r"^[A-Za-z0-9._\-$ %]{1,255}$")   # target servers (Edge: A-Z0-9._\-$ %)
API_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,255}$")
REFERENCE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
RESOURCE_TYPES = ("KeyStore", "TrustStore")


class ApiError(Exception):
    """An Edge error answer: HTTP status + {"code", "message", "contexts": []}."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _bad(message: str, code: str = "messaging.config.beans.InvalidRequest") -> ApiError:
    return ApiError(400, code, message)


def _truthy(value, name: str, default: bool = False) -> bool:
    """Edge takes flags as JSON booleans or as the strings "true"/"false" (any case)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _bad("%s must be true or false" % name)


def _query_flag(name: str, default: bool = False) -> bool:
    return _truthy(request.args.get(name), name, default)


def _json_body() -> dict:
    if request.mimetype != "application/json":
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Unsupported Content-Type %r: use application/json" % (request.content_type or ""))
    try:
        data = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise _bad("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad("the request body must be a JSON object")
    return data


def _cc():
    return _core.certcore()


def _mtls_error():
    return _core.mtls_error_type()


# ---------------------------------------------------------------------------------------------------- certificates
def _cert_error(exc) -> ApiError:
    msg = getattr(exc, "msg", None) or str(exc)
    return _bad(msg, "keymanagement.service.InvalidCertificate")


def _load_certs(data: bytes, source: str, newline_validation: bool) -> list:
    if len(data) > MAX_CERT_FILE:
        raise _bad("%s is larger than 50KB" % source, "keymanagement.service.FileSizeExceeded")
    text = data.decode("latin-1")
    if newline_validation and re.search(r"-----END CERTIFICATE-----[ \t]*-----BEGIN CERTIFICATE-----", text):
        raise _bad("%s: the certificates of the chain must be separated by a newline "
                   "(or set ignoreNewlineValidation=true)" % source, "keymanagement.service.InvalidCertificate")
    try:
        certs = list(_cc().load_certificates(data, source))
    except _mtls_error() as exc:
        raise _cert_error(exc) from None
    if not certs:
        raise _bad("%s holds no certificate" % source, "keymanagement.service.InvalidCertificate")
    return certs


def _check_expiry(certs: list, alias: str, ignore: bool) -> None:
    if ignore:
        return
    now = datetime.now(UTC)
    for i, cert in enumerate(certs):
        if cert.not_valid_after_utc < now:
            raise _bad("Certificate #%d of alias %s (%s) expired on %s; set ignoreExpiryValidation=true to upload "
                       "it anyway" % (i + 1, alias, _cc().dn_java(cert.subject),
                                      cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")),
                       "keymanagement.service.CertificateExpired")


def _key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _cert_infos(chain_pem: str) -> list[dict]:
    cc = _cc()
    return [cc.cert_info(c) for c in cc.load_certificates(chain_pem.encode("ascii"), "stored chain")]


def _alias_json(row) -> dict:
    out = {"alias": row["alias"],
           "certsInfo": {"certInfo": _cert_infos(row["chain_pem"]), "certName": row["cert_name"]}}
    if row["key_pem"]:
        out["keyName"] = row["alias"]
    return out


def _ordered_chain(leaf, extra: list) -> list:
    """leaf + extra certificates, extra ordered issuer by issuer when they form a path."""
    try:
        result = _cc().build_chain(leaf, extra)
        path = list(result.path)
        rest = [c for c in extra if all(c is not p for p in path)]
        return path + rest
    except Exception:  # noqa: BLE001  (ordering is best effort; the upload itself stays valid)
        return [leaf] + list(extra)


# ---------------------------------------------------------------------------------------------------- testssl
def _testssl(store: Store, org: str, env: str, body: dict) -> dict:
    """POST .../environments/{env}/testssl: a real TLS handshake (OpenSSL via pyOpenSSL) towards host:port with the
    keystore/alias and truststore of ``targetEndpointConfiguration``, everything in memory.

    Edge documents the request (TestTLS) and only "200 OK" for the answer; the lab answers
    {"host", "port", "success", "protocol", "cipherSuite", "clientCertificateRequested", "acceptableClientCAs",
    "clientCertificateSent", "serverCertificates": [certInfo...], "error"}.
    """
    from cryptography import x509
    from OpenSSL import SSL, crypto

    host = body.get("host")
    if not host or not isinstance(host, str):
        raise _bad("host is required")
    try:
        port = int(body.get("port"))
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raise _bad("port must be an integer between 1 and 65535") from None
    try:
        timeout = int(body.get("connectionTimeout") or 3000) / 1000.0
    except (TypeError, ValueError):
        raise _bad("connectionTimeout must be an integer (milliseconds)") from None
    conf = body.get("targetEndpointConfiguration") or {}
    if not isinstance(conf, dict):
        raise _bad("targetEndpointConfiguration must be an object")
    client_auth = _truthy(conf.get("clientAuthEnabled"), "clientAuthEnabled")

    def resolve(name, what):
        if not name:
            return None
        if name.startswith("ref://"):
            ref = store.get_reference(org, env, name[6:])
            if ref is None:
                raise ApiError(404, "messaging.config.beans.ResourceReferenceDoesNotExist",
                               "Reference %s does not exist in environment %s" % (name[6:], env))
            name = ref["refers"]
        if store.get_keystore(org, env, name) is None:
            raise ApiError(404, "keymanagement.service.KeystoreDoesNotExist",
                           "%s %s does not exist in environment %s" % (what, name, env))
        return name

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    protocols = conf.get("protocols") or []
    versions = {"TLSv1": SSL.TLS1_VERSION, "TLSv1.1": SSL.TLS1_1_VERSION, "TLSv1.2": SSL.TLS1_2_VERSION,
                "TLSv1.3": SSL.TLS1_3_VERSION}
    if protocols:
        chosen = [versions[p] for p in protocols if p in versions]
        if not chosen:
            raise _bad("protocols: none of %s is supported (TLSv1.2, TLSv1.3, ...)" % ", ".join(protocols))
        ctx.set_min_proto_version(min(chosen))
        ctx.set_max_proto_version(max(chosen))
    if conf.get("ciphers"):
        try:
            ctx.set_cipher_list(":".join(conf["ciphers"]).encode())
        except SSL.Error:
            raise _bad("ciphers: none of the listed ciphers is available") from None
    keystore = resolve(conf.get("keyStore"), "Keystore")
    sent_possible = False
    if client_auth and keystore:
        alias = conf.get("keyAlias")
        rows = store.list_alias_rows(org, env, keystore)
        row = next((r for r in rows if r["alias"] == alias), None) if alias else (rows[0] if rows else None)
        if alias and row is None:
            raise ApiError(404, "keymanagement.service.AliasDoesNotExist",
                           "Alias %s does not exist in keystore %s" % (alias, keystore))
        if row is not None and row["key_pem"]:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            chain = x509.load_pem_x509_certificates(row["chain_pem"].encode("ascii"))
            ctx.use_privatekey(crypto.PKey.from_cryptography_key(
                load_pem_private_key(row["key_pem"].encode("ascii"), None)))
            ctx.use_certificate(crypto.X509.from_cryptography(chain[0]))
            for extra in chain[1:]:
                ctx.add_extra_chain_cert(crypto.X509.from_cryptography(extra))
            sent_possible = True
    truststore = resolve(conf.get("trustStore"), "Truststore")
    if truststore:
        cert_store = ctx.get_cert_store()
        for pem in store.list_truststore_certs_pem(org, env, truststore):
            cert_store.add_cert(crypto.X509.from_cryptography(x509.load_pem_x509_certificate(pem.encode())))
        ctx.set_verify(SSL.VERIFY_PEER, lambda *args: args[-1])
    else:
        ctx.set_verify(SSL.VERIFY_NONE, lambda *args: True)

    out = {"host": host, "port": port, "success": False, "protocol": None, "cipherSuite": None,
           "clientCertificateRequested": None, "acceptableClientCAs": [], "clientCertificateSent": False,
           "serverCertificates": [], "error": None}
    sock = None
    conn = None
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        # pyOpenSSL needs a blocking socket: keep the time limit with SO_RCVTIMEO/SO_SNDTIMEO instead
        sock.settimeout(None)
        limit = struct.pack("ll", int(timeout), int((timeout % 1) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        conn = SSL.Connection(ctx, sock)
        conn.set_tlsext_host_name(host.encode("idna"))
        conn.set_connect_state()
        try:
            conn.do_handshake()
            # TLS 1.3: a server that rejects the client certificate says so after the client's Finished.
            conn.sendall(b"HEAD / HTTP/1.0\r\nHost: " + host.encode("idna") + b"\r\n\r\n")
            try:
                conn.recv(1)
            except SSL.ZeroReturnError:
                pass
            out["success"] = True
        except SSL.Error as exc:
            out["error"] = _ssl_error_text(exc)
        except OSError as exc:
            out["error"] = "connection error after the handshake: %s" % exc
        cas = conn.get_client_ca_list()
        out["acceptableClientCAs"] = [", ".join("%s=%s" % (k.decode(), v.decode("utf-8", "replace"))
                                                for k, v in reversed(n.get_components())) for n in cas or []]
        out["clientCertificateRequested"] = bool(cas) or None
        out["clientCertificateSent"] = bool(sent_possible and conn.get_certificate() is not None and out["success"])
        out["protocol"] = conn.get_protocol_version_name() if conn.get_cipher_name() else None
        out["cipherSuite"] = conn.get_cipher_name()
        chain = conn.get_peer_cert_chain(as_cryptography=True) or []
        out["serverCertificates"] = [_cc().cert_info(c) for c in chain]
    except OSError as exc:
        out["error"] = "cannot connect to %s:%d: %s" % (host, port, exc.strerror or exc)
    finally:
        if conn is not None:
            try:
                conn.shutdown()
            except (SSL.Error, OSError):
                pass
        if sock is not None:
            sock.close()
    return out


def _ssl_error_text(exc) -> str:
    parts = []
    for item in exc.args[0] if exc.args and isinstance(exc.args[0], list) else []:
        if isinstance(item, tuple) and len(item) == 3:
            parts.append(str(item[2]))
    return "; ".join(parts) or str(exc) or exc.__class__.__name__


# ---------------------------------------------------------------------------------------------------- the app
def create_app(state_dir: str, org: str = DEFAULT_ORG, envs=DEFAULT_ENVS, users: list[User] | None = None,
               token_ttl: int = 1799, refresh_ttl: int = 86400, clock=time.time) -> Flask:
    """The management API application over the state folder (SQLite at <state_dir>/lab.db)."""
    os.makedirs(state_dir, exist_ok=True)
    store = Store(os.path.join(state_dir, "lab.db"))
    store.ensure_org(org, list(envs))
    if users is None:
        users = [User(DEFAULT_USER, DEFAULT_PASSWORD, orgs=(org,)),
                 User(SSO_USER, secrets.token_urlsafe(24), orgs=(org,), sso=True)]
    auth = Authenticator(users, token_ttl=token_ttl, refresh_ttl=refresh_ttl, clock=clock)
    faults = Faults()

    app = Flask("apigee_lab.mgmt")
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    app.extensions["apigee_lab"] = {"store": store, "auth": auth, "faults": faults, "state_dir": state_dir}

    def route(rule, methods):
        """Register a view under /v1/organizations/<org> and /v1/o/<org>, and {env} as environments/<env> or e/<env>."""
        def deco(fn):
            endpoint = fn.__name__
            for prefix in ("/v1/organizations/<org>", "/v1/o/<org>"):
                forms = ("environments/<env>", "e/<env>") if "{env}" in rule else (None,)
                for form in forms:
                    app.add_url_rule(prefix + (rule.replace("{env}", form) if form else rule), endpoint=endpoint,
                                     view_func=fn, methods=methods, strict_slashes=False)
            return fn
        return deco

    # ------------------------------------------------------------------ errors
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        resp = jsonify({"code": exc.code, "message": exc.message, "contexts": []})
        resp.status_code = exc.status
        for k, v in exc.headers.items():
            resp.headers[k] = v
        return resp

    @app.errorhandler(AuthError)
    def _auth_error(exc: AuthError):
        if exc.uaa:
            resp = jsonify({"error": exc.code, "error_description": exc.message})
        else:
            resp = jsonify({"code": exc.code, "message": exc.message, "contexts": []})
        resp.status_code = exc.status
        if exc.status == 401 and not exc.uaa:
            resp.headers["WWW-Authenticate"] = 'Basic realm="Apigee Edge lab"'
        return resp

    @app.errorhandler(404)
    def _not_found(_exc):
        return _api_error(ApiError(404, "messaging.config.beans.ResourceNotFound",
                                   "No resource at %s %s" % (request.method, request.path)))

    @app.errorhandler(405)
    def _not_allowed(_exc):
        return _api_error(ApiError(405, "messaging.config.beans.MethodNotAllowed",
                                   "Method %s is not allowed on %s" % (request.method, request.path)))

    # ------------------------------------------------------------------ every request: count, faults, auth, scope
    @app.before_request
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
        g.user = auth.authenticate(request.headers.get("Authorization"))
        view_args = request.view_args or {}
        req_org = view_args.get("org")
        if req_org is not None:
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

    @app.after_request
    def _after(resp):
        if not request.path.startswith("/_lab/"):
            faults.count_status(resp.status_code)
        return resp

    # ------------------------------------------------------------------ OAuth2 (login.apigee.com)
    @app.post("/oauth/token")
    def oauth_token():
        body = auth.token_endpoint(request.headers.get("Authorization"), request.form.to_dict(),
                                   request.args.to_dict())
        resp = jsonify(body)
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Pragma"] = "no-cache"
        return resp

    # ------------------------------------------------------------------ lab admin
    @app.get("/_lab/health")
    def lab_health():
        return jsonify({"status": "ok", "org": org, "envs": store.list_envs(org)})

    @app.route("/_lab/faults", methods=["GET", "POST", "DELETE"])
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
            raise _bad(str(exc), "lab.fault.InvalidRule") from None
        return jsonify(added if isinstance(spec, list) else added[0]), 201

    @app.post("/_lab/passcode")
    def lab_passcode():
        """What https://<zone>.login.apigee.com/passcode shows an SSO user after the SAML login: a one-time code."""
        email = (request.get_json(silent=True) or {}).get("user") or request.args.get("user") or SSO_USER
        return jsonify({"passcode": auth.issue_passcode(email), "user": email, "expires_in": auth.passcode_ttl})

    @app.route("/_lab/requests", methods=["GET", "DELETE"])
    def lab_requests():
        if request.method == "DELETE":
            faults.reset_stats()
        if request.args.get("journal"):
            return jsonify(faults.journal_entries())
        return jsonify(faults.stats())

    # ------------------------------------------------------------------ organization and environments
    def _org_json(name):
        rec = store.get_org(name)
        return {"createdAt": rec["created"], "createdBy": DEFAULT_USER, "displayName": name,
                "environments": store.list_envs(name), "lastModifiedAt": rec["created"],
                "lastModifiedBy": DEFAULT_USER, "name": name, "properties": {"property": []}, "type": "paid"}

    @route("", ["GET"])
    def get_org(org):
        return jsonify(_org_json(org))

    @app.get("/v1/organizations/<org>/environments")
    @app.get("/v1/o/<org>/environments")
    @app.get("/v1/o/<org>/e")
    def list_envs(org):
        return jsonify(store.list_envs(org))

    @route("/{env}", ["GET"])
    def get_env(org, env):
        return jsonify({"createdAt": store.get_org(org)["created"], "createdBy": DEFAULT_USER, "description": "",
                        "lastModifiedAt": store.get_org(org)["created"], "lastModifiedBy": DEFAULT_USER,
                        "name": env, "properties": {"property": []}})

    # ------------------------------------------------------------------ keystores
    def _keystore_or_404(org, env, name):
        ks = store.get_keystore(org, env, name)
        if ks is None:
            raise ApiError(404, "keymanagement.service.KeystoreDoesNotExist",
                           "Keystore %s does not exist in environment %s" % (name, env))
        return ks

    @route("/{env}/keystores", ["GET", "POST"])
    def keystores(org, env):
        if request.method == "GET":
            return jsonify(store.list_keystores(org, env))
        name = _json_body().get("name")
        if not name or not isinstance(name, str):
            raise _bad("name is required", "keymanagement.service.InvalidKeystoreName")
        if not KEYSTORE_NAME.match(name):
            raise _bad("Invalid keystore name %s: keystore names can contain only alphanumeric characters" % name,
                       "keymanagement.service.InvalidKeystoreName")
        if store.get_keystore(org, env, name) is not None:
            raise ApiError(409, "keymanagement.service.KeystoreAlreadyExists",
                           "Keystore %s already exists in environment %s" % (name, env))
        store.create_keystore(org, env, name)
        # 200, as keystores-and-trustores.yaml (createKeystoreTruststore) documents; not 201
        return jsonify(store.get_keystore(org, env, name)), 200

    @route("/{env}/keystores/<keystore>", ["GET", "DELETE"])
    def keystore(org, env, keystore):
        ks = _keystore_or_404(org, env, keystore)
        if request.method == "DELETE":
            store.delete_keystore(org, env, keystore)
        return jsonify(ks)

    # ------------------------------------------------------------------ aliases
    def _alias_or_404(org, env, keystore, alias):
        _keystore_or_404(org, env, keystore)
        row = store.get_alias_row(org, env, keystore, alias)
        if row is None:
            raise ApiError(404, "keymanagement.service.AliasDoesNotExist",
                           "Alias %s does not exist in keystore %s" % (alias, keystore))
        return row

    def _file_field(*names):
        for n in names:
            f = request.files.get(n)
            if f is not None:
                return f.read()
        return None

    def _password():
        pw = request.form.get("password")
        if pw is None:
            pw = request.args.get("password")   # deprecated by Edge, still accepted
        return pw or None

    def _parse_alias_upload(fmt, alias):
        """(key or None, [certs]) from the multipart upload of one alias."""
        cc = _cc()
        newline_validation = not _query_flag("ignoreNewlineValidation", True)
        password = _password()
        if fmt == "keycertfile":
            cert_data = _file_field("certFile")
            if cert_data is None:
                raise _bad("certFile is required for format keycertfile", "keymanagement.service.MissingFile")
            certs = _load_certs(cert_data, "certFile", newline_validation)
            key_data = _file_field("keyFile")
            key = None
            if key_data is not None:
                if len(key_data) > MAX_CERT_FILE:
                    raise _bad("keyFile is larger than 50KB", "keymanagement.service.FileSizeExceeded")
                try:
                    key = cc.load_private_key(key_data, password, "keyFile")
                except _mtls_error() as exc:
                    raise _bad(getattr(exc, "msg", None) or str(exc), "keymanagement.service.InvalidKey") from None
            return key, certs
        if fmt == "pkcs12":
            data = _file_field("file")
            if data is None:
                raise _bad("file is required for format pkcs12", "keymanagement.service.MissingFile")
            try:
                key, cert, extra = cc.load_pkcs12(data, password, "file")
            except _mtls_error() as exc:
                raise _bad(getattr(exc, "msg", None) or str(exc), "keymanagement.service.InvalidKeystoreFile") \
                    from None
            if cert is None:
                raise _bad("the PKCS#12 file holds no certificate", "keymanagement.service.InvalidKeystoreFile")
            return key, _ordered_chain(cert, list(extra or []))
        if fmt == "keycertjar":
            data = _file_field("file")
            if data is None:
                raise _bad("file is required for format keycertjar", "keymanagement.service.MissingFile")
            try:
                jar = zipfile.ZipFile(BytesIO(data))
                props = dict(line.split("=", 1) for line in
                             jar.read("META-INF/descriptor.properties").decode("utf-8").splitlines()
                             if "=" in line)
                cert_data = jar.read(props["certFile"].strip())
                key_data = jar.read(props["keyFile"].strip()) if props.get("keyFile") else None
            except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
                raise _bad("the JAR needs META-INF/descriptor.properties naming certFile and keyFile, and both files",
                           "keymanagement.service.InvalidKeystoreFile") from None
            certs = _load_certs(cert_data, "certFile", newline_validation)
            key = None
            if key_data is not None:
                try:
                    key = cc.load_private_key(key_data, password, "keyFile")
                except _mtls_error() as exc:
                    raise _bad(getattr(exc, "msg", None) or str(exc), "keymanagement.service.InvalidKey") from None
            return key, certs
        raise _bad("format %s is not supported: use keycertfile, pkcs12 or keycertjar" % fmt,
                   "keymanagement.service.InvalidFormat")

    @route("/{env}/keystores/<keystore>/aliases", ["GET", "POST"])
    def aliases(org, env, keystore):
        _keystore_or_404(org, env, keystore)
        if request.method == "GET":
            return jsonify([r["alias"] for r in store.list_alias_rows(org, env, keystore)])
        fmt = request.args.get("format")
        if not fmt:
            raise _bad("format is required (keycertfile, pkcs12 or keycertjar)", "keymanagement.service.InvalidFormat")
        alias = request.args.get("alias")
        if not alias:
            raise _bad("alias is required", "keymanagement.service.InvalidAlias")
        if not ALIAS_NAME.match(alias):
            raise _bad("Invalid alias name %r" % alias, "keymanagement.service.InvalidAlias")
        if request.mimetype != "multipart/form-data":
            raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                           "Unsupported Content-Type %r: use multipart/form-data" % (request.content_type or ""))
        if store.get_alias_row(org, env, keystore, alias) is not None:
            raise ApiError(409, "keymanagement.service.AliasAlreadyExists",
                           "Alias %s already exists in keystore %s" % (alias, keystore))
        key, certs = _parse_alias_upload(fmt, alias)
        _check_expiry(certs, alias, _query_flag("ignoreExpiryValidation"))
        if key is not None and not _cc().key_matches_certificate(key, certs[0]):
            raise _bad("The private key does not match the certificate of alias %s (the first certificate of the "
                       "chain must be the one issued for this key)" % alias, "keymanagement.service.KeyCertMismatch")
        store.put_alias(org, env, keystore, alias, alias + "-cert", _key_pem(key) if key is not None else None,
                        _cc().dump_pem(certs))
        return jsonify(_alias_json(store.get_alias_row(org, env, keystore, alias))), 201

    @route("/{env}/keystores/<keystore>/aliases/<alias>", ["GET", "PUT", "DELETE"])
    def alias_item(org, env, keystore, alias):
        row = _alias_or_404(org, env, keystore, alias)
        if request.method == "GET":
            return jsonify(_alias_json(row))
        if request.method == "DELETE":
            body = _alias_json(row)
            store.delete_alias(org, env, keystore, alias)
            return jsonify(body)
        # PUT: update the certificate (chain) of the alias
        if request.mimetype == "multipart/form-data":
            data = _file_field("file", "certFile")
        elif request.mimetype in ("application/octet-stream", "application/x-pem-file", "text/plain"):
            data = request.get_data()
        else:
            raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                           "Unsupported Content-Type %r: use multipart/form-data" % (request.content_type or ""))
        if not data:
            raise _bad("a certificate file is required (multipart field file)", "keymanagement.service.MissingFile")
        certs = _load_certs(data, "file", not _query_flag("ignoreNewlineValidation", True))
        _check_expiry(certs, alias, _query_flag("ignoreExpiryValidation"))
        if row["key_pem"]:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            key = load_pem_private_key(row["key_pem"].encode("ascii"), None)
            if not _cc().key_matches_certificate(key, certs[0]):
                raise _bad("The new certificate does not match the private key of alias %s" % alias,
                           "keymanagement.service.KeyCertMismatch")
        store.update_alias_chain(org, env, keystore, alias, _cc().dump_pem(certs))
        return jsonify(_alias_json(store.get_alias_row(org, env, keystore, alias)))

    @route("/{env}/keystores/<keystore>/aliases/<alias>/certificate", ["GET"])
    def alias_certificate(org, env, keystore, alias):
        row = _alias_or_404(org, env, keystore, alias)
        return Response("".join(split_pem(row["chain_pem"])), mimetype="application/x-pem-file")

    # ------------------------------------------------------------------ certs
    def _cert_or_404(org, env, keystore, cert_name):
        _keystore_or_404(org, env, keystore)
        row = store.get_alias_by_cert_name(org, env, keystore, cert_name)
        if row is None:
            raise ApiError(404, "keymanagement.service.CertificateDoesNotExist",
                           "Certificate %s does not exist in keystore %s" % (cert_name, keystore))
        return row

    @route("/{env}/keystores/<keystore>/certs", ["GET", "POST"])
    def certs(org, env, keystore):
        _keystore_or_404(org, env, keystore)
        if request.method == "GET":
            return jsonify([r["cert_name"] for r in store.list_alias_rows(org, env, keystore)])
        alias = request.args.get("alias")
        if not alias:
            raise _bad("alias is required", "keymanagement.service.InvalidAlias")
        if not ALIAS_NAME.match(alias):
            raise _bad("Invalid alias name %r" % alias, "keymanagement.service.InvalidAlias")
        if request.mimetype == "multipart/form-data":
            data = _file_field("file", "certFile")
        else:
            data = request.get_data()
        if not data:
            raise _bad("a certificate file is required (multipart field file)", "keymanagement.service.MissingFile")
        if store.get_alias_row(org, env, keystore, alias) is not None or \
                store.get_alias_by_cert_name(org, env, keystore, alias) is not None:
            raise ApiError(409, "keymanagement.service.CertificateAlreadyExists",
                           "Certificate %s already exists in keystore %s" % (alias, keystore))
        certs_ = _load_certs(data, "file", not _query_flag("ignoreNewlineValidation", True))
        _check_expiry(certs_, alias, _query_flag("ignoreExpiryValidation"))
        store.put_alias(org, env, keystore, alias, alias, None, _cc().dump_pem(certs_))
        return Response(status=204)

    @route("/{env}/keystores/<keystore>/certs/<cert_name>", ["GET", "DELETE"])
    def cert_item(org, env, keystore, cert_name):
        row = _cert_or_404(org, env, keystore, cert_name)
        body = {"certInfo": _cert_infos(row["chain_pem"]), "certName": row["cert_name"]}
        if request.method == "DELETE":
            store.delete_alias(org, env, keystore, row["alias"])
        return jsonify(body)

    @route("/{env}/keystores/<keystore>/certs/<cert_name>/export", ["GET"])
    def cert_export(org, env, keystore, cert_name):
        row = _cert_or_404(org, env, keystore, cert_name)
        return Response("".join(split_pem(row["chain_pem"])), mimetype="application/x-pem-file")

    # ------------------------------------------------------------------ references
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
            raise _bad("refers is required", "messaging.config.beans.InvalidReference")
        if rtype not in RESOURCE_TYPES:
            raise _bad("resourceType must be KeyStore or TrustStore (got %r)" % (rtype,),
                       "messaging.config.beans.InvalidReference")
        if store.get_keystore(org, env, refers) is None:
            raise _bad("Reference %s refers to %s, which does not exist in environment %s" % (name, refers, env),
                       "messaging.config.beans.InvalidReference")
        return refers, rtype

    @route("/{env}/references", ["GET", "POST"])
    def references(org, env):
        if request.method == "GET":
            return jsonify(store.list_references(org, env))
        data = _json_body()
        name = data.get("name")
        if not name or not isinstance(name, str) or not REFERENCE_NAME.match(name):
            raise _bad("name is required (letters, digits, '_', '-', '.')", "messaging.config.beans.InvalidReference")
        if store.get_reference(org, env, name) is not None:
            raise ApiError(409, "messaging.config.beans.ResourceReferenceAlreadyExists",
                           "Reference %s already exists in environment %s" % (name, env))
        refers, rtype = _valid_reference(org, env, data, name)
        store.put_reference(org, env, name, refers, rtype)
        return jsonify(store.get_reference(org, env, name)), 201

    @route("/{env}/references/<name>", ["GET", "PUT", "DELETE"])
    def reference(org, env, name):
        ref = _reference_or_404(org, env, name)
        if request.method == "GET":
            return jsonify(ref)
        if request.method == "DELETE":
            store.delete_reference(org, env, name)
            return jsonify(ref)
        data = _json_body()
        if data.get("name") not in (None, name):
            raise _bad("the name in the body (%s) differs from the reference in the path (%s)"
                       % (data.get("name"), name), "messaging.config.beans.InvalidReference")
        refers, rtype = _valid_reference(org, env, data, name)
        store.put_reference(org, env, name, refers, rtype)
        return jsonify(store.get_reference(org, env, name))

    # ------------------------------------------------------------------ target servers
    def _targetserver_doc(data, name):
        host = data.get("host")
        if not host or not isinstance(host, str):
            raise _bad("host is required", "messaging.config.beans.InvalidTargetServer")
        port = data.get("port")
        try:
            if isinstance(port, bool):
                raise ValueError
            port = int(port)
            if not 0 < port < 65536:
                raise ValueError
        except (TypeError, ValueError):
            raise _bad("port must be an integer between 1 and 65535", "messaging.config.beans.InvalidTargetServer") \
                from None
        doc = {"host": host, "isEnabled": _truthy(data.get("isEnabled"), "isEnabled", True), "name": name,
               "port": port}
        ssl = data.get("sSLInfo")
        if ssl is None and "SSLInfo" in data:
            raise _bad("use sSLInfo (Edge's JSON name), not SSLInfo", "messaging.config.beans.InvalidTargetServer")
        if ssl is not None:
            if not isinstance(ssl, dict):
                raise _bad("sSLInfo must be an object", "messaging.config.beans.InvalidTargetServer")
            out = {}
            for key in ("ciphers", "protocols"):
                value = ssl.get(key) or []
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise _bad("sSLInfo.%s must be a list of strings" % key,
                               "messaging.config.beans.InvalidTargetServer")
                out[key] = value
            # Edge answers enabled/clientAuthEnabled as strings and ignoreValidationErrors as a boolean.
            out["clientAuthEnabled"] = "true" if _truthy(ssl.get("clientAuthEnabled"), "clientAuthEnabled") \
                else "false"
            out["enabled"] = "true" if _truthy(ssl.get("enabled"), "enabled") else "false"
            out["ignoreValidationErrors"] = _truthy(ssl.get("ignoreValidationErrors"), "ignoreValidationErrors")
            for key in ("keyAlias", "keyStore", "trustStore"):
                value = ssl.get(key)
                if value not in (None, ""):
                    if not isinstance(value, str):
                        raise _bad("sSLInfo.%s must be a string" % key, "messaging.config.beans.InvalidTargetServer")
                    out[key] = value
            doc["sSLInfo"] = dict(sorted(out.items()))
        return doc

    @route("/{env}/targetservers", ["GET", "POST"])
    def targetservers(org, env):
        if request.method == "GET":
            return jsonify(store.list_targetservers(org, env))
        data = _json_body()
        name = data.get("name")
        if not name or not isinstance(name, str) or not ENTITY_NAME.match(name):
            raise _bad("name is required (characters A-Za-z0-9._-$ %)", "messaging.config.beans.InvalidTargetServer")
        if store.get_targetserver(org, env, name) is not None:
            raise ApiError(409, "messaging.config.beans.TargetServerAlreadyExists",
                           "Target server %s already exists in environment %s" % (name, env))
        doc = _targetserver_doc(data, name)
        store.put_targetserver(org, env, name, doc)
        return jsonify(doc), 201

    @route("/{env}/targetservers/<name>", ["GET", "PUT", "DELETE"])
    def targetserver(org, env, name):
        doc = store.get_targetserver(org, env, name)
        if doc is None:
            raise ApiError(404, "messaging.config.beans.TargetServerDoesNotExist",
                           "Target server %s does not exist in environment %s" % (name, env))
        if request.method == "GET":
            return jsonify(doc)
        if request.method == "DELETE":
            store.delete_targetserver(org, env, name)
            return jsonify(doc)
        data = _json_body()
        if data.get("name") not in (None, name):
            raise _bad("the name in the body (%s) differs from the target server in the path (%s)"
                       % (data.get("name"), name), "messaging.config.beans.InvalidTargetServer")
        new = _targetserver_doc(data, name)
        store.put_targetserver(org, env, name, new)
        return jsonify(new)

    # ------------------------------------------------------------------ API proxies
    def _api_or_404(org, api):
        rec = store.get_api(org, api)
        if rec is None:
            raise ApiError(404, "messaging.config.beans.ApplicationDoesNotExist",
                           "APIProxy named %s does not exist in organization %s" % (api, org))
        return rec

    def _revision_or_404(org, api, rev):
        _api_or_404(org, api)
        try:
            number = int(rev)
        except ValueError:
            raise _bad("revision must be a number (got %r)" % rev, "messaging.config.beans.InvalidRevision") from None
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
                raise _bad("the multipart body needs the bundle zip in field file",
                           "messaging.config.beans.ImportFailed")
            return f.read()
        if request.mimetype in ("application/octet-stream", "application/zip", "application/x-zip-compressed"):
            return request.get_data()
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Unsupported Content-Type %r: import a bundle as multipart/form-data (file) or "
                       "application/octet-stream" % (request.content_type or ""))

    def _meta_of(data, name):
        import hashlib

        try:
            manifest = parse_bundle(data, expected_name=name)
        except BundleError as exc:
            raise _bad("Bundle is invalid: %s" % exc, "messaging.config.beans.ImportFailed") from None
        manifest = {k: v for k, v in manifest.items() if k not in RUNTIME_ONLY}
        manifest["sha512"] = hashlib.sha512(data).hexdigest()[:32]
        return manifest

    @route("/apis", ["GET", "POST"])
    def apis(org):
        if request.method == "GET":
            return jsonify(store.list_apis(org))
        action = request.args.get("action")
        name = request.args.get("name")
        if action not in ("import", "validate"):
            raise _bad("action must be import or validate", "messaging.config.beans.InvalidAction")
        if not name or not API_NAME.match(name):
            raise _bad("name is required (characters A-Za-z0-9._-)", "messaging.config.beans.InvalidName")
        data = _bundle_from_request()
        meta = _meta_of(data, name)
        if action == "validate":
            return jsonify({"name": name, "basepaths": meta["basepaths"], "valid": True})
        number = store.add_revision(org, name, data, meta, g.user.email)
        return jsonify(_revision_json(org, name, number, store.get_revision(org, name, number))), 201

    @route("/apis/<api>", ["GET", "DELETE"])
    def api_item(org, api):
        rec = _api_or_404(org, api)
        revs = store.list_revisions(org, api)
        if request.method == "DELETE":
            deployed = [d for d in store.list_all_deployments(org) if d["api"] == api]
            if deployed:
                raise _bad("APIProxy %s has deployed revisions (%s): undeploy them first"
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

    @route("/apis/<api>/revisions", ["GET"])
    def api_revisions(org, api):
        _api_or_404(org, api)
        return jsonify([str(r) for r in store.list_revisions(org, api)])

    @route("/apis/<api>/revisions/<rev>", ["GET", "POST", "DELETE"])
    def api_revision(org, api, rev):
        number, rec = _revision_or_404(org, api, rev)
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
                raise _bad("Revision %d of APIProxy %s is deployed in %s: undeploy it first"
                           % (number, api, ", ".join(deployed_in)), "messaging.config.beans.ApplicationIsDeployed")
            body = _revision_json(org, api, number, rec)
            store.delete_revision(org, api, number)
            return jsonify(body)
        raise ApiError(405, "messaging.config.beans.MethodNotAllowed",
                       "updating a revision in place is not supported by the lab: import a new revision")

    # ------------------------------------------------------------------ deployments
    def _rev_entry(number, basepaths, state="deployed"):
        return {"configuration": {"basePath": basepaths[0] if basepaths else "/", "steps": []},
                "name": str(number), "server": [], "state": state}

    def _deployment_env_json(org, env, api, number, basepaths, state):
        return {"aPIProxy": api, "configuration": {"basePath": basepaths[0] if basepaths else "/", "steps": []},
                "environment": env, "name": str(number), "organization": org, "revision": str(number),
                "server": [], "state": state}

    @route("/{env}/deployments", ["GET"])
    def env_deployments(org, env):
        by_api = {}
        for d in store.list_deployments(org, env):
            by_api.setdefault(d["api"], []).append(_rev_entry(d["revision"], d["basepaths"]))
        return jsonify({"aPIProxy": [{"name": api, "revision": revs} for api, revs in sorted(by_api.items())],
                        "name": env, "organization": org})

    @route("/deployments", ["GET"])
    def org_deployments(org):
        envs_out = []
        for env in store.list_envs(org):
            by_api = {}
            for d in store.list_deployments(org, env):
                by_api.setdefault(d["api"], []).append(_rev_entry(d["revision"], d["basepaths"]))
            envs_out.append({"aPIProxy": [{"name": a, "revision": r} for a, r in sorted(by_api.items())],
                             "name": env})
        return jsonify({"environment": envs_out, "name": org})

    @route("/apis/<api>/deployments", ["GET"])
    def api_deployments(org, api):
        _api_or_404(org, api)
        envs_out = {}
        for d in store.list_all_deployments(org):
            if d["api"] == api:
                envs_out.setdefault(d["env"], []).append(_rev_entry(d["revision"], d["basepaths"]))
        return jsonify({"environment": [{"name": e, "revision": r} for e, r in sorted(envs_out.items())],
                        "name": api, "organization": org})

    @route("/{env}/apis/<api>/deployments", ["GET"])
    def api_env_deployments(org, env, api):
        _api_or_404(org, api)
        revs = [_rev_entry(d["revision"], d["basepaths"]) for d in store.list_deployments(org, env)
                if d["api"] == api]
        return jsonify({"environment": env, "name": api, "organization": org, "revision": revs})

    @route("/apis/<api>/revisions/<rev>/deployments", ["GET", "POST"])
    def api_revision_deployments(org, api, rev):
        number, rec = _revision_or_404(org, api, rev)
        if request.method == "POST":   # forced undeploy: ?action=undeploy&env=...&force=true
            if request.args.get("action") != "undeploy":
                raise _bad("action must be undeploy", "messaging.config.beans.InvalidAction")
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
            raise _bad("Revision %d of application %s is not deployed in environment %s" % (number, api, env),
                       "distribution.RevisionNotDeployed")
        store.remove_deployment(org, env, api, number)
        return jsonify(_deployment_env_json(org, env, api, number, current[0]["basepaths"], "undeployed"))

    @route("/{env}/apis/<api>/revisions/<rev>/deployments", ["GET", "POST", "DELETE"])
    def deploy(org, env, api, rev):
        number, rec = _revision_or_404(org, api, rev)
        deployed = store.list_deployments(org, env)
        if request.method == "DELETE":
            return _undeploy(org, env, api, number, rec)
        mine = [d for d in deployed if d["api"] == api and d["revision"] == number]
        if request.method == "GET":
            if not mine:
                raise _bad("Revision %d of application %s is not deployed in environment %s" % (number, api, env),
                           "distribution.RevisionNotDeployed")
            return jsonify(_deployment_env_json(org, env, api, number, mine[0]["basepaths"], "deployed"))
        # deployments.yaml marks the Content-type header required; Edge's deploy takes a form body
        # (APIGEE-FACTS: application/x-www-form-urlencoded, as apigeetool and the deploy maven plugin send it)
        if not (request.content_type or "").startswith("application/x-www-form-urlencoded"):
            raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                           "Deploy needs Content-Type: application/x-www-form-urlencoded (got %s)"
                           % (request.content_type or "none"))
        basepaths = rec["meta"].get("basepaths") or ["/"]
        if mine:
            return jsonify(_deployment_env_json(org, env, api, number, basepaths, "deployed"))
        others = [d for d in deployed if d["api"] == api and d["revision"] != number]
        override = _query_flag("override")
        if others and not override:
            raise _bad("Revision %s of application %s is already deployed in environment %s: undeploy it first or "
                       "deploy with override=true" % (others[0]["revision"], api, env),
                       "distribution.ApplicationAlreadyDeployed")
        for d in deployed:
            if d["api"] != api and set(d["basepaths"]) & set(basepaths):
                raise ApiError(409, "distribution.DuplicateBasePath",
                               "Base path %s is already used by revision %d of %s in environment %s"
                               % (sorted(set(d["basepaths"]) & set(basepaths))[0], d["revision"], d["api"], env))
        store.add_deployment(org, env, api, number, basepaths, replace_other_revisions=override)
        return jsonify(_deployment_env_json(org, env, api, number, basepaths, "deployed"))

    # ------------------------------------------------------------------ testssl
    @route("/{env}/testssl", ["POST"])
    def testssl(org, env):
        return jsonify(_testssl(store, org, env, _json_body()))

    return app


# ---------------------------------------------------------------------------------------------------- process entry
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
    parser.add_argument("--state", default=os.environ.get("MTLS_LAB_STATE") or
                        os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".state"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--org", default=DEFAULT_ORG)
    parser.add_argument("--envs", default=",".join(DEFAULT_ENVS), help="comma-separated environment names")
    parser.add_argument("--token-ttl", type=int, default=1799, help="OAuth2 access token lifetime (s)")
    args = parser.parse_args(argv)
    envs = [e for e in args.envs.split(",") if e]
    print("management API on http://%s:%d (org %s, envs %s, state %s)" % (args.host, args.port, args.org,
                                                                          ",".join(envs), args.state), flush=True)
    serve(args.host, args.port, args.state, org=args.org, envs=envs, token_ttl=args.token_ttl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
