"""The runbook's trace, through debug sessions: the failing call's phase, ``error.cause``, target URL, response code and
``X-Apigee.Message-ID``, per broken link (``evidence.trace``).

For one proxy revision: create a debug session (Edge: ``POST .../debugsessions?session=&timeout=`` with a form
content type, APIGEE-FACTS.md; Apigee X / hybrid: a ``DebugSession`` JSON body, the name in the answer, deleted
through ``.../debugsessions/{name}/data``, apigee-x.yaml), optionally send the reproducing call through the runtime,
read the session's transactions, and always delete the session. ``transaction_evidence`` reads one transaction
(``{completed, point: [{id, results}]}``) without trusting its shape: what it cannot find it leaves out.
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ansible.module_utils.mtls.apigee import resources
from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
X_MAX_TRANSACTIONS = 15   # apigee-x.yaml, DebugSession.count: "Min = 1, Max = 15, Default = 10"
MESSAGE_ID_NAMES = ("x-apigee.message-id", "messageid")
STATES = {"TARGET_REQ_FLOW": "target_request_flow", "TARGET_RESP_FLOW": "target_response_flow",
          "PROXY_REQ_FLOW": "proxy_request_flow", "PROXY_RESP_FLOW": "proxy_response_flow"}


# --------------------------------------------------------------------------- reading a transaction (pure)

def _results(tx):
    for point in (tx.get("point") if isinstance(tx, dict) else None) or []:
        if not isinstance(point, dict):
            continue
        for result in point.get("results") or []:
            if isinstance(result, dict):
                yield point.get("id"), result


def _properties(result):
    props = result.get("properties")
    items = props.get("property") if isinstance(props, dict) else props
    for item in items or []:
        if isinstance(item, dict) and item.get("name"):
            yield str(item["name"]), item.get("value")


def _header(result, names):
    for item in result.get("headers") or []:
        if isinstance(item, dict) and str(item.get("name") or "").lower() in names:
            return item.get("value")
    return None


def transaction_evidence(tx) -> dict:
    """What the runbook reads off one trace transaction: ``phase``, ``error_cause``, ``error``, ``error_class``,
    ``status``, ``target_url`` (``target.url``, or ``servicecallout.<policy>.target.url``), ``message_id``."""
    out = {"completed": bool(tx.get("completed")) if isinstance(tx, dict) else False}
    for point_id, result in _results(tx):
        kind = result.get("ActionResult")
        for name, value in _properties(result):
            low = name.lower()
            if low == "target.url" or (low.startswith("servicecallout.") and low.endswith(".target.url")):
                out["target_url"] = value
                if low != "target.url":
                    out["service_callout"] = name[len("servicecallout."):-len(".target.url")]
            elif low in MESSAGE_ID_NAMES and value:
                out.setdefault("message_id", value)
            elif point_id == "Error" and low in ("error.cause", "error", "error.class"):
                out[low.replace(".", "_")] = value
            elif point_id == "Error" and low == "state" and value:
                out["phase"] = STATES.get(str(value), str(value).lower())
        if kind in ("ErrorMessage", "ResponseMessage") and result.get("statusCode") not in (None, ""):
            try:
                out["status"] = int(result["statusCode"])
            except (TypeError, ValueError):
                pass
        mid = _header(result, MESSAGE_ID_NAMES)
        if mid:
            out["message_id"] = mid
    return out


def for_link(evidences, host, port):
    """The transaction of a link among those of its proxy: the one whose target URL is the link's host and port,
    a failed one first."""
    def at(ev):
        try:
            split = urlsplit(ev.get("target_url") or "")
            return (split.hostname or "").lower() == str(host or "").lower() and split.port == int(port)
        except (TypeError, ValueError):
            return False
    mine = [e for e in evidences if at(e)]
    failed = [e for e in mine if e.get("error_cause") or (e.get("status") or 0) >= 500]
    return (failed or mine or [None])[-1]


def trace_targets(rows, call_urls=None, call_url="", link_ids=None, max_links=20):
    """Per broken row (or the rows named in link_ids): the proxy revision to trace and the URL that reproduces the
    call (the runtime's base URL per environment + the first base path), for the first proxy that uses the link."""
    out = []
    wanted = set(link_ids or [])
    for row in rows or []:
        if wanted and row.get("id") not in wanted:
            continue
        if not wanted and row.get("verdict") == "ok":
            continue
        use = next((u for u in row.get("used_by") or [] if u.get("api") and u.get("revision") is not None), None)
        if use is None:
            continue
        base = ((call_urls or {}).get(row.get("env")) or call_url or "").rstrip("/")
        path = (use.get("basepaths") or ["/"])[0]
        out.append({"link": row["id"], "env": row.get("env"), "api": use["api"], "revision": str(use["revision"]),
                    "host": row.get("host"), "port": row.get("port"),
                    "url": (base + "/" + path.lstrip("/")) if base else None})
        if len(out) >= max_links:
            break
    return out


# --------------------------------------------------------------------------- one debug session (HTTP)

def debug_session(client, env, api, revision, call=None, timeout=120, wait=20.0, name=None, sleep=time.sleep,
                  clock=time.monotonic) -> dict:
    """Open a session on a proxy revision, make ``call()`` (optional: it returns what the call got), read every
    transaction until one is there or ``wait`` seconds pass, delete the session whatever happened.

    Returns ``{"session", "call", "transactions": [evidence], "deleted": bool, "delete_error"}``."""
    path = resources.debugsessions_path(env, api, revision)
    x_flavour = getattr(client, "platform", "edge") != "edge"
    if x_flavour:
        # Apigee X / hybrid (apigee-x.yaml, CreateV1DebugsessionsByParent): a DebugSession JSON body; the session's
        # name is Apigee's, in the answer
        made = client.post(path, json={"timeout": str(int(timeout)), "count": X_MAX_TRANSACTIONS})
        name = (made or {}).get("name") if isinstance(made, dict) else None
        if not name:
            raise MtlsError("Apigee answered the creation of a debug session on %s revision %s without its name"
                            % (api, revision))
    else:
        name = name or "mtls-doctor-%s" % uuid.uuid4().hex[:12]
        client.post(path, params={"session": name, "timeout": int(timeout)}, data="", headers=FORM)
    out = {"session": name, "env": env, "api": api, "revision": str(revision), "transactions": []}
    try:
        if call is not None:
            out["call"] = call()
        deadline = clock() + max(0.0, float(wait))
        ids = []
        while True:
            ids = resources.names(client.get(resources.debug_data_path(env, api, revision, name), cache=False),
                                  resources.debug_data_path(env, api, revision, name))
            if ids or clock() >= deadline:
                break
            sleep(0.5)
        for tx in ids:
            data = resources.get_or_none(client, resources.debug_data_path(env, api, revision, name, tx), cache=False)
            if data is not None:
                ev = transaction_evidence(data)
                ev["transaction"] = tx
                out["transactions"].append(ev)
    finally:
        try:
            # X / hybrid delete a session with its data (DeleteDataV1DataByName); Edge deletes the session
            client.delete(resources.debug_data_path(env, api, revision, name) if x_flavour
                          else resources.debugsessions_path(env, api, revision, name))
            out["deleted"] = True
        except (ApigeeApiError, MtlsError) as exc:
            out["deleted"] = False
            out["delete_error"] = exc.msg if hasattr(exc, "msg") else str(exc)
    return out


def reproduce(url, method="GET", headers=None, timeout=30.0, verify=True, session=None) -> dict:
    """Send the reproducing call through the Apigee runtime (never with the management API's credentials):
    ``{"url", "method", "status", "message_id", "started", "ended"}`` or ``{"url", "error"}``."""
    import requests
    sess = session or requests.Session()
    sess.trust_env = False
    started = time.time()
    try:
        resp = sess.request(method, url, headers=headers or {}, timeout=timeout, verify=verify)
    except requests.exceptions.RequestException as exc:
        return {"url": url, "method": method, "error": "%s: %s" % (type(exc).__name__, exc), "started": started,
                "ended": time.time()}
    return {"url": url, "method": method, "status": resp.status_code,
            "message_id": resp.headers.get("X-Apigee.Message-ID"), "started": started, "ended": time.time()}


def trace_links(client, targets, call_headers=None, call_method="GET", timeout=120, wait=20.0, verify=True,
                send_call=True, sleep=time.sleep, max_workers=8) -> dict:
    """``evidence.trace`` per link id: one debug session per proxy revision (shared by the links it serves; the
    revisions traced at the same time, ``max_workers`` at once, through the one thread-safe client), the reproducing
    call sent once per distinct URL, the transaction of each link picked by its host and port."""
    by_rev = {}
    for t in targets:
        by_rev.setdefault((t["env"], t["api"], t["revision"]), []).append(t)
    out = {}
    if not by_rev:
        return out
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(by_rev)))) as pool:
        for part in pool.map(lambda item: _trace_revision(client, item[0], item[1], call_headers, call_method,
                                                          timeout, wait, verify, send_call, sleep),
                             list(by_rev.items())):
            out.update(part)
    return out


