#!/usr/bin/python
"""Module apigee_trace: the runbook's trace of the failing call, through debug sessions, per broken link."""

DOCUMENTATION = r"""
module: apigee_trace
short_description: Trace the failing call of broken links through Apigee debug sessions
description:
  - The runbook's first step, done through the management API instead of the UI. For each link of O(links) that is
    not C(ok) (or each one named in O(link_ids)), it opens a debug session on the revision of the first proxy that
    uses the link, sends the reproducing call through the Apigee runtime (O(call_urls) / O(call_url) + the proxy's
    base path), reads the session's transactions and deletes the session, whatever happened.
  - Returns per link what the runbook reads off the trace (C(evidence.trace) of the report), the failing phase
    (C(target_request_flow), or C(proxy_request_flow) for a ServiceCallout), C(error.cause) (for example the
    alert C(bad_certificate) the backend sent), the target URL, the response code and the C(X-Apigee.Message-ID)
    that selects the MP system.log records (M(apigee_mp_log_records)).
  - A debug session is opened and deleted, and a call is sent through the runtime; no configuration is changed, so
    the module reports C(changed=false) and runs in check mode too.
  - Edge debug sessions (C(POST .../debugsessions?session=&timeout=), form content type); a session records at most
    20 calls and ends after O(session_timeout) seconds.
options:
  links:
    description:
      - Rows of the diagnosis report (C(mtls_report.links)); C(id), C(env), C(verdict), C(host), C(port) and
        C(used_by) (the proxies using the link, with their revisions and base paths) are read.
    type: list
    elements: dict
    required: true
  link_ids:
    description: Trace only these links (any verdict); by default every link that is not C(ok).
    type: list
    elements: str
    default: []
  call_url:
    description:
      - Base URL of the Apigee runtime (virtual host) the reproducing call goes to, for example
        C(https://myorg-prod.apigee.net). Without it (and without O(call_urls)) no call is sent and only the calls
        that others make while the session is open are recorded.
    type: str
    default: ''
  call_urls:
    description: Per environment base URLs, overriding O(call_url).
    type: dict
    default: {}
  call_method:
    description: HTTP method of the reproducing call.
    type: str
    default: GET
  call_headers:
    description: Headers of the reproducing call (an API key, for example); never logged.
    type: dict
    default: {}
  call_validate_certs:
    description: Verify the runtime's certificate on the reproducing call.
    type: bool
    default: true
  send_call:
    description: Send the reproducing call; C(false) records only what other clients send while the session is open.
    type: bool
    default: true
  session_timeout:
    description: Seconds after which Apigee discards the session (it is deleted as soon as the module is done).
    type: int
    default: 120
  wait:
    description: Seconds to wait for the call's transaction to appear in the session.
    type: float
    default: 20
  max_links:
    description: Trace at most this many links (one debug session per distinct proxy revision).
    type: int
    default: 20
requirements:
  - requests
extends_documentation_fragment:
  - apigee
  - attributes.info_module
seealso:
  - module: apigee_mtls_diagnose
  - module: apigee_mp_log_records
  - module: mtls_report_evidence
"""

EXAMPLES = r"""
- name: Trace the failing call of every broken link
  apigee_trace:
    mgmt_url: "{{ apigee_mgmt_url }}"
    org: "{{ apigee_org }}"
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
    links: "{{ mtls_report.links }}"
    call_urls:
      prod: https://myorg-prod.apigee.net
  register: trace
"""

RETURN = r"""
traces:
  description: Per link id, the trace evidence of its failing call.
  returned: success
  type: dict
  contains:
    phase:
      description: Where the call failed (C(target_request_flow), C(proxy_request_flow)).
      type: str
    error_cause:
      description: The trace's C(error.cause).
      type: str
    target_url:
      description: The southbound URL the runtime called.
      type: str
    status:
      description: The response code the client got.
      type: int
    message_id:
      description: The call's C(X-Apigee.Message-ID), as the MP system.log carries it (C(messageid:)).
      type: str
    session_deleted:
      description: Whether the debug session was deleted.
      type: bool
  sample:
    "targetserver:prod/orders-backend":
      api: orders
      revision: "3"
      phase: target_request_flow
      error_cause: "Received fatal alert: bad_certificate"
      target_url: https://orders.internal:8443/v1/orders
      status: 503
      message_id: rrt-0b6b8c1e3a-12345-1
      session_deleted: true
message_ids:
  description: The message IDs of the traced calls, for M(apigee_mp_log_records).
  returned: success
  type: list
  elements: str
  sample: [rrt-0b6b8c1e3a-12345-1]
api_requests:
  description: HTTP requests made to the management API.
  returned: always
  type: int
  sample: 5
"""

from ansible.module_utils.mtls.module_ansible import ApigeeModule
from ansible.module_utils.mtls.trace import trace_links, trace_targets, undeleted_warnings


def main():
    module = ApigeeModule({
        "links": {"type": "list", "elements": "dict", "required": True},
        "link_ids": {"type": "list", "elements": "str", "default": []},
        "call_url": {"type": "str", "default": ""},
        "call_urls": {"type": "dict", "default": {}},
        "call_method": {"type": "str", "default": "GET"},
        "call_headers": {"type": "dict", "default": {}, "no_log": True},
        "call_validate_certs": {"type": "bool", "default": True},
        "send_call": {"type": "bool", "default": True},
        "session_timeout": {"type": "int", "default": 120},
        "wait": {"type": "float", "default": 20},
        "max_links": {"type": "int", "default": 20},
    })

    def work(client, p):
        targets = trace_targets(p["links"], p["call_urls"], p["call_url"], p["link_ids"], p["max_links"])
        traces = trace_links(client, targets, call_headers=p["call_headers"], call_method=p["call_method"],
                             timeout=p["session_timeout"], wait=p["wait"], verify=p["call_validate_certs"],
                             send_call=p["send_call"])
        ids = sorted({t["message_id"] for t in traces.values() if t.get("message_id")})
        return {"changed": False, "traces": traces, "message_ids": ids, "warnings": undeleted_warnings(traces)}

    module.run(work)


if __name__ == "__main__":
    main()
