"""The trace through debug sessions, without a network: transactions the lab's runtime really recorded
(tests/data/traces/, taken from the lab's debug-session API), odd shapes, the link's transaction, the session always
deleted."""
import json
import os

import pytest
from ansible.module_utils.mtls.errors import ApigeeApiError
from ansible.module_utils.mtls.trace import debug_session, for_link, trace_targets, transaction_evidence

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "traces")


def _tx(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as fh:
        return json.load(fh)


def test_a_target_endpoint_failure_reads_as_the_runbook_reads_it():
    ev = transaction_evidence(_tx("lab-missing-cert-jsse.json"))
    assert ev["error_cause"] == "Received fatal alert: bad_certificate"
    assert ev["phase"] == "target_request_flow" and ev["status"] == 503
    assert ev["message_id"].startswith("rrt-") and ev["target_url"].startswith("https://localhost:")
    assert ev["error_class"] == "javax.net.ssl.SSLHandshakeException" and ev["completed"] is True


def test_a_service_callout_failure_is_in_the_proxy_request_flow():
    ev = transaction_evidence(_tx("lab-callout-jsse.json"))
    assert ev["phase"] == "proxy_request_flow" and ev["service_callout"] == "CallBackend"
    assert ev["error_cause"] == "Received fatal alert: bad_certificate"


@pytest.mark.parametrize("tx", [None, [], "text", {"point": "x"}, {"point": [None, {"results": [None, 3]}]},
                                {"point": [{"id": "Error", "results": [{"properties": {"property": [{"x": 1}]}}]}]},
                                {"point": [{"id": "Error", "results": [{"ActionResult": "ErrorMessage",
                                                                        "statusCode": "n/a"}]}]}])
def test_odd_shapes_give_what_is_there_and_never_raise(tx):
    ev = transaction_evidence(tx)
    assert set(ev) <= {"completed", "status"} and "status" not in ev


def test_the_message_id_header_wins_over_the_flow_variable():
    tx = {"point": [{"id": "FlowInfo", "results": [{"ActionResult": "DebugInfo", "properties": {
        "property": [{"name": "messageid", "value": "from-variable"}]}}]},
        {"id": "Error", "results": [{"ActionResult": "ErrorMessage", "statusCode": "503",
                                     "headers": [{"name": "X-Apigee.Message-ID", "value": "from-header"}]}]}]}
    assert transaction_evidence(tx)["message_id"] == "from-header"


def test_the_link_gets_its_own_transaction():
    evs = [{"target_url": "https://a:1/", "status": 200}, {"target_url": "https://b:2/x", "error_cause": "boom"},
           {"target_url": "https://b:2/y", "status": 200}]
    assert for_link(evs, "B", 2)["error_cause"] == "boom"
    assert for_link(evs, "a", 1)["status"] == 200
    assert for_link(evs, "c", 3) is None and for_link([{"target_url": "::"}], "a", "x") is None


def test_trace_targets_take_broken_links_and_the_first_proxy_that_uses_them():
    rows = [{"id": "t1", "env": "prod", "verdict": "ok", "host": "h", "port": 1,
             "used_by": [{"api": "a", "revision": 2, "basepaths": ["/a"]}]},
            {"id": "t2", "env": "prod", "verdict": "ca_mismatch", "host": "h", "port": 1,
             "used_by": [{"api": "b", "revision": 3, "basepaths": ["/b", "/c"]}, {"api": "z", "revision": 1}]},
            {"id": "t3", "env": "test", "verdict": "chain_incomplete", "used_by": []}]
    out = trace_targets(rows, call_urls={"prod": "https://prod.example/"})
    assert out == [{"link": "t2", "env": "prod", "api": "b", "revision": "3", "host": "h", "port": 1,
                    "url": "https://prod.example/b"}]
    assert [t["link"] for t in trace_targets(rows, link_ids=["t1"])] == ["t1"]
    assert trace_targets(rows, link_ids=["t1"])[0]["url"] is None  # no runtime URL: no call is sent


class Sessions:
    """Records the debug-session calls; ``fail_delete`` makes the DELETE fail."""

    def __init__(self, fail_delete=False):
        self.calls, self.fail_delete = [], fail_delete

    def post(self, path, params=None, data=None, headers=None, **kw):
        self.calls.append(("POST", path, dict(params or {}), (headers or {}).get("Content-Type")))
        return {"name": params["session"]}

    def get(self, path, params=None, cache=True):
        self.calls.append(("GET", path))
        return []

    def delete(self, path, **kw):
        self.calls.append(("DELETE", path))
        if self.fail_delete:
            raise ApigeeApiError("refused", status=500)


def test_the_session_is_created_with_a_form_and_deleted_even_when_the_call_fails():
    client = Sessions()

    def call():
        raise RuntimeError("the reproducing call broke")

    with pytest.raises(RuntimeError):
        debug_session(client, "prod", "orders", 3, call=call, name="s1", sleep=lambda s: None)
    post = client.calls[0]
    assert post[:2] == ("POST", "/environments/prod/apis/orders/revisions/3/debugsessions")
    assert post[2] == {"session": "s1", "timeout": 120}
    assert post[3] == "application/x-www-form-urlencoded"
    assert client.calls[-1] == ("DELETE", "/environments/prod/apis/orders/revisions/3/debugsessions/s1")


def test_a_session_that_cannot_be_deleted_is_reported_not_raised():
    clock = iter(range(100))
    out = debug_session(Sessions(fail_delete=True), "prod", "orders", 3, name="s2", wait=2, sleep=lambda s: None,
                        clock=lambda: next(clock))
    assert out["deleted"] is False and "refused" in out["delete_error"] and out["transactions"] == []
