"""What a debug session records of one call: the Edge-shaped transaction built from what the lab's runtime did.

A transaction is ``{"completed": true, "point": [{"id", "results": [...]}]}`` (APIGEE-FACTS.md "Debug sessions";
the same ``Point`` / ``Result`` shapes as ``GoogleCloudApigeeV1DebugSessionTransaction`` in apigee-x.yaml, whose
``Result`` says it keeps "the legacy Edge specification"): ``StateChange`` points for the flow's states, the request as
a ``RequestMessage``, ``FlowInfo`` with the flow variables the runtime set (``target.url``, or
``servicecallout.<policy>.target.url`` for a ServiceCallout), and for a failed call an ``Error`` point with the
``DebugInfo`` properties ``error``, ``error.cause``, ``error.class``, ``state`` and an ``ErrorMessage`` (the fault body,
``statusCode``, the response headers with ``X-Apigee.Message-ID``); the analytics point at the end carries the message
ID as well (the runbook takes it "from the trace's AX phase").
"""
from __future__ import annotations

import datetime as _dt
import json
import urllib.parse

MAX_TRANSACTIONS = 20  # "A debug session captures a maximum of 20 messages" (docs.apigee.com, debug sessions)
STATES = {"target_endpoint": "TARGET_REQ_FLOW", "service_callout": "PROXY_REQ_FLOW"}
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


def timestamp(at: float) -> str:
    """The trace's timestamp form, ``dd-mm-yy hh:mm:ss:xxx`` (apigee-x.yaml, Result.timestamp)."""
    t = _dt.datetime.fromtimestamp(at, _dt.UTC)
    return t.strftime("%d-%m-%y %H:%M:%S:") + "%03d" % (t.microsecond // 1000)


def _props(pairs) -> dict:
    return {"property": [{"name": k, "value": "" if v is None else str(v)} for k, v in pairs]}


def _info(at, pairs) -> dict:
    return {"ActionResult": "DebugInfo", "properties": _props(pairs), "timestamp": timestamp(at)}


def _headers(headers: dict) -> list[dict]:
    # the lab never records a credential in a trace
    return [{"name": k, "value": "*****" if k.lower() in ("authorization", "proxy-authorization") else str(v)}
            for k, v in headers.items()]


def matches(filters: dict, request_headers: dict, query: str) -> bool:
    """Does a call pass a session's filters (``header_<name>`` / ``qparam_<name>`` when it was created)?"""
    heads = {k.lower(): v for k, v in (request_headers or {}).items()}
    for name, value in (filters.get("headers") or {}).items():
        if heads.get(name.lower()) != value:
            return False
    params = dict(urllib.parse.parse_qsl(query or "", keep_blank_values=True))
    return all(params.get(name) == value for name, value in (filters.get("qparams") or {}).items())


def transaction(record: dict, request_headers: dict, response_headers: dict, response_body: bytes,
                started: float, ended: float) -> dict:
    """The debug transaction of one call (``record`` is the runtime's trace record of it)."""
    req = record.get("request") or {}
    points = [
        {"id": "StateChange", "results": [
            _info(started, [("From", ""), ("To", "REQ_HEADERS_PARSED")]),
            {"ActionResult": "RequestMessage", "headers": _headers(request_headers), "uRI": req.get("path") or "/",
             "verb": req.get("method") or "GET", "timestamp": timestamp(started)}]},
        {"id": "StateChange", "results": [_info(started, [("From", "REQ_HEADERS_PARSED"),
                                                          ("To", "PROXY_REQ_FLOW")])]},
    ]
    target = record.get("target") or {}
    kind = target.get("kind") or "target_endpoint"
    state = STATES.get(kind, "TARGET_REQ_FLOW")
    if target:
        if kind == "service_callout":
            var = "servicecallout.%s.target.url" % target.get("endpoint")
        else:
            var = "target.url"
            points.append({"id": "StateChange", "results": [_info(started, [("From", "PROXY_REQ_FLOW"),
                                                                            ("To", "TARGET_REQ_FLOW")])]})
        points.append({"id": "FlowInfo", "results": [_info(started, [(var, target.get("url"))])]})
    status = int((record.get("response") or {}).get("status") or 0)
    heads = _headers(response_headers)
    error = record.get("error")
    if error:
        content = response_body.decode("utf-8", "replace")
        try:
            fault = json.loads(content).get("fault", {}).get("faultstring")
        except (ValueError, AttributeError):
            fault = None
        points.append({"id": "Error", "results": [
            _info(ended, [("error", fault or REASONS.get(status, "")), ("error.cause", error.get("cause")),
                          ("error.class", error.get("exception")), ("state", state), ("type", "ErrorPoint")]),
            {"ActionResult": "ErrorMessage", "content": content, "headers": heads,
             "reasonPhrase": REASONS.get(status, ""), "statusCode": str(status), "timestamp": timestamp(ended)}]})
    else:
        points.append({"id": "StateChange", "results": [_info(ended, [("From", state),
                                                                      ("To", state.replace("REQ", "RESP"))])]})
        points.append({"id": "StateChange", "results": [
            {"ActionResult": "ResponseMessage", "headers": heads, "reasonPhrase": REASONS.get(status, ""),
             "statusCode": str(status), "timestamp": timestamp(ended)}]})
    points.append({"id": "StateChange", "results": [_info(ended, [("To", "END")])]})
    points.append({"id": "FlowInfo", "results": [_info(ended, [("messageid", record.get("messageid"))])]})
    return {"completed": True, "point": points}
