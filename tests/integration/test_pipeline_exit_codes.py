"""A pipeline tells "the run worked and found broken links" from "the run failed": scripts/mtls_run.py around
ansible-playbook exits 10 for the first, ansible-playbook's own code for the second, 0 when every link is ok --
against the lab (Edge and X: any_lab), with the playbooks as users run them."""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mtls_run(lab_state, report_dir, *args):
    env = dict(os.environ, MTLS_LAB_STATE=lab_state, MTLS_REPORT_DIR=str(report_dir), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    res = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "mtls_run.py"), *args, "-i",
                          os.path.join(ROOT, "inventory", "lab")], capture_output=True, text=True, timeout=600,
                         env=env, cwd=ROOT, check=False)
    return res.returncode, res.stdout, res.stderr


def test_broken_links_exit_10_and_are_named(any_lab, tmp_path):
    rc, out, err = mtls_run(any_lab["state"], tmp_path / "r", os.path.join(ROOT, "playbooks", "diagnose.yml"))
    broken = [link for link in any_lab["links"] if link["expected_verdict"] != "ok"]
    assert rc == 10, out[-3000:] + err
    assert "%d of %d link(s) not ok" % (len(broken), len(any_lab["links"])) in err
    assert all(link["id"] in err for link in broken)
    assert os.path.realpath(str(tmp_path / "r" / "mtls-report.json")) in err


def test_mtls_fail_on_broken_is_still_a_run_that_worked(any_lab, tmp_path):
    """The play fails on broken links (ansible-playbook exits 2), and the status of the run says why: exit 10."""
    rc, out, err = mtls_run(any_lab["state"], tmp_path / "r", os.path.join(ROOT, "playbooks", "diagnose.yml"),
                            "-e", "mtls_fail_on_broken=true")
    assert rc == 10, out[-3000:] + err
    assert "southbound link(s) are not ok; see %s/mtls-report.md" % os.path.realpath(str(tmp_path / "r")) in out


def test_a_run_that_fails_is_not_mistaken_for_broken_links(any_lab, tmp_path):
    wrong = ("apigee_password=not-the-password" if any_lab["platform"] == "edge"
             else "apigee_service_account_file=%s" % (tmp_path / "no-such-key.json"))
    rc, out, err = mtls_run(any_lab["state"], tmp_path / "r", os.path.join(ROOT, "playbooks", "diagnose.yml"),
                            "-e", wrong)
    assert rc not in (0, 10), out[-3000:] + err
    assert "the run failed (ansible-playbook exit code %d) before it wrote its status" % rc in err


def test_only_ok_links_exit_0(any_lab, tmp_path):
    ok = [link for link in any_lab["links"] if link["expected_verdict"] == "ok"]
    servers = [link["id"].split("/", 1)[1] for link in ok if link["id"].startswith("targetserver:")]
    proxies = [link["id"].split("/")[1] for link in ok if link["id"].startswith("proxy:")]
    assert servers and proxies
    rc, out, err = mtls_run(any_lab["state"], tmp_path / "r", os.path.join(ROOT, "playbooks", "diagnose.yml"),
                            "-e", json.dumps({"mtls_target_servers": servers, "mtls_proxies": proxies}))
    assert rc == 0, out[-3000:] + err
    assert "diagnose: every one of %d link(s) ok" % len(ok) in err


def test_remediate_in_check_mode_reports_the_links_still_broken(any_lab, tmp_path):
    rc, out, err = mtls_run(any_lab["state"], tmp_path / "r", os.path.join(ROOT, "playbooks", "remediate.yml"),
                            "--check")
    assert rc == 10, out[-3000:] + err
    assert "remediate:" in err and "report: none (check mode)" in err
    assert not (tmp_path / "r" / "remediation.json").exists()
