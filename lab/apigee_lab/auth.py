"""Authentication for the management API emulator, as Apigee Edge does it.

- HTTP Basic with the user's e-mail and password (refused for users with MFA, as on Edge: they must use OAuth2).
- OAuth2 like ``login.apigee.com`` (a Cloud Foundry UAA): ``POST /oauth/token`` with the public client header
  ``Authorization: Basic base64(edgecli:edgeclisecret)``, form ``grant_type=password&username=...&password=...`` and an
  optional ``mfa_token`` (query parameter, as Apigee documents, or form field), or ``grant_type=refresh_token``.
  Answers are UAA's: ``{"access_token", "token_type": "bearer", "refresh_token", "expires_in", "scope", "jti"}`` and,
  on failure, ``{"error": "...", "error_description": "..."}`` with 400/401.
- SAML (SSO) users have no password: Basic and the password grant with a user name are refused; they log in with a
  one-time passcode (``grant_type=password&passcode=...``, as docs.apigee.com management-api-tokens documents), got
  from ``https://<zone>.login.apigee.com/passcode`` after the SSO login (the lab: ``POST /_lab/passcode`` or ``labctl
  passcode``). A passcode works once and expires after ``passcode_ttl`` seconds (the lab's choice: 300).
- Bearer tokens expire after a configurable TTL (Edge: 1799 s); refresh tokens after a longer one.

Tokens live in memory (a restart logs everybody out, as a token service restart would); only SHA-256 digests of the
tokens are kept. MFA codes are real TOTP codes (RFC 6238, 30 s, 6 digits, SHA-1) from a per-user base32 secret.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field

EDGE_CLIENT_ID = "edgecli"
EDGE_CLIENT_SECRET = "edgeclisecret"
UAA_SCOPE = "scim.me openid password.write approvals.me oauth.approvals"


def totp(secret_b32: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP code for a base32 secret."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return str(code).zfill(digits)


@dataclass
class User:
    email: str
    password: str = field(repr=False)
    orgs: tuple = ()
    mfa_secret: str | None = field(default=None, repr=False)
    sso: bool = False  # a SAML user: no password login, one-time passcodes only


class AuthError(Exception):
    """A failed authentication: status, and either an Edge error code or a UAA error."""

    def __init__(self, status: int, code: str, message: str, uaa: bool = False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.uaa = uaa


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Authenticator:
    """Users, OAuth2 tokens and the checks the management API runs on every /v1 request."""

    def __init__(self, users: list[User], token_ttl: int = 1799, refresh_ttl: int = 86400, clock=time.time,
                 passcode_ttl: int = 300, platform: str = "edge", service_accounts: dict | None = None):
        self.platform = platform
        # Apigee X / hybrid: service account email -> its public facts (google_token.make_service_account)
        self.service_accounts = dict(service_accounts or {})
        users = list(users) + [User(email, secrets.token_urlsafe(24), orgs=tuple(facts.get("orgs") or ()))
                               for email, facts in self.service_accounts.items()]
        self.users = {u.email.lower(): u for u in users}
        self.token_ttl = int(token_ttl)
        self.refresh_ttl = int(refresh_ttl)
        self.clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, tuple[str, float]] = {}
        self._refresh: dict[str, tuple[str, float]] = {}
        self._passcodes: dict[str, tuple[str, float]] = {}
        self.passcode_ttl = int(passcode_ttl)

    # ------------------------------------------------------------------ credentials
    def _check_password(self, email: str, password: str) -> User | None:
        user = self.users.get((email or "").lower())
        if user is None:
            hmac.compare_digest(password or "", "x" * 12)   # same work whether or not the user exists
            return None
        if user.sso or not hmac.compare_digest((password or "").encode(), user.password.encode()):
            return None
        return user

    def issue_passcode(self, email: str) -> str:
        """A one-time passcode for an SSO user (what the zone's /passcode page shows after the SSO login)."""
        user = self.users.get((email or "").lower())
        if user is None or not user.sso:
            raise AuthError(400, "invalid_request", "%s is not an SSO user" % email, uaa=True)
        code = secrets.token_hex(4)
        with self._lock:
            self._passcodes[_digest(code)] = (user.email, self.clock() + self.passcode_ttl)
        return code

    def _check_mfa(self, user: User, code: str | None) -> bool:
        if not user.mfa_secret:
            return True
        if not code:
            return False
        now = self.clock()
        return any(hmac.compare_digest(code, totp(user.mfa_secret, now + d)) for d in (-30, 0, 30))

    # ------------------------------------------------------------------ /oauth/token
    def token_endpoint(self, client_header: str | None, form: dict, query: dict) -> dict:
        """Handle POST /oauth/token; returns the UAA token body or raises AuthError(uaa=True)."""
        if not client_header or not client_header.startswith("Basic "):
            raise AuthError(401, "unauthorized", "Full authentication is required to access this resource", uaa=True)
        try:
            client = base64.b64decode(client_header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise AuthError(401, "unauthorized", "Bad credentials", uaa=True) from None
        if client != "%s:%s" % (EDGE_CLIENT_ID, EDGE_CLIENT_SECRET):
            raise AuthError(401, "unauthorized", "Bad credentials", uaa=True)
        grant = form.get("grant_type")
        if grant == "password" and form.get("passcode"):
            with self._lock:
                entry = self._passcodes.pop(_digest(form["passcode"]), None)  # one-time
            if entry is None or entry[1] < self.clock():
                raise AuthError(401, "unauthorized", "Invalid passcode (used, expired or unknown)", uaa=True)
            return self._issue(entry[0])
        if grant == "password":
            user = self._check_password(form.get("username", ""), form.get("password", ""))
            if user is None:
                raise AuthError(401, "unauthorized", "Bad credentials", uaa=True)
            mfa = query.get("mfa_token") or form.get("mfa_token")
            if not self._check_mfa(user, mfa):
                raise AuthError(401, "unauthorized",
                                "Invalid or missing MFA code" if mfa else "MFA code required", uaa=True)
            return self._issue(user.email)
        if grant == "refresh_token":
            token = form.get("refresh_token") or ""
            with self._lock:
                entry = self._refresh.pop(_digest(token), None)
            if entry is None or entry[1] < self.clock():
                raise AuthError(401, "invalid_token", "Invalid refresh token (expired or unknown)", uaa=True)
            return self._issue(entry[0])
        if not grant:
            raise AuthError(400, "invalid_request", "Missing grant type", uaa=True)
        raise AuthError(400, "unsupported_grant_type", "Unsupported grant type: %s" % grant[:40], uaa=True)

    def _issue(self, email: str) -> dict:
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._access[_digest(access)] = (email, now + self.token_ttl)
            self._refresh[_digest(refresh)] = (email, now + self.refresh_ttl)
        return {"access_token": access, "token_type": "bearer", "refresh_token": refresh,
                "expires_in": self.token_ttl, "scope": UAA_SCOPE, "jti": str(uuid.uuid4())}

    def google_token(self, form: dict) -> dict:
        """Google's token endpoint for a service account's JWT bearer assertion (google_token.py)."""
        from .google_token import GRANT, TokenError, verify_assertion
        if form.get("grant_type") != GRANT:
            raise AuthError(400, "unsupported_grant_type", "Invalid grant_type: %s" % str(form.get("grant_type"))[:60],
                            uaa=True)
        try:
            email = verify_assertion(form.get("assertion") or "", self.service_accounts,
                                     next(iter(self.service_accounts.values()))["token_uri"]
                                     if self.service_accounts else "", now=self.clock())
        except TokenError as exc:
            raise AuthError(exc.status, exc.error, exc.description, uaa=True) from None
        access = "ya29.lab-" + secrets.token_urlsafe(32)
        with self._lock:
            self._access[_digest(access)] = (email, self.clock() + 3599)
        return {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    # ------------------------------------------------------------------ /v1 requests
    def authenticate(self, authorization: str | None) -> User:
        """The user behind an Authorization header, or AuthError(401)."""
        if self.platform != "edge":
            scheme = (authorization or "").partition(" ")[0].lower()
            if scheme != "bearer":
                raise AuthError(401, "UNAUTHENTICATED", "Request is missing required authentication credential. "
                                "Expected OAuth 2 access token, login cookie or other valid authentication "
                                "credential.")
        if not authorization:
            raise AuthError(401, "security.AuthenticationRequired",
                            "Authentication is required: use HTTP Basic or an OAuth2 bearer token")
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                email, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise AuthError(401, "security.InvalidCredentials", "Malformed Basic credentials") from None
            user = self._check_password(email, password)
            if user is None:
                raise AuthError(401, "security.InvalidCredentials", "Invalid user name or password")
            if user.mfa_secret:
                raise AuthError(401, "security.MfaRequired",
                                "Basic authentication is not supported for users with MFA: use OAuth2")
            return user
        if scheme == "bearer":
            with self._lock:
                entry = self._access.get(_digest(value.strip()))
            if entry is None:
                raise AuthError(401, "security.InvalidAccessToken", "Invalid access token")
            if entry[1] < self.clock():
                raise AuthError(401, "security.AccessTokenExpired", "Access token expired")
            user = self.users.get(entry[0].lower())
            if user is None:
                raise AuthError(401, "security.InvalidAccessToken", "Invalid access token")
            return user
        raise AuthError(401, "security.UnsupportedAuthenticationScheme",
                        "Unsupported authentication scheme: use Basic or Bearer")
