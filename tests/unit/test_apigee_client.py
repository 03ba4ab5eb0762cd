"""ApigeeClient against a real local HTTP server that plays scripted Edge answers."""
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from ansible.module_utils.mtls.apigee.client import ApigeeClient, _parse_retry_after, apigee_argument_spec
from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError

USER = "ops@example.com"
PASSWORD = "S3cret-Pa55!"


class FakeEdge:
    """Records requests; `routes` maps (method, path) -> list of (status, headers, body) answered in turn."""

    def __init__(self, tls=None):
        self.routes = {}
        self.seen = []
        self.tokens = {"access-1"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                fake.seen.append({"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                                  "headers": dict(self.headers), "body": body})
                answers = fake.routes.get((self.command, parts.path))
                if not answers:
                    status, headers, payload = 404, {}, {"code": "messaging.config.beans.NotFound",
                                                         "message": "no route"}
                elif len(answers) > 1:
                    status, headers, payload = answers.pop(0)
                else:
                    status, headers, payload = answers[0]
                if callable(payload):
                    status, headers, payload = payload(self, body)
                if payload == "DROP":  # the connection was accepted, then closed without an answer
                    self.close_connection = True
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # an ssl.SSLContext of the server
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls is not None else "http", self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def route(self, method, path, *answers):
        self.routes[(method, path)] = list(answers)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def edge():
    fake = FakeEdge()
    yield fake
    fake.close()


def client(edge, **kw):
    args = {"mgmt_url": edge.url, "org": "acme", "username": USER, "password": PASSWORD, "sleep": lambda s: None}
    args.update(kw)
    return ApigeeClient(**args)


def test_argument_spec_marks_secrets_and_env_fallbacks():
    spec = apigee_argument_spec()
    for secret in ("password", "token", "mfa_token", "passcode", "refresh_token"):
        assert spec[secret]["no_log"] is True
    assert spec["org"]["required"] is True
    assert spec["mgmt_url"]["default"] == "https://api.enterprise.apigee.com"
    assert spec["login_url"]["default"] == "https://login.apigee.com"
    assert spec["timeout"]["default"] == 30 and spec["retries"]["default"] == 5
    assert spec["validate_certs"]["type"] == "bool" and spec["validate_certs"]["default"] is True
    for name, env in (("mgmt_url", "APIGEE_MGMT_URL"), ("org", "APIGEE_ORG"), ("password", "APIGEE_PASSWORD"),
                      ("token", "APIGEE_TOKEN"), ("mfa_token", "APIGEE_MFA_TOKEN"),
                      ("passcode", "APIGEE_PASSCODE"), ("refresh_token", "APIGEE_REFRESH_TOKEN"),
                      ("validate_certs", "APIGEE_VALIDATE_CERTS"), ("login_url", "APIGEE_LOGIN_URL")):
        assert spec[name]["fallback"][1] == [env]


def test_argument_spec_env_fallback_through_ansible(monkeypatch):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    monkeypatch.setenv("APIGEE_ORG", "from-env")
    monkeypatch.setenv("APIGEE_PASSWORD", PASSWORD)
    result = ArgumentSpecValidator(apigee_argument_spec()).validate({"username": USER})
    assert result.error_messages == []
    assert result.validated_parameters["org"] == "from-env"
    assert result.validated_parameters["password"] == PASSWORD
    assert PASSWORD in result._no_log_values


def test_basic_auth_get_and_cache(edge):
    edge.route("GET", "/v1/organizations/acme/environments/test/keystores", (200, {}, ["ks1", "ks2"]))
    c = client(edge)
    assert c.get("/environments/test/keystores") == ["ks1", "ks2"]
    assert c.get("environments/test/keystores") == ["ks1", "ks2"]
    assert c.request_count == 1
    auth = edge.seen[0]["headers"]["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == "%s:%s" % (USER, PASSWORD)
    # cache=False always goes to the server
    c.get("/environments/test/keystores", cache=False)
    assert c.request_count == 2


def test_cached_results_are_copies(edge):
    edge.route("GET", "/v1/organizations/acme/environments/test/references/r", (200, {}, {"refers": "ks"}))
    c = client(edge)
    first = c.get("/environments/test/references/r")
    first["refers"] = "mutated"
    assert c.get("/environments/test/references/r")["refers"] == "ks"


def test_concurrent_gets_of_one_resource_make_one_request(edge):
    edge.route("GET", "/v1/organizations/acme/environments/test/keystores/ks", (200, {}, {"name": "ks"}))
    c = client(edge)
    threads = [threading.Thread(target=c.get, args=("/environments/test/keystores/ks",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.request_count == 1


def test_404_is_cached_and_names_org(edge):
    edge.route("GET", "/v1/organizations/acme/environments/test/references/nope",
               (404, {}, {"code": "keymanagement.service.ReferenceDoesNotExist",
                          "message": "Reference nope does not exist"}))
    c = client(edge)
    for _ in range(3):
        with pytest.raises(ApigeeApiError) as err:
            c.get("/environments/test/references/nope")
        assert err.value.status == 404
        assert err.value.code == "keymanagement.service.ReferenceDoesNotExist"
        assert err.value.apigee_message == "Reference nope does not exist"
    assert c.request_count == 1
    with pytest.raises(ApigeeApiError) as err:
        c.get("")
    assert "organization 'acme'" in str(err.value)
    with pytest.raises(ApigeeApiError) as err:
        c.get("/environments/nosuch")
    assert "environment 'nosuch'" in str(err.value)


def test_401_in_plain_words_without_the_password(edge):
    edge.route("GET", "/v1/organizations/acme", (401, {}, {"code": "Unauthorized", "message": "bad credentials"}))
    c = client(edge, password="wrong-password-xyz")
    with pytest.raises(ApigeeApiError) as err:
        c.get("")
    text = str(err.value)
    assert err.value.status == 401
    assert "authentication failed for user %s at %s" % (USER, edge.url) in text
    assert "check apigee_username/apigee_password" in text
    assert "wrong-password-xyz" not in text and "wrong-password-xyz" not in repr(err.value.__dict__)


def test_retry_honours_retry_after_for_get(edge):
    waits = []
    edge.route("GET", "/v1/organizations/acme/environments",
               (429, {"Retry-After": "7"}, {"message": "slow down"}),
               (503, {}, {"message": "busy"}),
               (200, {}, ["test"]))
    c = client(edge, sleep=waits.append, backoff=0.5)
    assert c.get("/environments") == ["test"]
    assert c.request_count == 3
    assert waits[0] == 7.0
    assert 0.5 <= waits[1] <= 0.5 * 2 * 1.25


def test_retries_exhausted_raise(edge):
    edge.route("GET", "/v1/organizations/acme/environments", (500, {}, {"message": "boom"}))
    c = client(edge, retries=2)
    with pytest.raises(ApigeeApiError) as err:
        c.get("/environments")
    assert err.value.status == 500 and c.request_count == 3


def test_post_is_not_retried_unless_idempotent(edge):
    edge.route("POST", "/v1/organizations/acme/environments/test/keystores",
               (503, {}, {"message": "busy"}), (201, {}, {"name": "k"}))
    c = client(edge)
    with pytest.raises(ApigeeApiError):
        c.post("/environments/test/keystores", json={"name": "k"})
    assert c.request_count == 1
    assert c.post("/environments/test/keystores", json={"name": "k"}, idempotent=True) == {"name": "k"}


def test_put_is_retried(edge):
    path = "/v1/organizations/acme/environments/test/references/r"
    edge.route("PUT", path, (502, {}, b""), (200, {}, {"name": "r", "refers": "ks2"}))
    c = client(edge)
    assert c.put("/environments/test/references/r", json={"refers": "ks2"})["refers"] == "ks2"
    assert c.request_count == 2


def test_writes_invalidate_the_cache(edge):
    base = "/v1/organizations/acme/environments/test/keystores"
    edge.route("GET", base, (200, {}, ["a"]), (200, {}, ["a", "b"]))
    edge.route("GET", base + "/b", (404, {}, {"message": "no"}), (200, {}, {"name": "b"}))
    edge.route("POST", base, (201, {}, {"name": "b"}))
    c = client(edge)
    assert c.get("/environments/test/keystores") == ["a"]
    with pytest.raises(ApigeeApiError):
        c.get("/environments/test/keystores/b")
    c.post("/environments/test/keystores", json={"name": "b"})
    assert c.get("/environments/test/keystores") == ["a", "b"]
    # writing the parent invalidates children too
    assert c.get("/environments/test/keystores/b") == {"name": "b"}


def test_invalidate_prefix(edge):
    base = "/v1/organizations/acme/environments/test"
    edge.route("GET", base + "/references", (200, {}, ["r"]))
    edge.route("GET", base + "/keystores", (200, {}, ["k"]))
    c = client(edge)
    c.get("/environments/test/references")
    c.get("/environments/test/keystores")
    c.invalidate("/environments/test/references")
    c.get("/environments/test/references")
    c.get("/environments/test/keystores")
    assert c.request_count == 3


def test_get_raw_returns_bytes(edge):
    edge.route("GET", "/v1/organizations/acme/apis/p/revisions/1",
               (200, {"Content-Type": "application/octet-stream"}, b"PK\x03\x04zip"))
    c = client(edge)
    assert c.get_raw("/apis/p/revisions/1", params={"format": "bundle"}) == b"PK\x03\x04zip"
    assert edge.seen[0]["query"] == {"format": ["bundle"]}


def test_bearer_token(edge):
    edge.route("GET", "/v1/organizations/acme", (200, {}, {"name": "acme"}))
    c = client(edge, username=None, password=None, token="tok-123")
    assert c.get("") == {"name": "acme"}
    assert edge.seen[0]["headers"]["Authorization"] == "Bearer tok-123"


def test_bearer_token_rejected_in_plain_words(edge):
    edge.route("GET", "/v1/organizations/acme", (401, {}, {"message": "expired"}))
    c = client(edge, username=None, password=None, token="tok-123")
    with pytest.raises(ApigeeApiError) as err:
        c.get("")
    assert "bearer token" in str(err.value) and "tok-123" not in str(err.value)


def _token_endpoint(edge, issued):
    def answer(handler, body):
        form = parse_qs(body.decode())
        issued.append(form)
        assert handler.headers["Authorization"] == "Basic ZWRnZWNsaTplZGdlY2xpc2VjcmV0"
        grant = form["grant_type"][0]
        if grant == "password" and form.get("password") == [PASSWORD]:
            return 200, {}, {"access_token": "access-%d" % len(issued), "refresh_token": "refresh-1"}
        if grant == "refresh_token" and form.get("refresh_token") == ["refresh-1"]:
            return 200, {}, {"access_token": "access-%d" % len(issued), "refresh_token": "refresh-1"}
        return 401, {}, {"error": "unauthorized", "error_description": "Bad credentials"}
    edge.route("POST", "/oauth/token", (200, {}, answer))


def test_oauth2_password_grant_with_mfa_and_refresh_once(edge):
    issued = []
    _token_endpoint(edge, issued)

    def org(handler, body):
        if handler.headers.get("Authorization") == "Bearer access-2":
            return 200, {}, {"name": "acme"}
        return 401, {}, {"message": "token expired"}
    edge.route("GET", "/v1/organizations/acme", (200, {}, org))
    c = client(edge, login_url=edge.url, mfa_token="123456")
    assert c.auth_type == "oauth2"
    assert c.get("") == {"name": "acme"}
    assert issued[0]["grant_type"] == ["password"] and issued[0]["mfa_token"] == ["123456"]
    assert issued[1]["grant_type"] == ["refresh_token"]
    # 2 token requests + 2 API requests
    assert c.request_count == 4


def test_oauth2_refresh_only_once(edge):
    issued = []
    _token_endpoint(edge, issued)
    edge.route("GET", "/v1/organizations/acme", (401, {}, {"message": "nope"}))
    c = client(edge, login_url=edge.url, auth_type="oauth2")
    with pytest.raises(ApigeeApiError) as err:
        c.get("")
    assert err.value.status == 401
    assert len(issued) == 2


def test_oauth2_bad_password(edge):
    issued = []
    _token_endpoint(edge, issued)
    c = client(edge, login_url=edge.url, auth_type="oauth2", password="not-it-987")
    with pytest.raises(ApigeeApiError) as err:
        c.get("")
    assert "OAuth2 login failed for user %s" % USER in str(err.value)
    assert "not-it-987" not in str(err.value)


def test_connection_error_names_the_url():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = ApigeeClient("http://127.0.0.1:%d" % port, "acme", username=USER, password=PASSWORD, timeout=2)
    with pytest.raises(MtlsError) as err:
        c.get("/environments")
    assert "127.0.0.1:%d" % port in str(err.value)
    assert "connection refused" in str(err.value)
    assert not isinstance(err.value, ApigeeApiError)


@pytest.mark.parametrize("kwargs, words", [
    ({"mgmt_url": "ftp://x", "org": "a", "username": "u", "password": "p"}, "not an http(s) URL"),
    ({"mgmt_url": "http://x", "org": "", "username": "u", "password": "p"}, "org is empty"),
    ({"mgmt_url": "http://x", "org": "a"}, "no Apigee credentials"),
    ({"mgmt_url": "http://x", "org": "a", "auth_type": "token"}, "no token"),
])
def test_bad_construction(kwargs, words):
    with pytest.raises(MtlsError) as err:
        ApigeeClient(**kwargs)
    assert words in str(err.value)


def test_from_params_and_ca_path():
    params = {k: v.get("default") for k, v in apigee_argument_spec().items()}
    params.update({"org": "acme", "username": USER, "password": PASSWORD, "ca_path": "/tmp/ca.pem",
                   "mgmt_url": "http://127.0.0.1:1/"})
    c = ApigeeClient.from_params(params)
    assert c.org_url == "http://127.0.0.1:1/v1/organizations/acme"
    assert c.session.verify == "/tmp/ca.pem"
    params["validate_certs"] = False
    assert ApigeeClient.from_params(params).session.verify is False


def test_retry_after_http_date():
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert _parse_retry_after("garbage") is None
    assert _parse_retry_after(None) is None


def test_get_raw_cache_is_opt_in(edge):
    edge.route("GET", "/v1/organizations/acme/apis/p/revisions/1", (200, {}, b"zip"))
    c = client(edge)
    c.get_raw("/apis/p/revisions/1")
    c.get_raw("/apis/p/revisions/1")
    assert c.request_count == 2
    assert c.get_raw("/apis/p/revisions/1", cache=True) == b"zip"
    assert c.get_raw("/apis/p/revisions/1", cache=True) == b"zip"
    assert c.request_count == 3
    c.invalidate("/apis/p")
    c.get_raw("/apis/p/revisions/1", cache=True)
    assert c.request_count == 4


def test_any_error_body_becomes_a_clear_message(edge):
    """Apigee X / Google answers {"error": {"code", "message", "status"}}; once crashed the client ('dict' has no
    attribute 'lower'). Every shape, even a list or HTML, ends as an ApigeeApiError in plain words."""
    edge.route("GET", "/v1/organizations/acme/environments/test/keystores/ks",
               (404, {}, {"error": {"code": 404, "message": "keystore ks not found", "status": "NOT_FOUND"}}))
    edge.route("GET", "/v1/organizations/acme/environments/test/references/r",
               (400, {}, ["odd", {"shape": 1}]))
    edge.route("GET", "/v1/organizations/acme/environments/test/targetservers/t",
               (502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>"))
    c = client(edge, retries=0)
    with pytest.raises(ApigeeApiError) as err:
        c.get("/environments/test/keystores/ks")
    assert err.value.status == 404 and "keystore ks not found" in str(err.value) and "NOT_FOUND" in str(err.value)
    with pytest.raises(ApigeeApiError) as err:
        c.get("/environments/test/references/r")
    assert err.value.status == 400 and "odd" in str(err.value)
    with pytest.raises(ApigeeApiError) as err:
        c.get("/environments/test/targetservers/t")
    assert err.value.status == 502


def test_a_long_retry_after_fails_at_once(edge):
    waits = []
    edge.route("GET", "/v1/organizations/acme/environments", (429, {"Retry-After": "3600"}, {"message": "quota"}))
    c = client(edge, sleep=waits.append)
    with pytest.raises(ApigeeApiError) as err:
        c.get("/environments")
    assert waits == [] and c.request_count == 1
    assert "3600 s" in str(err.value) and "Retry-After" in str(err.value)


def test_retry_waits_are_capped_in_total(edge):
    waits = []
    edge.route("GET", "/v1/organizations/acme/environments", (503, {"Retry-After": "50"}, {"message": "busy"}))
    c = client(edge, sleep=waits.append, retries=10)
    with pytest.raises(ApigeeApiError):
        c.get("/environments")
    assert sum(waits) <= 120 and waits == [50.0, 50.0]


def test_a_dropped_connection_on_a_get_is_retried_but_not_on_a_post(edge):
    edge.route("GET", "/v1/organizations/acme/environments", (200, {}, "DROP"), (200, {}, ["test"]))
    c = client(edge)
    assert c.get("/environments") == ["test"] and c.retry_count == 1
    edge.route("POST", "/v1/organizations/acme/environments/test/keystores", (200, {}, "DROP"), (200, {}, {}))
    with pytest.raises(MtlsError, match="cannot reach"):
        c.post("/environments/test/keystores", json={"name": "ks"})
    assert [r["method"] for r in edge.seen].count("POST") == 1


@pytest.fixture
def tls_edge(tmp_path):
    import ssl

    from tests.helpers.pki import make_ca, make_leaf

    ca = make_ca("CN=Mgmt Test CA")
    leaf = make_leaf("CN=127.0.0.1", ca, san=["ip:127.0.0.1"], eku=("serverAuth",))
    (tmp_path / "server.pem").write_bytes(leaf.cert_pem() + leaf.key_pem())
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    (tmp_path / "other-ca.pem").write_bytes(make_ca("CN=Some Corporate CA").cert_pem())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp_path / "server.pem"))
    fake = FakeEdge(tls=ctx)
    fake.route("GET", "/v1/organizations/acme/environments", (200, {}, ["test"]))
    yield fake, tmp_path
    fake.close()


def test_explicit_tls_options_win_over_requests_ca_bundle(tls_edge, monkeypatch):
    """REQUESTS_CA_BUNDLE (common on corporate hosts) silently replaced ca_path and validate_certs: false."""
    fake, d = tls_edge
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(d / "other-ca.pem"))
    assert client(fake, validate_certs=False).get("/environments") == ["test"]
    assert client(fake, ca_path=str(d / "ca.pem")).get("/environments") == ["test"]
    with pytest.raises(MtlsError, match="TLS error"):  # validation on, no ca_path: the environment's bundle applies
        client(fake).get("/environments")


def test_a_passcode_logs_in_once_and_is_never_sent_again(edge):
    """docs.apigee.com management-api-tokens: a SAML org's one-time passcode is sent as `passcode` with
    grant_type=password (no user name, no password). Once the token expires and its refresh fails, the passcode is not
    replayed: the error says to get a new one."""
    issued = []

    def answer(handler, body):
        form = parse_qs(body.decode())
        issued.append(form)
        if form.get("passcode") == ["pc-1"] and len(issued) == 1:
            return 200, {}, {"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 1799}
        return 401, {}, {"error": "unauthorized", "error_description": "Invalid passcode"}
    edge.route("POST", "/oauth/token", (200, {}, answer))
    edge.route("GET", "/v1/organizations/acme", (200, {}, {"name": "acme"}), (401, {}, {"message": "expired"}))
    c = client(edge, username=None, password=None, passcode="pc-1", login_url=edge.url)
    assert c.auth_type == "oauth2"
    assert c.login() == {"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 1799}
    assert issued == [{"grant_type": ["password"], "passcode": ["pc-1"]}]
    assert c.get("") == {"name": "acme"}
    with pytest.raises(ApigeeApiError) as err:
        c.get("", cache=False)
    assert [f["grant_type"] for f in issued] == [["password"], ["refresh_token"]]  # the passcode went once
    assert "get a new passcode" in str(err.value) and "pc-1" not in str(err.value)


def test_a_refused_passcode_says_it_is_one_time(edge):
    edge.route("POST", "/oauth/token", (401, {}, {"error": "unauthorized", "error_description": "Invalid passcode"}))
    c = client(edge, username=None, password=None, passcode="pc-2", login_url=edge.url)
    with pytest.raises(ApigeeApiError) as err:
        c.get("")
    assert "passcode is one-time" in str(err.value) and "pc-2" not in str(err.value)


def test_a_given_token_is_refreshed_once_with_its_refresh_token(edge):
    """The token of an earlier login (module apigee_login) expires during a long run: refreshed once, and the
    request is made again with the new token."""
    issued = []
    _token_endpoint(edge, issued)

    def org(handler, body):
        if handler.headers.get("Authorization") == "Bearer access-1":
            return 200, {}, {"name": "acme"}
        return 401, {}, {"message": "token expired"}
    edge.route("GET", "/v1/organizations/acme", (200, {}, org))
    c = client(edge, username=None, password=None, token="old", refresh_token="refresh-1", login_url=edge.url)
    assert c.auth_type == "token" and c.get("") == {"name": "acme"}
    assert [f["grant_type"] for f in issued] == [["refresh_token"]]
    # without a refresh token a refused token is just refused, naming neither token
    bare = client(edge, username=None, password=None, token="old")
    with pytest.raises(ApigeeApiError) as err:
        bare.get("")
    assert "bearer token" in str(err.value) and "old" not in str(err.value).split("bearer token")[1][:40]
    stale = client(edge, username=None, password=None, token="old", refresh_token="gone", login_url=edge.url)
    with pytest.raises(ApigeeApiError) as err:
        stale.get("")
    assert "its refresh token was refused" in str(err.value)


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_environments_proxy_is_used_and_no_proxy_honoured_read_once_per_host(edge, no_proxy_env):
    proxy = FakeEdge()   # a proxy gets the absolute URL; this fake answers it like the server would
    try:
        proxy.route("GET", "/v1/organizations/acme/environments", (200, {}, ["via-proxy"]))
        edge.route("GET", "/v1/organizations/acme/environments", (200, {}, ["direct"]))
        no_proxy_env.setenv("HTTP_PROXY", proxy.url)
        c = client(edge)
        assert c.get("/environments", cache=False) == ["via-proxy"]
        assert proxy.seen and not edge.seen
        no_proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")   # read once: a later change is not seen
        assert c.get("/environments", cache=False) == ["via-proxy"]
        no_proxy_env.setenv("HTTP_PROXY", proxy.url)
        no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
        assert client(edge).get("/environments", cache=False) == ["direct"]
    finally:
        proxy.close()


def test_a_netrc_entry_never_replaces_the_clients_own_credentials(edge, no_proxy_env, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login intruder password not-ours\n")
    netrc.chmod(0o600)
    no_proxy_env.setenv("NETRC", str(netrc))
    edge.route("GET", "/v1/organizations/acme/environments", (200, {}, ["test"]))
    assert client(edge, username=None, password=None, token="access-1").get("/environments") == ["test"]
    assert edge.seen[-1]["headers"]["Authorization"] == "Bearer access-1"
