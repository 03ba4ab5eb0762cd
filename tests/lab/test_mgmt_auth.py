"""Management API emulator: HTTP Basic, OAuth2 like login.apigee.com (password / refresh grants, MFA), token expiry,
errors in Apigee's and UAA's shapes."""
from __future__ import annotations

import base64

import pytest
from apigee_lab.auth import User, totp

from tests.contract.mgmt_support import BASIC, DEFAULT_USER, EDGECLI, make_app, user

TOKEN_URL = "/oauth/token"
PASSWORD_FORM = {"grant_type": "password", "username": "lab-admin@example.com", "password": "Lab-Passw0rd!"}


class Clock:
    def __init__(self, t=1_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def client(tmp_path, clock):
    secret = base64.b32encode(b"0123456789abcdef0123").decode()
    app = make_app(tmp_path, token_ttl=60, refresh_ttl=600, clock=clock,
                   users=[user(), user("mfa@example.com", "Mfa-Passw0rd!", mfa_secret=secret),
                          user("outsider@example.com", "Out-Passw0rd!", orgs=("other",))])
    app.config["MFA_SECRET"] = secret
    return app.test_client()


def test_basic_auth_ok_and_missing_or_wrong_credentials(client):
    assert client.get("/v1/organizations/lab", headers=BASIC).status_code == 200
    resp = client.get("/v1/organizations/lab")
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "security.AuthenticationRequired"
    assert resp.get_json()["contexts"] == []
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    bad = {"Authorization": "Basic " + base64.b64encode(b"lab-admin@example.com:wrong").decode()}
    resp = client.get("/v1/organizations/lab", headers=bad)
    assert resp.status_code == 401
    assert "wrong" not in resp.get_data(as_text=True)


def test_user_of_another_org_gets_403(client):
    hdr = {"Authorization": "Basic " + base64.b64encode(b"outsider@example.com:Out-Passw0rd!").decode()}
    resp = client.get("/v1/o/lab/environments", headers=hdr)
    assert resp.status_code == 403
    assert set(resp.get_json()) == {"code", "message", "contexts"}


def test_password_grant_gives_a_working_bearer_token(client):
    resp = client.post(TOKEN_URL, data=PASSWORD_FORM, headers=EDGECLI)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 60
    assert body["access_token"] and body["refresh_token"] and body["access_token"] != body["refresh_token"]
    assert resp.headers["Cache-Control"] == "no-store"
    ok = client.get("/v1/o/lab/e/test/keystores", headers={"Authorization": "Bearer " + body["access_token"]})
    assert ok.status_code == 200 and ok.get_json() == []


def test_token_endpoint_requires_the_edgecli_client(client):
    assert client.post(TOKEN_URL, data=PASSWORD_FORM).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"edgecli:nope").decode()}
    resp = client.post(TOKEN_URL, data=PASSWORD_FORM, headers=wrong)
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "unauthorized", "error_description": "Bad credentials"}


def test_bad_password_and_unknown_grant(client):
    resp = client.post(TOKEN_URL, data=dict(PASSWORD_FORM, password="nope"), headers=EDGECLI)
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    resp = client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=EDGECLI)
    assert resp.status_code == 400 and resp.get_json()["error"] == "unsupported_grant_type"


def test_bearer_token_expires_and_refresh_grant_renews_it(client, clock):
    body = client.post(TOKEN_URL, data=PASSWORD_FORM, headers=EDGECLI).get_json()
    bearer = {"Authorization": "Bearer " + body["access_token"]}
    assert client.get("/v1/o/lab", headers=bearer).status_code == 200
    clock.t += 61
    resp = client.get("/v1/o/lab", headers=bearer)
    assert resp.status_code == 401
    assert resp.get_json()["code"] == "security.AccessTokenExpired"
    fresh = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                        headers=EDGECLI)
    assert fresh.status_code == 200
    new = fresh.get_json()
    assert new["access_token"] != body["access_token"]
    assert client.get("/v1/o/lab", headers={"Authorization": "Bearer " + new["access_token"]}).status_code == 200
    # a refresh token is single use
    again = client.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                        headers=EDGECLI)
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_token"


def test_unknown_bearer_token(client):
    resp = client.get("/v1/o/lab", headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 401 and resp.get_json()["code"] == "security.InvalidAccessToken"


def test_mfa_user_needs_a_current_totp_code_and_cannot_use_basic(client, clock):
    secret = client.application.config["MFA_SECRET"]
    form = {"grant_type": "password", "username": "mfa@example.com", "password": "Mfa-Passw0rd!"}
    assert client.post(TOKEN_URL, data=form, headers=EDGECLI).status_code == 401
    wrong = "000000" if totp(secret, clock.t) != "000000" else "111111"
    assert client.post(TOKEN_URL + "?mfa_token=" + wrong, data=form, headers=EDGECLI).status_code == 401
    ok = client.post(TOKEN_URL + "?mfa_token=" + totp(secret, clock.t), data=form, headers=EDGECLI)
    assert ok.status_code == 200
    basic = {"Authorization": "Basic " + base64.b64encode(b"mfa@example.com:Mfa-Passw0rd!").decode()}
    assert client.get("/v1/o/lab", headers=basic).status_code == 401


def test_totp_matches_rfc6238_vector():
    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T=59 -> 94287082 (8 digits)
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, 59, digits=8) == "94287082"
    assert totp(secret, 1111111109, digits=8) == "07081804"


def test_an_sso_user_logs_in_with_a_one_time_passcode_only(tmp_path, clock):
    """docs.apigee.com management-api-tokens: a SAML org's users get a one-time passcode from
    https://<zone>.login.apigee.com/passcode and send it as `passcode` with grant_type=password instead of a user name
    and password. Used once, it is gone; it also expires."""
    from apigee_lab.auth import Authenticator, AuthError

    app = make_app(tmp_path, clock=clock, users=[user(), User("sso@example.com", "never-used", orgs=("lab",),
                                                              sso=True)])
    web = app.test_client()
    code = web.post("/_lab/passcode", json={"user": "sso@example.com"}).get_json()["passcode"]
    form = {"grant_type": "password", "passcode": code}
    resp = web.post(TOKEN_URL, data=form, headers=EDGECLI)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    token = resp.get_json()["access_token"]
    assert web.get("/v1/organizations/lab", headers={"Authorization": "Bearer " + token}).status_code == 200
    again = web.post(TOKEN_URL, data=form, headers=EDGECLI)
    assert again.status_code == 401 and again.get_json()["error"] == "unauthorized"
    # no password login for an SSO user, neither Basic nor the password grant
    basic = {"Authorization": "Basic " + base64.b64encode(b"sso@example.com:never-used").decode()}
    assert web.get("/v1/organizations/lab", headers=basic).status_code == 401
    pw = web.post(TOKEN_URL, data={"grant_type": "password", "username": "sso@example.com",
                                    "password": "never-used"}, headers=EDGECLI)
    assert pw.status_code == 401
    # an expired passcode
    late = web.post("/_lab/passcode", json={"user": "sso@example.com"}).get_json()
    clock.t += late["expires_in"] + 1
    assert web.post(TOKEN_URL, data={"grant_type": "password", "passcode": late["passcode"]},
                    headers=EDGECLI).status_code == 401
    with pytest.raises(AuthError):
        Authenticator([user()]).issue_passcode(DEFAULT_USER)  # a password user has no passcodes
