"""The one Apigee Edge management API client used by every module of the project.

- Base URL: Public Cloud (``https://api.enterprise.apigee.com``) or a Private Cloud management server
  (``http(s)://host:8080``); every path is relative to ``/v1/organizations/{org}``.
- Auth: HTTP basic, OAuth2 password grant against the Edge login service (client ``edgecli:edgeclisecret``, optional
  MFA code, or a SAML/SSO org's one-time passcode from ``https://<zone>.login.apigee.com/passcode``; one refresh on
  401), or a bearer token given by the caller (refreshed on 401 when its refresh token is given too). A one-time code
  (MFA, passcode) can be exchanged only once: ``login()`` does it once, and later clients use the token it got.
- One retry policy: 429 and 5xx, honouring ``Retry-After``, exponential backoff otherwise, only for requests that are
  safe to repeat (GET/HEAD/PUT/DELETE unless the caller says a POST is idempotent).
- Errors: :class:`ApigeeApiError` (HTTP status, Apigee's ``code`` and ``message``, in plain words); connection errors
  are :class:`MtlsError` naming the URL. Secrets never appear in messages.
- A per-run cache of parsed GET results (writes invalidate what they touch) and a count of HTTP requests made.
"""
from __future__ import annotations

import copy
import email.utils
import json
import json as _json
import os
import random
import threading
import time
from urllib.parse import quote, urlsplit

from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError

try:  # requests is a runtime dependency; keep the import error readable on a bare host
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only on hosts without requests
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # pragma: no cover - plain Python use without ansible-core
    def env_fallback(*args, **kwargs):
        import os

        for name in args:
            if name in os.environ:
                return os.environ[name]
        raise ValueError("no environment value")


PUBLIC_CLOUD_MGMT_URL = "https://api.enterprise.apigee.com"
# Apigee X and hybrid: one Google API for both (a regional endpoint is https://<region>-apigee.googleapis.com)
GOOGLE_MGMT_URL = "https://apigee.googleapis.com"
PLATFORMS = ("edge", "x", "hybrid")
PUBLIC_CLOUD_LOGIN_URL = "https://login.apigee.com"
# The Edge login service's public client (edgecli:edgeclisecret), documented by Apigee for the password grant.
EDGE_CLIENT_AUTH = "Basic ZWRnZWNsaTplZGdlY2xpc2VjcmV0"
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0  # the longest single wait
MAX_TOTAL_WAIT = 120.0  # the longest a request waits in all for retries; a Retry-After beyond it fails at once
USER_AGENT = "apigee-mtls-doctor"
POOL_SIZE = 32  # connections kept per host: at least the workers of the concurrent stages (links, keystores)


def apigee_argument_spec():
    """Connection options shared by every module that talks to the Apigee management API."""
    return {
        "mgmt_url": {"type": "str", "default": PUBLIC_CLOUD_MGMT_URL,
                     "fallback": (env_fallback, ["APIGEE_MGMT_URL"])},
        "org": {"type": "str", "required": True, "fallback": (env_fallback, ["APIGEE_ORG"])},
        "username": {"type": "str", "fallback": (env_fallback, ["APIGEE_USERNAME"])},
        "password": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APIGEE_PASSWORD"])},
        "token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APIGEE_TOKEN"])},
        "mfa_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APIGEE_MFA_TOKEN"])},
        "passcode": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APIGEE_PASSCODE"])},
        "refresh_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["APIGEE_REFRESH_TOKEN"])},
        "login_url": {"type": "str", "default": PUBLIC_CLOUD_LOGIN_URL,
                      "fallback": (env_fallback, ["APIGEE_LOGIN_URL"])},
        "auth_type": {"type": "str", "default": "auto", "choices": ["auto", "basic", "oauth2", "token"],
                      "fallback": (env_fallback, ["APIGEE_AUTH_TYPE"])},
        "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, ["APIGEE_VALIDATE_CERTS"])},
        "ca_path": {"type": "path", "fallback": (env_fallback, ["APIGEE_CA_PATH"])},
        "timeout": {"type": "int", "default": 30, "fallback": (env_fallback, ["APIGEE_TIMEOUT"])},
        "retries": {"type": "int", "default": 5, "fallback": (env_fallback, ["APIGEE_RETRIES"])},
        "platform": {"type": "str", "default": "edge", "choices": list(PLATFORMS),
                     "fallback": (env_fallback, ["APIGEE_PLATFORM"])},
        "service_account_file": {"type": "path", "fallback": (env_fallback, ["APIGEE_SERVICE_ACCOUNT_FILE"])},
    }


