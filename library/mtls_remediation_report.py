#!/usr/bin/python
"""Module mtls_remediation_report: write the remediation report's files in one go."""

DOCUMENTATION = r"""
module: mtls_remediation_report
short_description: Write the before/after remediation report, this run's copy and its plan
description:
  - Writes C(remediation.json) and C(remediation.md) (the links before and after, the counts, what changed object by
    object with its rollback, keystores changed in place, MPs restarted) into O(report_dir), and into O(run_dir) with
    the plan beside them (C(plan.md)).
  - With O(after_is_before), this run's C(before.json) and C(before.md) are kept as C(after.json) and C(after.md) - a
    run that changed nothing has its diagnosis after the fixes already.
  - One module call for every file of the report (role M(apigee_mtls_remediate)'s last step), instead of a task per
    file and folder.
options:
  report_dir:
    description: The report folder (made if needed).
    type: path
    required: true
  run_dir:
    description: This run's folder (C(<report_dir>/runs/<run>)), where the report, the plan and the after copy also go.
    type: path
  report:
    description:
      - The remediation report - C(links) (the before/after rows), C(counts), C(renames), C(restart_required),
        C(restart_pending), C(mp_restarted), C(changes), C(failure). A key left out is empty in the file.
    type: dict
    required: true
  plan:
    description: The remediation plan, written as C(plan.md) in O(run_dir) (nothing without O(run_dir)).
    type: dict
  org:
    description: The organization, named in C(plan.md).
    type: str
  envs:
    description: The environments, named in C(plan.md).
    type: list
    elements: str
    default: []
  report_lang:
    description: The Markdown report's language.
    type: str
    default: en
    choices: [en, ja]
  after_is_before:
    description: Keep O(run_dir)'s C(before.json) / C(before.md) as C(after.json) / C(after.md).
    type: bool
    default: false
requirements:
  - "Python 3.10 or later on the controller (standard library only)"
extends_documentation_fragment:
  - attributes
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode.
  diff_mode:
    support: none
    description: The report files are artefacts of the run; no diff is shown.
seealso:
  - module: apigee_mtls_diagnose
"""

EXAMPLES = r"""
- name: Write the before/after report
  mtls_remediation_report:
    report_dir: reports/
    run_dir: "{{ mtls_run_dir }}"
    report:
      links: "{{ rows }}"
      counts: "{{ plan.counts }}"
    plan: "{{ plan }}"
  delegate_to: localhost
"""

RETURN = r"""
paths:
  description: The files written (or, in check mode, that would be).
  returned: success
  type: list
  elements: str
  sample: [reports/remediation.json, reports/remediation.md]
"""

from ansible.module_utils.mtls.module_ansible import MtlsModule
from ansible.module_utils.mtls.remediation_report import write_remediation_report


def main():
    module = MtlsModule({
        "report_dir": {"type": "path", "required": True},
        "run_dir": {"type": "path"},
        "report": {"type": "dict", "required": True},
        "plan": {"type": "dict"},
        "org": {"type": "str"},
        "envs": {"type": "list", "elements": "str", "default": []},
        "report_lang": {"type": "str", "default": "en", "choices": ["en", "ja"]},
        "after_is_before": {"type": "bool", "default": False},
    })

    def work(p):
        return write_remediation_report(p["report"], p["report_dir"], p["run_dir"], p["report_lang"], p["plan"],
                                        p["org"], p["envs"], p["after_is_before"], module.check_mode)

    module.run(work)


if __name__ == "__main__":
    main()
