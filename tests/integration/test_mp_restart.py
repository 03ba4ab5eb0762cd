"""The opt-in MP restart of remediate.yml (mtls_mp_restart=true, group apigee_mps), against the lab's MP.

Apigee (docs.apigee.com update-tls-certificate-private-cloud, restarting-routers-and-message-processors): a keystore
changed in place (same name) is used by the Message Processors only after they restart; on Private Cloud they are
restarted one at a time (stop, start, wait_for_ready), traffic proven in between. The lab's MP keeps what it loaded
until such a restart, so a fix in place verifies only with it."""
import json
import os
import subprocess
import sys

import pytest
import requests

from tests.helpers.lab import run_labctl, running_lab

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("mp-restart-lab"))
    with running_lab(state, "chain-incomplete") as manifest:
        yield dict(manifest, state=state)


def remediate(lab, reports, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               MTLS_LAB_STATE=lab["state"], MTLS_REPORT_DIR=str(reports))
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "remediate.yml"),
                          "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", "apigee_mtls_remediate_strategy=in_place", *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return res.returncode, res.stdout + res.stderr


def calls(lab):
    return [requests.get(lab["mp_url"] + link["basepath"], timeout=30).status_code for link in lab["links"]]


def diagnose(lab, reports, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               MTLS_LAB_STATE=lab["state"], MTLS_REPORT_DIR=str(reports))
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    return {row["id"]: row["verdict"] for row in json.loads((reports / "mtls-report.json").read_text())["links"]}


def test_a_fix_in_place_verifies_only_once_the_mps_are_restarted_one_at_a_time(lab, tmp_path):
    rc, out = remediate(lab, tmp_path / "without")
    # the management API holds the complete chains, so the probe alone would say ok: the diagnosis after the fix
    # knows the keystores were changed in place with no restart since, and says so instead of ok
    assert rc != 0 and "(mp_restart_pending)" in out, out[-3000:]
    assert "PLAY [Restart the Message Processors" in out and "Stop the Message Processor" not in out
    assert calls(lab) == [503, 400]  # ... and the MP still sends what it loaded
    pending = json.loads((tmp_path / "without" / "remediation.json").read_text())["restart_pending"]
    assert sorted(pending) == sorted("test/%s" % link["keystore"] for link in lab["links"])
    # a later diagnosis (the scheduled run) still says so, until a restart is recorded
    assert set(diagnose(lab, tmp_path / "without").values()) == {"mp_restart_pending"}
    assert set(diagnose(lab, tmp_path / "without", "-e", "mtls_mp_restarted=true").values()) == {"ok"}

    run_labctl(lab["state"], "reset", check=True)
    rc, out = remediate(lab, tmp_path / "with", "-e", "mtls_mp_restart=true")
    assert rc == 0, out[-4000:]
    for step in ("Stop the Message Processor", "Start the Message Processor", "Wait until the Message Processor is "
                 "ready", "Calls through Apigee work before the next MP is restarted"):
        assert "TASK [apigee_mp_restart : %s" % step in out
    report = json.loads((tmp_path / "with" / "remediation.json").read_text())
    assert report["mp_restarted"] == ["lab-mp"] and report["restart_required"] == []
    assert report["restart_pending"] == {}
    assert [row["after"] for row in report["links"]] == ["ok", "ok"]
    assert calls(lab) == [200, 200]
    assert "Message Processors restarted one at a time" in (tmp_path / "with" / "remediation.md").read_text()


def test_the_lab_mp_answers_like_apigee_service(lab):
    """labctl stop-mp / start-mp / wait-mp-ready stand for apigee-service edge-message-processor stop / start /
    wait_for_ready, whose ready line is "Checking if message-processor is up: message-processor is up."."""
    assert "stopped" in run_labctl(lab["state"], "stop-mp", check=True).stdout
    down = run_labctl(lab["state"], "wait-mp-ready", "--timeout", "1")
    assert down.returncode == 1 and "message-processor is not up" in down.stdout
    assert "started" in run_labctl(lab["state"], "start-mp", check=True).stdout
    up = run_labctl(lab["state"], "wait-mp-ready", check=True)
    assert up.stdout.strip() == "Checking if message-processor is up: message-processor is up."