def _trace_revision(client, key, group, call_headers, call_method, timeout, wait, verify, send_call, sleep) -> dict:
    """The links of one proxy revision traced in one debug session; an Apigee error is that revision's evidence."""
    env, api, rev = key
    urls = sorted({t["url"] for t in group if t.get("url")}) if send_call else []
    calls = []

    def call():
        for u in urls:
            calls.append(reproduce(u, call_method, call_headers, verify=verify))
        return calls

    try:
        sess = debug_session(client, env, api, rev, call=call if urls else None, timeout=timeout,
                             wait=wait if urls else 0.0, sleep=sleep)
    except MtlsError as exc:
        return {t["link"]: {"api": api, "revision": rev, "session_deleted": True,
                            "transactions": 0, "note": "no debug session: %s" % exc.msg} for t in group}
    out = {}
    for t in group:
        ev = for_link(sess["transactions"], t["host"], t["port"]) or {}
        mine = next((c for c in calls if c.get("url") == t.get("url")), None)
        evidence = {"api": api, "revision": rev, "session": sess["session"],
                    "session_deleted": sess.get("deleted", False),
                    "session_delete_error": sess.get("delete_error"), "transactions": len(sess["transactions"])}
        evidence.update({k: v for k, v in ev.items() if k != "completed"})
        if mine:
            evidence["call"] = {k: mine.get(k) for k in ("url", "method", "status", "message_id", "error",
                                                         "started", "ended") if mine.get(k) is not None}
            evidence.setdefault("message_id", mine.get("message_id"))
        if not ev:
            evidence["note"] = ("no transaction of this link was recorded while the session was open" if urls else
                                "no call was sent (no runtime URL for environment %s)" % env)
        out[t["link"]] = {k: v for k, v in evidence.items() if v is not None}
    return out


def undeleted_warnings(traces) -> list:
    """A warning for each debug session that could not be deleted (Apigee discards it at its timeout)."""
    return sorted({"debug session %s of %s revision %s could not be deleted: %s" % (
        t.get("session"), t.get("api"), t.get("revision"), t.get("session_delete_error"))
        for t in traces.values() if not t.get("session_deleted")})
