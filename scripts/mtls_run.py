#!/usr/bin/env python3
"""Run a playbook of this project and exit with a code a pipeline can act on.

    scripts/mtls_run.py playbooks/diagnose.yml -i inventory/prod [ansible-playbook options...]

Exit codes:
  0    the run worked and every link is ok
  10   the run worked and some links are not ok (they are listed; the report has the evidence)
  else the run failed: ansible-playbook's own code (1 error, 2 a task failed, 4 unreachable, 5 bad options, ...)

How: the playbook is run with ``-e mtls_status_file=<a private temporary file>``; a run that worked writes its status
there as its last step (plugins/module_utils/mtls/run_status.py), a run that failed writes none. A status of this run
decides; without one, ansible-playbook's code is the answer (and 1 if that was 0). Playbooks without a status
(support_bundle.yml) exit with ansible-playbook's code.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATUS_PLAYBOOKS = ("diagnose", "remediate")


def ansible_playbook() -> str:
    local = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
    return local if os.access(local, os.X_OK) else (shutil.which("ansible-playbook") or "ansible-playbook")


def _says_status(args: list[str]) -> bool:
    return any(os.path.splitext(os.path.basename(a))[0] in STATUS_PLAYBOOKS for a in args if a.endswith((".yml",
                                                                                                       ".yaml")))


def run(args: list[str], stream=sys.stderr) -> int:
    with tempfile.TemporaryDirectory(prefix="mtls-run-") as tmp:
        status_file = os.path.join(tmp, "status.json")
        env = dict(os.environ)
        env.setdefault("ANSIBLE_CONFIG", os.path.join(ROOT, "ansible.cfg"))
        rc = subprocess.run([ansible_playbook(), *args, "-e", "mtls_status_file=%s" % status_file], env=env,
                            check=False).returncode
        if not os.path.exists(status_file):
            if _says_status(args):
                print("mtls-run: the run failed (ansible-playbook exit code %d) before it wrote its status" % rc,
                      file=stream)
                return rc or 1
            return rc
        with open(status_file, encoding="utf-8") as fh:
            status = json.load(fh)
    code = int(status.get("exit_code", 1))
    report = status.get("report") or "none (check mode)"
    if status.get("status") == "ok":
        print("mtls-run: %s: every one of %d link(s) ok; report: %s"
              % (status.get("playbook"), status.get("links", 0), report), file=stream)
    else:
        print("mtls-run: %s: %d of %d link(s) not ok (exit %d); report: %s"
              % (status.get("playbook"), len(status.get("not_ok") or []), status.get("links", 0), code,
                 report), file=stream)
        for row in status.get("not_ok") or []:
            print("  %-28s %s" % (row.get("verdict"), row.get("id")), file=stream)
    return code


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 5
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
