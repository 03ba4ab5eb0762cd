#!/usr/bin/python
"""Ansible module: write the runbook's support bundle (one redacted tar.gz) from what the role gathered."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apigee_support_bundle
short_description: Write a redacted support bundle (tar.gz) for a southbound two-way TLS failure
description:
  - Takes the diagnosis report and what was gathered (keystore listings with certInfo, southbound links, probe output,
    MP log scan and records), adds the curl commands that reproduce each broken link's call through the MP and,
    optionally, the exported bundles of the proxies using the broken links.
  - Every file is redacted (private key blocks, Authorization headers, bearer tokens, credentials in URLs, password/
    token/secret fields, and the literal values of O(password), O(token), O(mfa_token) and O(secrets)) and checked again
    before it is archived; key stores and key files are never included, nor binary files.
  - Writes C(<dest_dir>/support-bundle-<org>-<UTC time>.tar.gz) atomically, mode 0600. Nothing else is written; the
    archive is built in memory.
version_added: "1.0.0"
author: apigee-mtls-doctor maintainers
options:
  dest_dir:
    description: Folder of the archive (created if needed).
    type: path
    required: true
  report:
    description: The diagnosis report (the C(report) returned by apigee_mtls_diagnose).
    type: dict
    required: true
  report_markdown:
    description: The Markdown rendering of O(report).
    type: str
    default: ""
  data:
    description: Further files of the bundle, relative name to content (text as is, anything else as JSON).
    type: dict
    default: {}
  call_url:
    description: Base URL of the MP runtime or virtual host the curl commands call (base path appended).
    type: str
    default: ""
  call_urls:
    description: Per environment base URLs, overriding O(call_url).
    type: dict
    default: {}
  include_ok_links:
    description: Also give curl commands and proxy bundles for links that are ok.
    type: bool
    default: false
  export_proxies:
    description: Export the revision bundle of each proxy using a broken link through the management API.
    type: bool
    default: true
  log_groups:
    description: The C(groups) returned by apigee_mp_log_scan (for the summary).
    type: list
    elements: dict
    default: []
  extra_files:
    description: Further files to include (redacted) under C(files/), e.g. a trace file or a packet capture summary.
    type: list
    elements: path
    default: []
  steps_tried:
    description: The runbook steps already tried, listed in the summary.
    type: list
    elements: str
    default: []
  secrets:
    description: Further literal values to redact wherever they appear.
    type: list
    elements: str
    default: []
seealso:
  - module: apigee_mtls_diagnose
  - module: apigee_mp_log_records
extends_documentation_fragment:
  - apigee
  - attributes
attributes:
  check_mode:
    support: full
    description: Gathers and builds the bundle in memory and reports what it would hold; writes no archive.
  diff_mode:
    support: none
    description: A new archive each run; there is nothing to compare.
"""

EXAMPLES = r"""
- name: Write the support bundle
  apigee_support_bundle:
    org: myorg
    dest_dir: reports/
    report: "{{ diag.report }}"
    report_markdown: "{{ diag.report_markdown }}"
    call_url: https://myorg-prod.apigee.net
    log_groups: "{{ mp_log.groups }}"
    username: "{{ apigee_username }}"
    password: "{{ apigee_password }}"
"""

RETURN = r"""
path:
  description: The archive written (or that would be written in check mode).
  returned: always
  type: str
files:
  description: The files in the archive with their size and number of redactions.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "mtls-report.json", "bytes": 18211, "redactions": 3}]
excluded:
  description: Files left out, with the reason (key file, binary).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "keys/mp-client.key", "reason": "key file"}]
redactions:
  description: Number of redactions made over all files.
  returned: always
  type: int
proxies:
  description: Proxy revisions whose bundles were exported.
  returned: always
  type: list
  elements: dict
  sample: [{"api": "orders", "revision": 3}]
curl:
  description: The curl commands that reproduce the broken links' calls.
  returned: always
  type: list
  elements: str
"""

import os
import time

from ansible.module_utils.mtls.apigee.resources import BUNDLE_PARAMS, revision_path
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.module_ansible import ApigeeModule, MtlsModule
from ansible.module_utils.mtls.support_bundle import (
    build_archive,
    curl_commands,
    failing_proxies,
    proxy_bundle_files,
    summary_markdown,
    to_file_data,
    write_atomic,
)


def _gather(module, p, notes):
    report = p["report"]
    only_broken = not p["include_ok_links"]
    curls = curl_commands(report, p["call_url"], p["call_urls"], only_broken=only_broken)
    files = {"diagnosis/mtls-report.json": to_file_data(report)}
    if p["report_markdown"]:
        files["diagnosis/mtls-report.md"] = p["report_markdown"]
    for name, value in (p["data"] or {}).items():
        files[name] = to_file_data(value)
    files["reproduce/curl.json"] = to_file_data(curls)
    files["reproduce/curl.sh"] = "#!/bin/sh\n# Calls that reproduce each broken link through the MP.\n" + "".join(
        "%s  # %s\n" % (c["curl"], c["link"]) for c in curls if c["curl"])
    for path in p["extra_files"]:
        with open(path, "rb") as fh:
            files["files/" + os.path.basename(path)] = fh.read()
    proxies = failing_proxies(report, only_broken=only_broken) if p["export_proxies"] else []
    if proxies:
        client = module.client()
        for px in proxies:
            try:
                data = client.get_raw(revision_path(px["api"], px["revision"]), params=BUNDLE_PARAMS)
            except MtlsError as exc:
                notes.append("proxy %s revision %s not exported: %s" % (px["api"], px["revision"], exc))
                continue
            files.update(proxy_bundle_files(data, "proxies/%s/revision-%d" % (px["api"], px["revision"])))
    files["README.md"] = summary_markdown(report, curls, p["log_groups"], proxies, p["steps_tried"], notes)
    return files, curls, proxies


def main():
    module = ApigeeModule({
        "dest_dir": {"type": "path", "required": True},
        "report": {"type": "dict", "required": True},
        "report_markdown": {"type": "str", "default": ""},
        "data": {"type": "dict", "default": {}},
        "call_url": {"type": "str", "default": ""},
        "call_urls": {"type": "dict", "default": {}},
        "include_ok_links": {"type": "bool", "default": False},
        "export_proxies": {"type": "bool", "default": True},
        "log_groups": {"type": "list", "elements": "dict", "default": []},
        "extra_files": {"type": "list", "elements": "path", "default": []},
        "steps_tried": {"type": "list", "elements": "str", "default": []},
        "secrets": {"type": "list", "elements": "str", "default": [], "no_log": True},
    })
    p = module.params
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    root = "support-bundle-%s-%s" % (p["org"], stamp)
    path = os.path.join(p["dest_dir"], root + ".tar.gz")
    literals = [s for s in [p["password"], p["token"], p["mfa_token"], *p["secrets"]] if s]
    notes = []

    def work(p):
        try:
            files, curls, proxies = _gather(module, p, notes)
            data, manifest = build_archive(files, root, literals)
            if not module.check_mode:
                write_atomic(path, data)
        except (MtlsError, OSError) as exc:
            raise MtlsError("support bundle not written: %s" % exc) from None
        # a new archive (its name carries the time) is written on every run: changed, or would be in check mode
        return {"changed": True, "path": path, "files": manifest["files"], "excluded": manifest["excluded"],
                "redactions": manifest["redactions"], "proxies": proxies, "notes": notes,
                "curl": [c["curl"] for c in curls if c["curl"]]}

    # the client is built only when a proxy bundle is exported (MtlsModule.run: no connection up front)
    MtlsModule.run(module, work)


if __name__ == "__main__":
    main()
