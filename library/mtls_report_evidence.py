#!/usr/bin/python
"""Module mtls_report_evidence: the trace, MP log records and capture joined to the diagnosis report's links."""

DOCUMENTATION = r"""
module: mtls_report_evidence
short_description: Join the trace, the MP log records and the packet capture to the diagnosis report
description:
  - Reads the report that M(apigee_mtls_diagnose) wrote (C(<report_dir>/mtls-report.json)) and adds to each link
    the evidence gathered after it, C(evidence.trace) (M(apigee_trace)), the MP system.log records of the traced
    call's message ID (M(apigee_mp_log_records)), one of them as C(evidence.mp_log.record), and
    C(evidence.capture) (M(mtls_capture_read)), then writes the JSON and Markdown reports again (and this run's
    copy in O(run_dir)).
  - Evidence only, verdicts and plans stay as the diagnosis made them. When the capture shows the MP sending a
    certificate where the diagnosis predicts none (or the other way round), the link's evidence and notes say so.
  - Capture connections are matched to a link by the backend's address and port; with a trace, only those made
    during the traced call (so that the tool's own probes are left out).
options:
  report_dir:
    description: The folder of the diagnosis report.
    type: path
    required: true
  run_dir:
    description: This run's folder (the report is also written there as C(<run_stage>.json) / C(.md)).
    type: path
  run_stage:
    description: The stage name of this run's copy.
    type: str
    default: diagnosis
    choices: [diagnosis, before, after]
  report_lang:
    description: The Markdown report's language.
    type: str
    default: en
    choices: [en, ja]
  traces:
    description: Per link id the trace evidence (M(apigee_trace)'s C(traces)).
    type: dict
    default: {}
  mp_log_records:
    description: MP system.log records (M(apigee_mp_log_records)'s C(records)).
    type: list
    elements: str
    default: []
  captures:
    description: Results of M(mtls_capture_read) (each with C(file) and C(connections)).
    type: list
    elements: dict
    default: []
  return_report:
    description:
      - What RV(report) holds - C(full), the whole report, or C(rows), its summary and per link the fields later
        plays read, with C(path) naming the file of the whole report (as M(apigee_mtls_diagnose)'s O(return_report)).
    type: str
    default: full
    choices: [full, rows]
requirements:
  - "Python 3.10 or later on the controller (standard library only)"
extends_documentation_fragment:
  - attributes
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode.
    details: In check mode the reports are not written; the joined report is returned.
seealso:
  - module: apigee_trace
  - module: mtls_capture_read
  - module: apigee_mp_log_records
"""

EXAMPLES = r"""
- name: Join the trace and the capture to the report
  mtls_report_evidence:
    report_dir: reports/
    traces: "{{ trace.traces }}"
    captures: ["{{ capture }}"]
  register: joined
"""

RETURN = r"""
report:
  description: The report with the evidence joined (the schema of C(docs/mtls-report.schema.json)), or its rows
    (O(return_report=rows)).
  returned: success
  type: dict
  sample: {summary: {total: 2, ok: 0, broken: 2}, links: []}
report_paths:
  description: The JSON and Markdown reports written.
  returned: success
  type: dict
  sample: {json: reports/mtls-report.json, markdown: reports/mtls-report.md}
contradictions:
  description: The links whose capture contradicts the verdict, with what it shows.
  returned: success
  type: dict
  sample: {"targetserver:prod/orders": "the capture shows the MP sending a certificate, ..."}
"""

import json
import os

from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.evidence import attach_evidence
from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.mp_log import resolve_hosts
from ansible.module_utils.mtls.report import report_texts, run_files, write_reports
from ansible.module_utils.mtls.report_rows import returned_report
from ansible.module_utils.mtls.report_runs import write_files


def main():
    module = MtlsModule({
        "report_dir": {"type": "path", "required": True},
        "run_dir": {"type": "path"},
        "run_stage": {"type": "str", "default": "diagnosis", "choices": ["diagnosis", "before", "after"]},
        "report_lang": {"type": "str", "default": "en", "choices": ["en", "ja"]},
        "traces": {"type": "dict", "default": {}},
        "mp_log_records": {"type": "list", "elements": "str", "default": []},
        "captures": {"type": "list", "elements": "dict", "default": []},
        "return_report": {"type": "str", "default": "full", "choices": ["full", "rows"]},
    })

    def work(p):
        path = os.path.join(p["report_dir"], "mtls-report.json")
        try:
            with open(path, encoding="utf-8") as fh:
                report = json.load(fh)
        except FileNotFoundError:
            raise MtlsError("no diagnosis report at %s: run apigee_mtls_diagnose with report_dir" % path) from None
        except ValueError as exc:
            raise MtlsError("%s is not a diagnosis report (%s)" % (path, exc)) from None
        hosts = {r["host"] for r in report.get("links") or [] if r.get("host")} if p["captures"] else set()
        attach_evidence(report, p["traces"], p["mp_log_records"], p["captures"], resolve_hosts(hosts))
        texts = report_texts(report, p["report_lang"])
        paths, changed = write_reports(report, p["report_dir"], check_mode=module.check_mode, lang=p["report_lang"],
                                       texts=texts)
        if p["run_dir"] and not module.check_mode:
            write_files(p["run_dir"], run_files(texts, p["run_stage"]))
        contradictions = {r["id"]: r["evidence"]["capture"]["contradiction"] for r in report.get("links") or []
                          if ((r.get("evidence") or {}).get("capture") or {}).get("contradiction")}
        written = None if module.check_mode else paths.get("json")
        return {"changed": changed, "report": returned_report(report, p["return_report"], written),
                "report_paths": paths, "contradictions": contradictions,
                "warnings": ["%s: %s" % kv for kv in sorted(contradictions.items())]}

    module.run(work)


if __name__ == "__main__":
    main()