def apigee_connection_suboptions(extra=None):
    """The connection options as the suboptions of one dict option (a module that talks to two orgs, each its own
    dict): the same names, types and defaults, without the APIGEE_* environment fallbacks, which would hand both orgs
    the same credentials."""
    out = {}
    for name, spec in apigee_argument_spec().items():
        out[name] = {k: v for k, v in spec.items() if k != "fallback"}
    out.update(extra or {})
    return out


def _text(value):
    """A short plain string of a field of an error body (None for nothing)."""
    if value in (None, "", [], {}):
        return None
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return value[:500]


def _apigee_error_fields(body):
    """(code, message) from any error body: Edge {"code", "message"}, a runtime {"fault": {...}}, Google/Apigee X
    {"error": {"code", "message", "status"}}, OAuth {"error", "error_description"}, or anything else (never raises)."""
    if not isinstance(body, dict):
        return None, _text(body) if isinstance(body, list) else None
    fault = body.get("fault")
    if isinstance(fault, dict):
        detail = fault.get("detail")
        return (_text(detail.get("errorcode")) if isinstance(detail, dict) else None), _text(fault.get("faultstring"))
    error = body.get("error")
    if isinstance(error, dict):  # Google APIs (Apigee X / hybrid)
        return _text(error.get("status") or error.get("code")), _text(error.get("message"))
    code = body.get("code") or error
    message = body.get("message") or body.get("error_description")
    return _text(code), _text(message)


