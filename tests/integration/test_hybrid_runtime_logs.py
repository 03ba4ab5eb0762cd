"""Apigee hybrid: the message processor is the apigee-runtime container and its log is read with kubectl
(APIGEE-FACTS.md: "hybrid runtime logs are the apigee-runtime containers' logs in Kubernetes (format unverified)";
Google's hybrid documentation, "Runtime logs": ``kubectl logs -n APIGEE_NAMESPACE apigee-runtime-...``).

The hybrid lab's real JSSE MP writes its handshake failures into one pod log per env (lab/apigee_lab/kube.py), which the
lab's kubectl reads back; the diagnosis joins them to the links as it joins an Edge MP's system.log."""
import json
import os
import subprocess
import sys

import pytest
import requests

from tests.helpers.lab import running_lab

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
LINK = "targetserver:test/ts-missing-cert-jsse"


@pytest.fixture(scope="module")
def hlab(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("hybrid-lab"))
    with running_lab(state, "missing-client-cert", platform="hybrid") as manifest:
        link = next(lk for lk in manifest["links"] if lk["id"] == LINK)
        manifest["message_ids"] = []
        for _ in range(3):   # the failing call, as a client sees it: 503 and the message ID the MP logs
            res = requests.get(manifest["mp_url"] + link["basepath"], timeout=30)
            assert res.status_code == 503, res.text
            manifest["message_ids"].append(res.headers["X-Apigee.Message-ID"])
        yield manifest


def _env(hlab):
    return dict(os.environ, MTLS_LAB_STATE=hlab["state"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                ANSIBLE_NOCOLOR="1")


def _kubectl(hlab, *args):
    logs = hlab["runtime_logs"]
    return subprocess.run([sys.executable, logs["kubectl"], "--kubeconfig", logs["kubeconfig"], "--namespace",
                           logs["namespace"], *args], capture_output=True, text=True, timeout=30, check=False)


def test_the_hybrid_lab_mp_logs_in_its_runtime_pods_in_hybrids_shape(hlab):
    assert "system_log" not in hlab   # hybrid has no MP system.log to read on a host
    pods = _kubectl(hlab, "get", "pods", "--selector", "app=apigee-runtime", "--output", "name").stdout.split()
    assert len(pods) == 2 and all(p.startswith("pod/apigee-runtime-lab-") for p in pods)
    test_pod = next(p for p in pods if p.startswith("pod/apigee-runtime-lab-test-"))
    lines = _kubectl(hlab, "logs", test_pod, "--container", "apigee-runtime", "--timestamps").stdout.splitlines()
    failures = [ln for ln in lines if "handshakeFailed()" in ln and "handshake failed, message:" in ln]
    assert len(failures) == 3
    for line in failures:   # the container runtime's time, then the record as the documentation shows it
        stamp, record = line.split(" ", 1)
        assert stamp.endswith("Z") and "T" in stamp
        assert record.startswith("hybrid-runtime org:lab env:test api:mtls-missing-cert-jsse rev:1 messageid:")
    plain = _kubectl(hlab, "logs", test_pod, "--container", "apigee-runtime").stdout.splitlines()
    assert plain[0].startswith("hybrid-runtime ")


def test_the_module_groups_the_runtime_pods_failures(hlab):
    logs = hlab["runtime_logs"]
    res = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-m", "apigee_runtime_log_scan", "-a",
                          json.dumps({"kubectl": logs["kubectl"], "kubeconfig": logs["kubeconfig"], "org": "lab",
                                      "since": "1h"}), "-o"],
                         capture_output=True, text=True, timeout=120, env=_env(hlab), cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout.split("=>", 1)[1])
    assert out["changed"] is False and out["records"] == 3 and len(out["pods"]) == 2
    [group] = out["groups"]
    assert (group["env"], group["api"], group["alert"], group["count"]) == \
        ("test", "mtls-missing-cert-jsse", "bad_certificate", 3)
    assert group["remote_port"] == next(b["port"] for b in hlab["backends"] if b["name"] == "jsse-a")
    assert sorted(group["message_ids"]) == sorted(hlab["message_ids"])
    assert group["sources"] == ["pod/%s/apigee-runtime" % next(p for p in out["pods"] if "-test-" in p)]
    assert group["record"].splitlines()[0].split(" ", 1)[1].startswith("hybrid-runtime org:lab env:test")


def test_diagnose_joins_the_runtime_pod_log_to_its_link(hlab, tmp_path):
    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-e", "mtls_report_dir=%s" % tmp_path,
                          "-e", "mtls_trace=false"],
                         capture_output=True, text=True, timeout=600, env=_env(hlab), cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    report = json.load(open(tmp_path / "mtls-report.json", encoding="utf-8"))
    rows = {r["id"]: r for r in report["links"]}
    assert {i: r["verdict"] for i, r in rows.items()} == {lk["id"]: lk["expected_verdict"] for lk in hlab["links"]}
    mp_log = rows[LINK]["evidence"]["mp_log"]
    assert mp_log["count"] == 3 and mp_log["alerts"] == ["bad_certificate"]
    assert sorted(mp_log["message_ids"]) == sorted(hlab["message_ids"])
    assert mp_log["groups"][0]["sources"][0].startswith("pod/apigee-runtime-lab-test-")
    # the nginx backend answers a missing certificate with HTTP 400 after the handshake: no handshake record
    assert [i for i, r in rows.items() if "mp_log" in r["evidence"]] == [LINK]


def test_the_traced_calls_records_are_read_from_the_runtime_pods_by_message_id(hlab, tmp_path):
    """With the trace on (the lab inventory's default), the diagnosis traces the broken link's call (an X debug
    session); its message ID then selects that call's record in the runtime pod's log, joined to the trace as an Edge
    MP's system.log record is."""
    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-e", "mtls_report_dir=%s" % tmp_path],
                         capture_output=True, text=True, timeout=600, env=_env(hlab), cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    report = json.load(open(tmp_path / "mtls-report.json", encoding="utf-8"))
    trace = {r["id"]: r for r in report["links"]}[LINK]["evidence"]["trace"]
    mid = trace["message_id"]
    assert mid and mid not in hlab["message_ids"]   # the traced call's own ID, not one of the earlier calls'
    assert trace["mp_log_records"], trace
    assert all(mid in record for record in trace["mp_log_records"])
    assert any("handshake failed, message: Received fatal alert: bad_certificate" in record
               and record.split(" ", 1)[1].startswith("hybrid-runtime org:lab env:test api:mtls-missing-cert-jsse")
               for record in trace["mp_log_records"])
    assert mid in (tmp_path / "mtls-report.md").read_text()


def test_a_runtime_log_kubectl_cannot_read_is_said_and_the_diagnosis_goes_on(hlab, tmp_path):
    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-e", "mtls_report_dir=%s" % tmp_path,
                          "-e", "mtls_trace=false", "-e", "mtls_runtime_namespace=apigee-prod"],
                         capture_output=True, text=True, timeout=600, env=_env(hlab), cwd=ROOT, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "apigee-runtime logs not read on localhost: no pod in namespace apigee-prod has the label " \
           "app=apigee-runtime" in " ".join(res.stdout.split())
    report = json.load(open(tmp_path / "mtls-report.json", encoding="utf-8"))
    assert not any("mp_log" in r["evidence"] for r in report["links"])
    assert {r["id"]: r["verdict"] for r in report["links"]} == {lk["id"]: lk["expected_verdict"]
                                                                for lk in hlab["links"]}
