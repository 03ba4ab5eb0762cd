"""The request check itself: what it accepts and what it catches (requests as the emulator journals them)."""
from tests.contract.request_check import problems


def entry(method, path, query=(), content_type=""):
    return {"method": method, "path": "/v1/organizations/lab" + path, "query": list(query),
            "content_type": content_type}


def test_requests_the_specs_accept_pass():
    assert problems([
        entry("GET", "/environments/test/keystores"),
        entry("POST", "/environments/test/keystores", content_type="application/json"),
        entry("POST", "/environments/test/keystores/ks1/aliases", ["alias", "format"], "multipart/form-data"),
        entry("PUT", "/environments/test/references/r1", content_type="application/json"),
        entry("POST", "/environments/test/apis/a/revisions/2/deployments", ["override"],
              "application/x-www-form-urlencoded"),
        entry("PUT", "/environments/test/targetservers/ts1", content_type="application/json"),
        {"method": "POST", "path": "/oauth/token", "query": [], "content_type": "application/x-www-form-urlencoded"},
    ]) == []


def test_what_the_specs_would_refuse_is_named():
    found = problems([
        entry("POST", "/environments/test/apis/a/revisions/2/deployments", ["override"]),  # no form body
        entry("POST", "/environments/test/keystores/ks1/aliases", ["alias"], "multipart/form-data"),  # no format
        entry("POST", "/environments/test/references", content_type="text/plain"),
        entry("PATCH", "/environments/test/keystores/ks1"),
        entry("GET", "/environments/test/virtualhosts/default"),
    ])
    assert found == sorted([
        "POST /v1/organizations/lab/environments/test/apis/a/revisions/2/deployments: the spec requires a "
        "Content-type header",
        "POST /v1/organizations/lab/environments/test/keystores/ks1/aliases: required query parameter(s) format "
        "missing",
        "POST /v1/organizations/lab/environments/test/references: sent text/plain, the spec takes application/json",
        "PATCH /v1/organizations/lab/environments/test/keystores/ks1: the specs allow only DELETE, GET there",
        "GET /v1/organizations/lab/environments/test/virtualhosts/default: no such path in the specs",
    ])


def test_debug_sessions_as_apigee_documents_them():
    sessions = "/environments/test/apis/a/revisions/2/debugsessions"
    assert problems([
        entry("POST", sessions, ["session", "timeout"], "application/x-www-form-urlencoded"),
        entry("GET", sessions + "/s1/data"), entry("GET", sessions + "/s1/data/tx1"), entry("DELETE", sessions + "/s1"),
    ]) == []
    assert problems([entry("POST", sessions, ["timeout"], "application/json")]) == sorted([
        "POST /v1/organizations/lab%s: required query parameter(s) session missing" % sessions,
        "POST /v1/organizations/lab%s: sent application/json, the spec takes application/x-www-form-urlencoded"
        % sessions])
