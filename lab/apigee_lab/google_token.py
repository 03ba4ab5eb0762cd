"""The lab's stand-in for Google's OAuth2 token endpoint (Apigee X / hybrid mode).

``labctl up --platform x`` makes a service account: an RSA key and its JSON key file (``<state>/service-account.json``,
mode 0600, the format the Google Cloud console downloads: ``type``, ``project_id``, ``private_key_id``,
``private_key``, ``client_email``, ``token_uri``), whose ``token_uri`` is this endpoint. A client signs a JWT with the
key (RS256: ``iss`` the account, ``scope``, ``aud`` Google's token endpoint, ``iat``, ``exp`` at most an hour
later) and posts it with ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` (RFC 7523), as google-auth
does; the answer is ``{"access_token", "expires_in", "token_type": "Bearer"}``, errors ``{"error",
"error_description"}`` as Google's.
"""
from __future__ import annotations

import base64
import json
import os
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audience Google's token endpoint requires of the assertion, whatever URI the request is posted to (google-auth
# signs it so: google/oauth2/service_account.py, _GOOGLE_OAUTH2_TOKEN_ENDPOINT)
AUDIENCE = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class TokenError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def make_service_account(path: str, project: str, token_uri: str) -> dict:
    """Write a service account key file (once; kept across `labctl up`) and return its public facts."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
        if info.get("token_uri") == token_uri and info.get("project_id") == project:
            return public_facts(info)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": project, "private_key_id": os.urandom(20).hex(),
            "private_key": pem, "client_email": "mtls-doctor@%s.iam.gserviceaccount.com" % project,
            "client_id": str(int.from_bytes(os.urandom(8), "big")), "token_uri": token_uri}
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    os.replace(tmp, path)
    return public_facts(info)


def public_facts(info: dict) -> dict:
    key = serialization.load_pem_private_key(info["private_key"].encode(), None)
    return {"client_email": info["client_email"], "token_uri": info["token_uri"],
            "public_key_pem": key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()}


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_assertion(assertion: str, accounts: dict, token_uri: str, now: float | None = None) -> str:
    """The service account email of a valid JWT bearer assertion; TokenError as Google words it otherwise."""
    now = time.time() if now is None else now
    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header, claims = json.loads(_b64(head_b64)), json.loads(_b64(body_b64))
        signature = _b64(sig_b64)
    except (ValueError, AttributeError):
        raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable "
                                          "timeframe") from None
    if header.get("alg") != "RS256":
        raise TokenError("invalid_grant", "Invalid JWT Signature.")
    email = claims.get("iss")
    facts = accounts.get(email)
    if facts is None:
        raise TokenError("invalid_grant", "Invalid grant: account not found")
    public = serialization.load_pem_public_key(facts["public_key_pem"].encode())
    try:
        public.verify(signature, ("%s.%s" % (head_b64, body_b64)).encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
    if claims.get("aud") != AUDIENCE:
        raise TokenError("invalid_grant", "Invalid JWT: the audience is not %s" % AUDIENCE)
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float) or exp - iat > 3600 or exp < now \
            or iat > now + 300:
        raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                                          "reasonable timeframe. Check your iat and exp values in the JWT claim.")
    if SCOPE not in str(claims.get("scope") or "").split():
        raise TokenError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    return email
