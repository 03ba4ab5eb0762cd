#!/usr/bin/python
"""Ansible module: the MP system.log records (as logged) of the given message IDs."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_mp_log_records
short_description: Read the Message Processor log records of failing message IDs
description:
  - Returns every record of the MP C(system.log) files (rotated siblings included) that names one of O(message_ids),
    with its continuation lines (stack traces), exactly as logged. Runs on the MP host (use C(delegate_to)).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  paths:
    description: Log files, folders (their C(system.log)) or globs.
    type: list
    elements: path
    default: [/opt/apigee/var/log/edge-message-processor/system.log]
  message_ids:
    description: The message IDs (C(X-Apigee.Message-ID), C(messageid:) in the log).
    type: list
    elements: str
    required: true
  include_rotated:
    description: Also read the rotated siblings of each file.
    type: bool
    default: true
seealso:
  - module: apigee_mp_log_scan
  - module: apigee_mtls_diagnose
requirements:
  - "Python 3.10 or later on the host that holds the logs (standard library only)"
extends_documentation_fragment:
  - attributes.info_module
"""

EXAMPLES = r"""
- name: Log records of the failing calls
  apigee_mp_log_records:
    message_ids: "{{ mp_log.groups | map(attribute='message_ids') | flatten }}"
  become: true
  register: records
"""

RETURN = r"""
records:
  description: The matching records, oldest file first.
  returned: always
  type: list
  elements: str
files:
  description: The files read.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.mp_log import log_files_argument_spec, log_records


def main():
    module = MtlsModule(dict(log_files_argument_spec(), message_ids={"type": "list", "elements": "str",
                                                                     "required": True}))

    def work(p):
        records, files = log_records(p["paths"], p["message_ids"], p["include_rotated"])
        return {"records": records, "files": files}

    module.run(work)


if __name__ == "__main__":
    main()
