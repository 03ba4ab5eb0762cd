"""remediate.yml --check on the shared lab (scenario all; Edge and X: any_lab): the plan for every lab link from the
real diagnosis, and a missing backend mapping turns the CA fixes into `manual` naming the exact missing input. Check
mode writes nothing, so the shared lab keeps its broken scenario for the other tests."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATUS_FOR = {"ok": "none", "no_client_certificate": "fix", "alias_missing": "fix", "chain_incomplete": "fix",
              "ca_mismatch": "fix", "client_auth_disabled": "fix", "key_type_not_accepted": "fix",
              "no_certificate_verify_scheme": "fix", "signature_algorithm_rejected": "fix"}


def check_run(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               MTLS_REPORT_DIR=str(tmp_path / "reports"))
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "remediate.yml"), "-i",
                          os.path.join(ROOT, "inventory", "lab"), "--check", *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    return out


def rows(out):
    """The check-mode lines of the report task: '<id>: ok', '<id>: <verdict>: would fix (<action>)' and
    '<id>: <verdict>: manual, not changed by the tool (<action>); missing: ...'."""
    found = {}
    for line in out.splitlines():
        line = line.strip().strip('",')
        for prefix in ("proxy:", "targetserver:", "callout:"):
            if line.startswith(prefix) and (line.endswith(": ok") or ": would fix (" in line or ": manual, " in line):
                link_id, rest = line.split(": ", 1)
                found[link_id] = rest
    return found


def test_plan_for_every_lab_link_and_a_missing_backend_mapping(any_lab, tmp_path):
    lab = any_lab
    got = rows(check_run(tmp_path, "-e", "apigee_mtls_remediate_backend_group=no_such_group"))
    for link in lab["links"]:
        rest = got[link["id"]]
        verdict = link["expected_verdict"]
        if verdict == "ok":
            assert rest == "ok", (link["id"], rest)
            continue
        assert "->" not in rest, rest   # nothing changed in check mode: a plan, not a before/after
        if verdict != "ca_mismatch":
            assert STATUS_FOR[verdict] == "fix" and rest.startswith(verdict + ": would fix ("), (link["id"], rest)
            continue
        # the CA fix needs the backend host mapped in inventory: manual, naming what is missing
        backend = next(b for b in lab["backends"] if b["name"] == link["backend"])
        assert rest.startswith("ca_mismatch: manual, not changed by the tool (trust_issuer)"), rest
        assert "no backend in group no_such_group serves" in rest and str(backend["port"]) in rest, rest
