"""The preflight (role mtls_preflight) runs first in every playbook and stops a run before any other task with the
exact thing to fix: placeholders left from the example inventories, a probe host whose Python lacks the packages, an
environment the org does not have, credentials Apigee refuses."""
import os
import subprocess
import sys

import pytest
import requests

from tests.integration.test_support_bundle import ROOT, run_playbook

pytestmark = pytest.mark.integration

PLAYBOOKS = ("diagnose.yml", "remediate.yml", "converge.yml", "support_bundle.yml", "migration_check.yml")


def _requests_made(lab):
    return requests.get(lab["mgmt_url"] + "/_lab/requests", timeout=10).json()["total"]


def _example_run(playbook, example):
    """ansible-playbook <playbook> on an example inventory as shipped: its output; the run must fail (exit 2)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", playbook), "-i",
                          os.path.join(ROOT, "inventory", "example", example)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-3000:]
    return out


@pytest.mark.parametrize("example", ["public-cloud", "private-cloud"])
def test_the_example_inventories_as_shipped_stop_at_the_first_task_naming_each_placeholder(example):
    out = _example_run("diagnose.yml", example)
    assert "The inventory holds no placeholder of the example inventory" in out
    assert "apigee_org is still the example organization 'myorg'" in out
    assert "apigee_password still holds the placeholder CHANGE-ME" in out
    assert "Diagnose every" not in out and "probe host is reachable" not in out   # nothing after it ran


def test_the_apigee_x_example_as_shipped_stops_the_migration_check_naming_both_orgs_placeholders():
    out = _example_run("migration_check.yml", "apigee-x")
    assert "apigee_org is still the example organization 'my-org'" in out
    # the source org's secret is named, never shown; its example user is named with its value
    assert "mtls_migration_source.password still holds the placeholder CHANGE-ME:" in out
    assert "mtls_migration_source.username still names an example host or address ('ops@example.com')" in out
    assert "x-bastion.example.internal" in out
    assert "Compare the source org" not in out   # nothing after the preflight ran


def test_every_playbook_starts_with_the_preflight():
    for name in PLAYBOOKS:
        with open(os.path.join(ROOT, "playbooks", name), encoding="utf-8") as fh:
            text = fh.read()
        first_role = text.split("include_role:", 1)[1].split("name:", 1)[1].split("\n", 1)[0].strip()
        assert first_role == "mtls_preflight", name


def test_an_environment_the_org_does_not_have_is_named_with_those_it_has(lab):
    res = run_playbook(os.path.join(ROOT, "playbooks", "diagnose.yml"), "-e", '{"apigee_envs": ["test", "qa"]}')
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-3000:]
    assert "environment(s) 'qa' do not exist in organization 'lab'" in out
    assert "it has: prod, test (check apigee_envs)" in out   # the lab's org has both (labctl up)
    assert "Diagnose every" not in out


def test_credentials_apigee_refuses_stop_the_run_before_any_other_api_call(lab):
    before = _requests_made(lab)
    res = run_playbook(os.path.join(ROOT, "playbooks", "remediate.yml"), "-e", "apigee_password=not-the-password")
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-3000:]
    assert "authentication failed for user %s" % lab["username"] in out
    assert "not-the-password" not in out
    assert _requests_made(lab) - before == 1   # the preflight's one call, and nothing after it


def test_a_probe_host_whose_python_lacks_the_packages_is_named_with_the_pip_line(lab, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    python = str(bare / "bin" / "python")
    extra = tmp_path / "probe.yml"
    extra.write_text("all:\n  hosts:\n    bare-probe:\n      ansible_connection: local\n"
                     "      ansible_python_interpreter: %s\n" % python)
    before = _requests_made(lab)
    res = run_playbook(os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i", str(extra),
                       "-e", "mtls_probe_host=bare-probe")
    out = res.stdout + res.stderr
    assert res.returncode == 2, out[-3000:]
    assert "the Python that Ansible uses on this host (%s" % python in out
    assert "lacks requests>=2.31,<3, cryptography>=42,<51, pyOpenSSL>=24,<27" in out
    assert "-m pip install 'requests>=2.31,<3'" in out
    assert _requests_made(lab) == before   # stopped before any API call