def _parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class ApigeeClient:
    """A small, thread-safe Apigee Edge management API client (see the module docstring)."""

    def __init__(self, mgmt_url, org, username=None, password=None, token=None, mfa_token=None, login_url=None,
                 validate_certs=True, ca_path=None, timeout=30, retries=5, auth_type="auto", backoff=0.5,
                 sleep=time.sleep, session=None, passcode=None, refresh_token=None, platform="edge",
                 service_account_file=None):
        if not HAS_REQUESTS:
            raise MtlsError("the Python library 'requests' is required to talk to the Apigee management API")
        if platform not in PLATFORMS:
            raise MtlsError("platform must be one of %s (got %r)" % (", ".join(PLATFORMS), platform))
        self.platform = platform
        if platform != "edge" and (not mgmt_url or mgmt_url.rstrip("/") == PUBLIC_CLOUD_MGMT_URL):
            mgmt_url = GOOGLE_MGMT_URL   # Edge's default URL means "not set" on X / hybrid
        if not mgmt_url:
            raise MtlsError("mgmt_url is empty: give the management API URL (e.g. %s or http://host:8080)"
                            % PUBLIC_CLOUD_MGMT_URL)
        parts = urlsplit(mgmt_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MtlsError("mgmt_url %r is not an http(s) URL" % mgmt_url)
        if not org:
            raise MtlsError("org is empty: give the Apigee organization name")
        self.mgmt_url = mgmt_url.rstrip("/")
        if self.mgmt_url.endswith("/v1"):
            self.mgmt_url = self.mgmt_url[:-3]
        self.org = org
        self.org_url = "%s/v1/organizations/%s" % (self.mgmt_url, quote(org, safe=""))
        self.username = username
        self._password = password
        self._token = token
        self._mfa_token = mfa_token
        self._passcode = passcode
        self._refresh_token = refresh_token or None
        self._expires_in = None
        self._token_refresh_tried = False
        self.login_url = (login_url or PUBLIC_CLOUD_LOGIN_URL).rstrip("/")
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self._sleep = sleep
        if platform == "edge":
            if service_account_file:
                raise MtlsError("a service account key file is for Apigee X / hybrid (apigee_platform: x or hybrid); "
                                "Edge takes a username and password, an MFA code, a passcode or a token")
            self.auth_type = self._choose_auth(auth_type, username, password, token, mfa_token, passcode)
        else:
            if username or password or mfa_token or passcode:
                raise MtlsError("Apigee %s takes Google credentials, not an Edge username, password, MFA code or "
                                "passcode: give a service account key file (apigee_service_account_file), use "
                                "Application Default Credentials, or give an access token (apigee_token)"
                                % ("X" if platform == "x" else "hybrid"))
            self.auth_type = "token" if token else "google"
        self._service_account_file = service_account_file
        self._google = None
        if session is None:
            session = requests.Session()
            # as many kept-alive connections as the stages read at a time (the default pool of 10 would open and
            # close TLS connections to the management API under concurrent reads)
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        self.session.headers["User-Agent"] = USER_AGENT
        # Passed with every request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify,
        # but not a request's explicit False or CA path. With validation on and no ca_path, the environment's bundle
        # (a corporate CA) still applies.
        self._verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        # The environment is read once, here: requests would read the proxy variables (and ~/.netrc, whose entry
        # would replace the client's own credentials) again at every request. HTTP(S)_PROXY / NO_PROXY apply per
        # host (_proxies_for); REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE when certificates are validated without ca_path.
        self.session.trust_env = False
        if self._verify is True:
            self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.verify = self._verify
        self._proxies = {}
        self._lock = threading.Lock()
        self._cache = {}
        self._inflight = {}
        self._auth_lock = threading.Lock()
        self.request_count = 0
        self.retry_count = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(cls, params, **kwargs):
        """Build a client from a module's params (the keys of :func:`apigee_argument_spec`)."""
        return cls(
            mgmt_url=params.get("mgmt_url") or PUBLIC_CLOUD_MGMT_URL,
            org=params.get("org"),
            username=params.get("username"),
            password=params.get("password"),
            token=params.get("token"),
            mfa_token=params.get("mfa_token"),
            passcode=params.get("passcode"),
            refresh_token=params.get("refresh_token"),
            login_url=params.get("login_url"),
            validate_certs=params.get("validate_certs", True) if params.get("validate_certs") is not None else True,
            ca_path=params.get("ca_path"),
            timeout=params.get("timeout") or 30,
            retries=params.get("retries") if params.get("retries") is not None else 5,
            auth_type=params.get("auth_type") or "auto",
            platform=params.get("platform") or "edge",
            service_account_file=params.get("service_account_file"),
            **kwargs,
        )

    @staticmethod
    def _choose_auth(auth_type, username, password, token, mfa_token, passcode=None):
        if auth_type in (None, "", "auto"):
            if token:
                return "token"
            if mfa_token or passcode:
                return "oauth2"
            if username or password:
                return "basic"
            raise MtlsError("no Apigee credentials: set username and password (apigee_username/apigee_password), "
                            "or a token (apigee_token)")
        if auth_type == "token" and not token:
            raise MtlsError("auth_type is 'token' but no token was given (apigee_token)")
        if auth_type == "oauth2" and passcode:
            return auth_type
        if auth_type in ("basic", "oauth2") and not (username and password):
            raise MtlsError("auth_type is '%s' but username and password are not both set "
                            "(apigee_username/apigee_password)" % auth_type)
        if auth_type not in ("token", "basic", "oauth2"):
            raise MtlsError("auth_type must be one of auto, basic, oauth2, token (got %r)" % auth_type)
        return auth_type

    # ------------------------------------------------------------------ URLs and cache keys
    def url(self, path):
        """Absolute URL of a path relative to /v1/organizations/{org} (or an absolute http(s) URL unchanged)."""
        if path.startswith("http://") or path.startswith("https://"):
            return path
        path = path or ""
        if path and not path.startswith("/"):
            path = "/" + path
        return self.org_url + path

    @staticmethod
    def _norm(path):
        path = "/" + (path or "").strip("/")
        return path

    @classmethod
    def _cache_key(cls, path, params):
        items = tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))
        return cls._norm(path), items

    # ------------------------------------------------------------------ auth
    def _auth_headers(self, force_refresh=False):
        if self.auth_type == "token":
            return {"Authorization": "Bearer %s" % self._token}
        if self.auth_type == "google":
            with self._auth_lock:
                if self._google is None:
                    from ansible.module_utils.mtls.apigee.google_auth import GoogleCredentials
                    self._google = GoogleCredentials(self._service_account_file, session=self.session)
            return {"Authorization": "Bearer %s" % self._google.token(force=force_refresh)}
        if self.auth_type == "oauth2":
            with self._auth_lock:
                if not self._token:
                    self._oauth_login()
                return {"Authorization": "Bearer %s" % self._token}
        return {}

    def _proxies_for(self, url):
        """The environment's proxies for url's scheme and host (NO_PROXY honoured), read once per host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._proxies.get(key)
        if found is None:
            found = requests.utils.get_environ_proxies(url) if requests is not None else {}
            self._proxies[key] = found
        return found

    def _oauth_token_request(self, form):
        url = self.login_url + "/oauth/token"
        headers = {
            "Authorization": EDGE_CLIENT_AUTH,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json;charset=utf-8",
        }
        self._count()
        try:
            resp = self.session.post(url, data=form, headers=headers, timeout=self.timeout, verify=self._verify,
                                     proxies=self._proxies_for(url))
        except requests.exceptions.RequestException as exc:
            raise MtlsError("cannot reach the Apigee login service at %s: %s" % (url, _plain_conn_error(exc)),
                            url=url) from None
        return url, resp

    def _oauth_login(self):
        if self._passcode:
            # a SAML (or LDAP) org: the one-time passcode stands for user and password (management-api-tokens)
            form = {"grant_type": "password", "passcode": self._passcode}
            self._passcode, used = None, True  # one-time: never sent twice
        else:
            form = {"grant_type": "password", "username": self.username or "", "password": self._password or ""}
            used = False
        if self._mfa_token and not used:
            form["mfa_token"] = self._mfa_token
        url, resp = self._oauth_token_request(form)
        if resp.status_code != 200:
            body = _safe_json(resp)
            code, message = _apigee_error_fields(body)
            said = ": " + message if message else ""
            if used:
                raise ApigeeApiError(
                    "OAuth2 login with a passcode failed at %s (HTTP %s%s): a passcode is one-time and short-lived; "
                    "get a new one from https://<zone>.login.apigee.com/passcode (apigee_passcode / APIGEE_PASSCODE) "
                    "and check apigee_login_url names your SSO zone" % (url, resp.status_code, said),
                    status=resp.status_code, code=code, apigee_message=message, method="POST", url=url)
            hint = " (an MFA code is one-time: give a fresh apigee_mfa_token)" if self._mfa_token else ""
            raise ApigeeApiError(
                "OAuth2 login failed for user %s at %s (HTTP %s%s): check apigee_username/apigee_password%s"
                % (self.username, url, resp.status_code, said, hint),
                status=resp.status_code, code=code, apigee_message=message, method="POST", url=url)
        self._take_token(resp, url)
        self._mfa_token = None if used else self._mfa_token

    def login(self) -> dict:
        """Exchange the credentials for tokens now (once), for clients of later module runs: {"access_token",
        "refresh_token", "expires_in"}. Only for OAuth2 (a passcode, an MFA code, or user and password)."""
        if self.auth_type != "oauth2":
            raise MtlsError("a login gives tokens only for OAuth2 (a passcode, an MFA code, or auth_type oauth2); "
                            "this client uses %s" % self.auth_type)
        with self._auth_lock:
            if not self._token:
                self._oauth_login()
        return {"access_token": self._token, "refresh_token": self._refresh_token,
                "expires_in": self._expires_in}

    def _oauth_refresh(self):
        """Refresh the access token once (refresh grant, else a new password grant). False when impossible."""
        with self._auth_lock:
            if self._refresh_token:
                self._token_refresh_tried = True
                url, resp = self._oauth_token_request(
                    {"grant_type": "refresh_token", "refresh_token": self._refresh_token})
                if resp.status_code == 200:
                    self._take_token(resp, url)
                    return True
                self._refresh_token = None
            if self._mfa_token or self.auth_type == "token" or not (self.username and self._password):
                # a one-time code (MFA, passcode) cannot be replayed, and a given token has no password behind it
                return False
            self._token = None
            self._oauth_login()
            return True

    def _take_token(self, resp, url):
        body = _safe_json(resp)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise MtlsError("the Apigee login service at %s answered without an access_token" % url)
        self._token = body["access_token"]
        self._refresh_token = body.get("refresh_token")
        self._expires_in = body.get("expires_in")

    # ------------------------------------------------------------------ core request
    def _count(self):
        with self._lock:
            self.request_count += 1

    def _request(self, method, path, params=None, json=None, data=None, files=None, headers=None,
                 accept="application/json", retry=None):
        method = method.upper()
        url = self.url(path)
        may_retry = (method in SAFE_METHODS) if retry is None else bool(retry)
        attempt = 0
        waited = 0.0
        refreshed = False
        force = False
        while True:
            hdrs = {"Accept": accept}
            hdrs.update(self._auth_headers(force_refresh=force))
            force = False
            if headers:
                hdrs.update(headers)
            auth = None
            if self.auth_type == "basic":
                auth = (self.username or "", self._password or "")
            self._count()
            try:
                resp = self.session.request(method, url, params=params, json=json, data=data, files=files,
                                            headers=hdrs, auth=auth, timeout=self.timeout, verify=self._verify,
                                            proxies=self._proxies_for(url))
            except requests.exceptions.RequestException as exc:
                if may_retry and attempt < self.retries and _dropped(exc):
                    # the server closed a connection it had accepted: a safe request is sent again
                    wait = self.backoff * (2 ** attempt)
                    if waited + wait <= MAX_TOTAL_WAIT:
                        attempt += 1
                        waited += wait
                        with self._lock:
                            self.retry_count += 1
                        self._sleep(wait)
                        continue
                raise MtlsError("cannot reach the Apigee management API at %s (%s %s): %s"
                                % (self.mgmt_url, method, url, _plain_conn_error(exc)),
                                url=url, method=method) from None
            if resp.status_code == 401 and not refreshed and self.auth_type == "google":
                refreshed = force = True   # Google refused the token: a new one, once
                continue
            if resp.status_code == 401 and not refreshed and (
                    self.auth_type == "oauth2" or (self.auth_type == "token" and self._refresh_token)):
                refreshed = True
                if self._oauth_refresh():
                    continue
            if resp.status_code in RETRY_STATUSES and may_retry and attempt < self.retries:
                asked = _parse_retry_after(resp.headers.get("Retry-After"))
                wait = asked if asked is not None else self.backoff * (2 ** attempt) * (1 + random.random() * 0.25)
                if asked is not None and (asked > MAX_RETRY_AFTER or waited + asked > MAX_TOTAL_WAIT):
                    raise self._error(method, url, path, resp, retry_after=asked)
                wait = min(wait, MAX_RETRY_AFTER, max(0.0, MAX_TOTAL_WAIT - waited))
                waited += wait
                attempt += 1
                with self._lock:
                    self.retry_count += 1
                self._sleep(wait)
                continue
            if resp.status_code >= 400:
                raise self._error(method, url, path, resp)
            return resp

    def _error(self, method, url, path, resp, retry_after=None):
        body = _safe_json(resp)
        code, message = _apigee_error_fields(body)
        status = resp.status_code
        said = (": %s" % message) if message else ""
        if self.platform != "edge" and status in (401, 403, 404):
            text = self._google_error_text(method, url, path, status, said, body, code)
        elif status == 401:
            if self.auth_type == "token":
                text = ("authentication failed with the given bearer token at %s (HTTP 401%s): the token is invalid "
                        "or expired%s; get a new apigee_token" % (
                            self.mgmt_url, said, " and its refresh token was refused" if self._token_refresh_tried
                            else ""))
            elif not self.username:
                text = ("authentication failed at %s (HTTP 401%s): the access token of the passcode login expired and "
                        "could not be refreshed; get a new passcode (apigee_passcode)" % (self.mgmt_url, said))
            else:
                text = ("authentication failed for user %s at %s (HTTP 401%s): check apigee_username/apigee_password"
                        % (self.username, self.mgmt_url, said))
        elif status == 403:
            text = ("permission denied for %s on %s %s (HTTP 403%s): the account needs a role that may read/write "
                    "this resource in org %s" % (self.username or "the token", method, url, said, self.org))
        elif status == 404:
            text = "not found: %s %s (HTTP 404%s)%s" % (method, url, said, self._not_found_hint(path, code))
        elif retry_after is not None:
            text = ("%s by Apigee on %s %s (HTTP %s%s): it asks to wait %d s (Retry-After), longer than this run "
                    "waits (%d s at most); try again later" % ("rate limited" if status == 429 else "refused for now",
                                                             method, url, status, said, retry_after, MAX_TOTAL_WAIT))
        elif status == 429:
            text = "rate limited by Apigee on %s %s (HTTP 429%s) after %d retries" % (method, url, said, self.retries)
        elif status >= 500:
            text = "the Apigee management API failed on %s %s (HTTP %s%s)" % (method, url, status, said)
        else:
            text = "Apigee refused %s %s (HTTP %s%s)" % (method, url, status, said)
        if code:
            text += " [%s]" % code
        return ApigeeApiError(text, status=status, code=code, apigee_message=message, method=method, url=url)

    def _google_error_text(self, method, url, path, status, said, body, code):
        """Apigee X / hybrid errors in plain words (Google's {"error": {"code", "message", "status", "details"}})."""
        reasons = {d.get("reason") for d in ((body or {}).get("error") or {}).get("details") or []
                   if isinstance(d, dict)} if isinstance(body, dict) and isinstance(body.get("error"), dict) else set()
        who = "the access token" if self.auth_type == "token" else (
            self._google.account or self._google.source) if self._google is not None else "the credentials"
        if status == 401:
            return ("authentication failed at %s (HTTP 401%s): %s %s" % (
                self.mgmt_url, said, who, "is invalid or expired; get a new token (gcloud auth print-access-token)"
                if self.auth_type == "token" else "was refused even after a refresh"))
        if status == 403 and "SERVICE_DISABLED" in reasons:
            return ("the Apigee API is not enabled in Google Cloud project %s (HTTP 403%s): enable it (gcloud services "
                    "enable apigee.googleapis.com --project %s)" % (self.org, said, self.org))
        if status == 403 and (self._norm(path) == "/" or '"organizations/%s"' % self.org in said):
            # the organization itself refused (Google names the resource it refused in its message)
            return ("permission denied for %s on %s %s (HTTP 403%s): Google Cloud project %r does not exist, is not an "
                    "Apigee organization, or the account may not read it (Google answers all three alike); check "
                    "apigee_org (the project ID) and the account's role (roles/apigee.readOnlyAdmin to diagnose, "
                    "roles/apigee.admin to fix)" % (who, method, url, said, self.org))
        if status == 403:
            return ("permission denied for %s on %s %s (HTTP 403%s): in project %s it needs a role with this "
                    "permission, such as roles/apigee.admin (or roles/apigee.environmentAdmin for an environment's "
                    "keystores, references and target servers; roles/apigee.readOnlyAdmin to diagnose only)"
                    % (who, method, url, said, self.org))
        hint = self._not_found_hint(path, code)
        if hint.startswith(": does organization"):
            hint = (": is Google Cloud project %r an Apigee organization (the organization is the project ID) at %s?"
                    % (self.org, self.mgmt_url))
        return "not found: %s %s (HTTP 404%s)%s" % (method, url, said, hint)

    def _not_found_hint(self, path, code):
        norm = self._norm(path)
        code = code or ""
        if norm == "/" or "organization" in code.lower() and "environment" not in code.lower():
            return ": does organization %r exist at %s?" % (self.org, self.mgmt_url)
        segs = norm.strip("/").split("/")
        if len(segs) >= 2 and segs[0] == "environments" and (len(segs) == 2 or "environment" in code.lower()):
            return ": does environment %r exist in organization %r?" % (segs[1], self.org)
        return ""

    # ------------------------------------------------------------------ public API
    def get(self, path, params=None, cache=True):
        """GET a JSON resource; cached for the life of the client unless cache=False. 404s are cached too."""
        if not cache:
            return self._parse(self._request("GET", path, params=params), path)
        return self._cached(self._cache_key(path, params),
                            lambda: self._parse(self._request("GET", path, params=params), path))

    def _cached(self, key, fetch):
        """One fetch per key for the life of the client, even under concurrency; 404 answers are cached too."""
        while True:
            with self._lock:
                if key in self._cache:
                    kind, value = self._cache[key]
                    if kind == "err":
                        raise value
                    return copy.deepcopy(value)
                event = self._inflight.get(key)
                if event is None:
                    event = threading.Event()
                    self._inflight[key] = event
                    owner = True
                else:
                    owner = False
            if not owner:
                event.wait()
                continue
            try:
                try:
                    value = fetch()
                except ApigeeApiError as exc:
                    if exc.status == 404:
                        with self._lock:
                            self._cache[key] = ("err", exc)
                    raise
                with self._lock:
                    self._cache[key] = ("ok", value)
                return copy.deepcopy(value)
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
                event.set()

    def get_raw(self, path, params=None, headers=None, cache=False):
        """GET bytes (revision bundles, certificate exports); cached for the run only when cache=True."""
        accept = (headers or {}).get("Accept", "*/*")
        if not cache:
            return self._request("GET", path, params=params, headers=headers, accept=accept).content
        return self._cached(("raw",) + self._cache_key(path, params),
                            lambda: self._request("GET", path, params=params, headers=headers, accept=accept).content)

    def post(self, path, json=None, data=None, files=None, params=None, headers=None, idempotent=False):
        try:
            return self._parse(self._request("POST", path, params=params, json=json, data=data, files=files,
                                             headers=headers, retry=idempotent), path, allow_empty=True)
        finally:
            self._invalidate_write(path)

    def put(self, path, json=None, data=None, files=None, params=None, headers=None):
        try:
            return self._parse(self._request("PUT", path, params=params, json=json, data=data, files=files,
                                             headers=headers), path, allow_empty=True)
        finally:
            self._invalidate_write(path)

    def delete(self, path, json=None, data=None, files=None, params=None, headers=None):
        try:
            return self._parse(self._request("DELETE", path, params=params, json=json, data=data, files=files,
                                             headers=headers), path, allow_empty=True)
        finally:
            self._invalidate_write(path)

    def invalidate(self, prefix=""):
        """Drop cached GET results whose path starts with prefix (all of them for an empty prefix)."""
        prefix = self._norm(prefix)
        with self._lock:
            for key in list(self._cache):
                cached = key[1] if key[0] == "raw" else key[0]
                if prefix == "/" or cached == prefix or cached.startswith(prefix + "/"):
                    del self._cache[key]

    def _invalidate_write(self, path):
        """A write to P invalidates P, everything under it, and every parent listing of P."""
        norm = self._norm(path)
        self.invalidate(norm)
        with self._lock:
            for key in list(self._cache):
                cached = key[1] if key[0] == "raw" else key[0]
                if cached == "/" or norm.startswith(cached + "/"):
                    del self._cache[key]

    @property
    def cache_size(self):
        with self._lock:
            return len(self._cache)

    def stats(self):
        """What every module returns: how many HTTP requests were made (token requests and retries included)."""
        with self._lock:
            return {"api_requests": self.request_count, "api_retries": self.retry_count,
                    "cached_resources": len(self._cache)}

    @staticmethod
    def _parse(resp, path, allow_empty=False):
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            if allow_empty:
                return resp.text
            raise MtlsError("the Apigee management API answered GET %s with something that is not JSON"
                            % path) from None


def _safe_json(resp):
    try:
        return resp.json()
    except ValueError:
        try:
            text = resp.text
        except Exception:  # pragma: no cover - defensive
            return None
        try:
            return _json.loads(text)
        except ValueError:
            return None


def _dropped(exc) -> bool:
    """True when an established connection was closed or reset (worth sending a safe request again); False for a host
    that cannot be reached at all, a TLS failure or a timeout (retrying those only delays a clear error)."""
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
            exc, requests.exceptions.SSLError | requests.exceptions.Timeout):
        return False
    text = str(exc)
    return any(word in text for word in ("Connection aborted", "RemoteDisconnected", "Connection reset",
                                          "ConnectionResetError", "BrokenPipe", "IncompleteRead"))


def _plain_conn_error(exc):
    """A short, secret-free description of a requests connection error."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (certificate not trusted? set ca_path, or validate_certs: false for a lab)"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer within the timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Connection refused" in text:
            return "connection refused"
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "host name does not resolve"
        return "connection failed"
    return exc.__class__.__name__
