#!/usr/bin/python
"""Ansible module: GET many URLs through the Apigee runtime at once and report each answer's status."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: runtime_calls
short_description: Call many URLs through the Apigee runtime at once and report each status
description:
  - Sends one GET to each URL, several at a time, and returns each status (or why there was none) in the order given.
    Fails only on bad input; which statuses prove a fix is for the caller to judge (role C(apigee_mtls_verify)).
  - One module run for all the calls of a verification, instead of one C(ansible.builtin.uri) run per call.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
requirements:
  - requests
options:
  urls:
    description: The URLs (http or https).
    type: list
    elements: str
    required: true
  timeout:
    description: Seconds per call.
    type: int
    default: 20
  validate_certs:
    description: Check the TLS certificate of an https URL.
    type: bool
    default: true
  workers:
    description: Calls at a time.
    type: int
    default: 8
attributes:
  check_mode:
    support: full
    description: Makes the calls in check mode too (a GET changes nothing).
  diff_mode:
    support: none
    description: Nothing to compare; the module changes nothing.
seealso:
  - module: apigee_mtls_diagnose
extends_documentation_fragment:
  - attributes
"""

EXAMPLES = r"""
- name: Call the fixed links through Apigee
  runtime_calls:
    urls:
      - https://api.example.com/orders
      - https://api.example.com/payments
  register: answers
"""

RETURN = r"""
calls:
  description: One entry per URL, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    url:
      description: The URL.
      type: str
    status:
      description: The HTTP status of the answer; null when there was none.
      type: int
    error:
      description: Why there was no answer (connection refused, timeout...); null otherwise.
      type: str
    elapsed_ms:
      description: Milliseconds the call took.
      type: int
  sample: [{"url": "http://127.0.0.1:19001/healthy-jsse", "status": 200, "error": null, "elapsed_ms": 41}]
"""

from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.runtime_calls import call_all


def main():
    module = MtlsModule({
        "urls": {"type": "list", "elements": "str", "required": True},
        "timeout": {"type": "int", "default": 20},
        "validate_certs": {"type": "bool", "default": True},
        "workers": {"type": "int", "default": 8},
    })
    module.run(lambda p: {"changed": False, "calls": call_all(p["urls"], p["timeout"], p["validate_certs"],
                                                              p["workers"])})


if __name__ == "__main__":
    main()
