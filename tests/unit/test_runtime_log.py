"""Apigee hybrid's runtime logs read with kubectl (runtime_log.py) and the hybrid records in mp_log.py.

kubectl here is the lab's (lab/kubectl over a lab state made by apigee_lab/kube.py, no cluster): its answers and
messages are the ones the integration tests meet. The handshake records themselves come from the lab's real JSSE MP
(tests/integration/test_hybrid_runtime_logs.py); these tests cover the parts that need no handshake."""
import os
import subprocess
import sys

import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.mp_log import iter_records, record_head
from ansible.module_utils.mtls.runtime_log import kubectl_argv, runtime_pods, scan_runtime_logs
from apigee_lab import kube

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBECTL = os.path.join(ROOT, "lab", "kubectl")


def run(argv):
    res = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=30, check=False)
    return res.returncode, res.stdout, res.stderr


@pytest.fixture
def cluster(tmp_path):
    state = str(tmp_path)
    pods = kube.create_pods(state, "lab", ["test", "prod"])
    return {"state": state, "kubeconfig": kube.write_kubeconfig(state), "pods": pods}


def test_a_kubectl_timestamp_is_the_records_time_in_utc():
    assert record_head("2026-12-03T08:08:43.369900000Z hybrid-runtime org:o env:e main INFO X - Y() : up\n") == (
        "2026-12-03 08:08:43,369", "org:o env:e main INFO X - Y() : up")
    # a kubectl that prints local offsets: the same instant in UTC, so records of several pods order by time
    assert record_head("2026-12-03T17:08:43.5+09:00 hybrid-runtime org:o main INFO X - Y() : up")[0] == \
        "2026-12-03 08:08:43,500"
    # without --timestamps a hybrid record has no time; an Edge record keeps its own under kubectl's
    assert record_head("hybrid-runtime org:o main INFO X - Y() : up") == (None, "org:o main INFO X - Y() : up")
    assert record_head("2026-12-03T08:08:43Z 2026-12-03 08:08:40,001 org:o main INFO X - Y() : up")[0] == \
        "2026-12-03 08:08:40,001"


def test_continuation_lines_under_kubectl_timestamps_join_their_record():
    lines = ["2026-12-03T08:08:43.1Z hybrid-runtime org:o env:e main ERROR X - Y() : first\n",
             "2026-12-03T08:08:43.1Z \tat a.b.C.d(C.java:1)\n",
             "2026-12-03T08:08:43.2Z hybrid-runtime org:o env:e main INFO X - Y() : second\n"]
    records = list(iter_records(lines))
    assert records == [("2026-12-03 08:08:43,100", "org:o env:e main ERROR X - Y() : first at a.b.C.d(C.java:1)"),
                       ("2026-12-03 08:08:43,200", "org:o env:e main INFO X - Y() : second")]


def test_kubectl_is_called_with_the_namespace_context_and_kubeconfig_given():
    assert kubectl_argv("kubectl", "get", "pods", kubeconfig="/k", context="c", namespace="ns") == \
        ["kubectl", "--kubeconfig", "/k", "--context", "c", "--namespace", "ns", "get", "pods"]
    assert kubectl_argv("kubectl", "logs", "pod/p") == ["kubectl", "--namespace", "apigee", "logs", "pod/p"]


def test_the_runtime_pods_are_those_the_selector_selects(cluster):
    assert runtime_pods(run, KUBECTL, cluster["kubeconfig"]) == sorted(cluster["pods"])
    test_pod = kube.pod_name("lab", "test")
    assert runtime_pods(run, KUBECTL, cluster["kubeconfig"], selector="app=apigee-runtime,env=test") == [test_pod]


def test_no_pod_selected_is_an_error_that_says_what_to_look_at(cluster):
    with pytest.raises(MtlsError, match=r"no pod in namespace apigee-x has the label app=apigee-runtime.*"
                                        r"kubectl get pods -n <namespace> --show-labels"):
        runtime_pods(run, KUBECTL, cluster["kubeconfig"], namespace="apigee-x")


def test_kubectl_errors_are_passed_on_in_plain_words(cluster):
    with pytest.raises(MtlsError, match=r'listing the hybrid runtime pods failed \(kubectl exit 1\): '
                                        r'error: context "prod-cluster" does not exist'):
        scan_runtime_logs(run, KUBECTL, cluster["kubeconfig"], context="prod-cluster")
    with pytest.raises(MtlsError, match=r"reading the log of pod apigee-runtime-lab-\S+ failed \(kubectl exit 1\): "
                                        r"error: container runtime is not valid for pod"):
        scan_runtime_logs(run, KUBECTL, cluster["kubeconfig"], container="runtime")


def test_a_since_kubectl_would_refuse_is_refused_before_kubectl_runs():
    calls = []
    with pytest.raises(MtlsError, match="since must be a kubectl duration such as 30m, 24h or 1h30m, got '1 day'"):
        scan_runtime_logs(lambda argv: calls.append(argv) or (0, "", ""), since="1 day")
    assert calls == []


def test_empty_pod_logs_give_no_group_and_name_every_log_read(cluster):
    res = scan_runtime_logs(run, KUBECTL, cluster["kubeconfig"], since="1h")
    assert res["groups"] == [] and res["records"] == 0
    assert res["files"] == ["pod/%s/apigee-runtime" % p for p in sorted(cluster["pods"])]


def test_the_records_of_a_traced_message_id_are_read_as_logged_with_their_continuations():
    """What the trace names (its X-Apigee.Message-ID) selects the pod log's records, continuation lines included;
    another call's record is not taken."""
    from ansible.module_utils.mtls.mp_log import records_naming

    lines = ["2026-12-03T08:08:43.1Z hybrid-runtime org:o env:e api:a rev:1 messageid:mid-1 ERROR X - Y() : failed\n",
             "2026-12-03T08:08:43.1Z \tat a.b.C.d(C.java:1)\n",
             "2026-12-03T08:08:44.2Z hybrid-runtime org:o env:e api:a rev:1 messageid:mid-2 ERROR X - Y() : failed\n"]
    assert records_naming(lines, ["mid-1"]) == [lines[0] + lines[1].rstrip("\n")]
    assert records_naming(lines, ["mid-3"]) == [] and records_naming(lines, []) == []
