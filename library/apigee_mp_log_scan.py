#!/usr/bin/python
"""Ansible module: southbound TLS handshake failures in Apigee Message Processor system.log files."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_mp_log_scan
short_description: Group the MP's southbound TLS handshake failures from system.log
description:
  - Reads Message Processor C(system.log) files (Private Cloud,
    C(/opt/apigee/var/log/edge-message-processor/system.log)) and returns the
    C(HTTPClient$Context.handshakeFailed()) records grouped by org, env, api, rev, remote host:port and alert, with
    counts, first and last time and message IDs.
  - Tolerant of records wrapped over several lines and of rotated logs (C(system.log.1), C(system.log.2.gz)).
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  paths:
    description: Log files, folders (their C(system.log)) or globs.
    type: list
    elements: path
    default: [/opt/apigee/var/log/edge-message-processor/system.log]
  include_rotated:
    description: Also read the rotated siblings of each file.
    type: bool
    default: true
  org:
    description: Only this organization.
    type: str
  env:
    description: Only this environment.
    type: str
  api:
    description: Only this API proxy.
    type: str
  since:
    description: Only records at or after this time (C(YYYY-MM-DD HH:MM:SS)).
    type: str
seealso:
  - module: apigee_mp_log_records
  - module: apigee_mtls_diagnose
requirements:
  - "Python 3.10 or later on the host that holds the logs (standard library only)"
extends_documentation_fragment:
  - attributes.info_module
"""

EXAMPLES = r"""
- name: Handshake failures on each MP
  apigee_mp_log_scan:
    org: myorg
    env: prod
  become: true
  register: mp_log
"""

RETURN = r"""
groups:
  description:
    - One entry per (org, env, api, rev, remote, alert) with count, first, last and message_ids, and C(record), the
      group's latest failure record as logged (its first lines).
  returned: always
  type: list
  elements: dict
  sample:
    - org: myorg
      env: prod
      api: orders
      rev: '3'
      remote: 10.0.4.12:8443
      alert: bad_certificate
      message: 'Received fatal alert: bad_certificate'
      count: 12
      first: 2026-12-01 09:14:02,118
      last: 2026-12-01 09:20:40,551
      message_ids:
      - rrt-0b9f1c2d3e4f5a6b-c-ea-31977-1234-1
records:
  description: Handshake failure records matched.
  returned: always
  type: int
files:
  description: The files read, oldest first.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.mp_log import log_files_argument_spec, scan


def main():
    module = MtlsModule(dict(log_files_argument_spec(), **{
        "org": {"type": "str"},
        "env": {"type": "str"},
        "api": {"type": "str"},
        "since": {"type": "str"},
    }))
    module.run(lambda p: scan(p["paths"], include_rotated=p["include_rotated"], org=p["org"], env=p["env"],
                              api=p["api"], since=p["since"]))


if __name__ == "__main__":
    main()
