"""What every resource of the management API emulator shares: Edge's error answer (``ApiError``), the request
readers (JSON body, flags as Edge takes them), the name rules, the lab state of the running app (``store``, ``auth``,
``faults``, ``lab_config``) and ``Resource``, the blueprint that registers a view under both spellings of an
organization (``/v1/organizations/<org>``, ``/v1/o/<org>``) and of an environment (``environments/<env>``, ``e/<env>``).
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, request
from werkzeug.local import LocalProxy

from .. import _core  # makes ansible.module_utils.mtls.certcore importable

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


def bad(message: str, code: str = "messaging.config.beans.InvalidRequest") -> ApiError:
    return ApiError(400, code, message)


def truthy(value, name: str, default: bool = False) -> bool:
    """Edge takes flags as JSON booleans or as the strings "true"/"false" (any case)."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad("%s must be true or false" % name)


def query_flag(name: str, default: bool = False) -> bool:
    return truthy(request.args.get(name), name, default)


def json_body(message: str | None = None) -> dict:
    """The request's JSON object; in X mode, read as the proto `message` (x_shapes.BODIES) Apigee X parses it into."""
    if request.mimetype != "application/json":
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Unsupported Content-Type %r: use application/json" % (request.content_type or ""))
    try:
        data = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise bad("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad("the request body must be a JSON object")
    if message and x_mode():
        from . import x_shapes

        why = x_shapes.body_error(message, data)
        if why:
            raise bad(why)
    return data



def certcore():
    return _core.certcore()


def mtls_error():
    return _core.mtls_error_type()


def lab_config() -> dict:
    """The running app's lab state: store, auth, faults, state_dir, org."""
    return current_app.extensions["apigee_lab"]


def x_mode() -> bool:
    """Whether the emulator answers as Apigee X / hybrid (``x_shapes.py``) rather than Edge."""
    return lab_config().get("platform", "edge") != "edge"


store = LocalProxy(lambda: lab_config()["store"])
auth = LocalProxy(lambda: lab_config()["auth"])
faults = LocalProxy(lambda: lab_config()["faults"])


class Resource(Blueprint):
    """A blueprint for one Apigee resource; ``api_route`` registers a view under /v1/organizations/<org> and
    /v1/o/<org>, and ``{env}`` in the rule as environments/<env> or e/<env>."""

    def api_route(self, rule, methods):
        def deco(fn):
            for prefix in ("/v1/organizations/<org>", "/v1/o/<org>"):
                forms = ("environments/<env>", "e/<env>") if "{env}" in rule else (None,)
                for form in forms:
                    self.add_url_rule(prefix + (rule.replace("{env}", form) if form else rule), endpoint=fn.__name__,
                                      view_func=fn, methods=methods, strict_slashes=False)
            return fn
        return deco
