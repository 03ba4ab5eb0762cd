"""labctl end to end: the whole lab (management API emulator, MP runtime, JSSE and nginx backends) in a temp state
folder on free ports; scenario `all` reproduced with plain HTTP calls, as `curl` would."""
import json
import os
import stat
import subprocess
import sys

import pytest
import requests
from apigee_lab import procs

from tests.helpers.lab import free_block, lab_ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABCTL = os.path.join(ROOT, "lab", "labctl")
FAULT = {"fault": {"faultstring": "The Service is temporarily unavailable",
                   "detail": {"errorcode": "messaging.adaptors.http.flow.ServiceUnavailable"}}}
PASSWORD = "Lab-Passw0rd!"

pytestmark = pytest.mark.integration


def labctl(state, *args, timeout=180):
    return subprocess.run([sys.executable, LABCTL, "--state", state, *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def lab_pids(state):
    """Pids of every lab process: the recorded ones and every member of their process groups."""
    out = set()
    run = os.path.join(state, "run")
    for name in os.listdir(run) if os.path.isdir(run) else []:
        if name.endswith(".pid"):
            pid = procs.read_pid(state, name[:-4])
            if procs.pid_alive(pid):
                out.add(pid)
                out.update(procs.group_members(pid))
    return out


def procs_mentioning(state):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if state in cmd and procs.pid_alive(int(entry)):
                found.append((int(entry), cmd))
    return found


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("labctl"))
    block = free_block(lab_ports())
    mgmt, mp, base = block, block + 1, block + 2
    res = labctl(state, "up", "--scenario", "all", "--mgmt-port", str(mgmt), "--mp-port", str(mp),
                 "--backend-port-base", str(base))
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        with open(os.path.join(state, "lab.json"), encoding="utf-8") as fh:
            manifest = json.load(fh)
        yield {"state": state, "out": res.stdout, "lab": manifest}
    finally:
        labctl(state, "down")


def link(up, short):
    return next(x for x in up["lab"]["links"] if x["basepath"] == f"/{short}")


def test_up_prints_urls_and_curl_commands(up):
    lab = up["lab"]
    assert lab["mgmt_url"] in up["out"] and lab["mp_url"] in up["out"]
    for x in lab["links"]:
        assert f"curl -i {lab['mp_url']}{x['basepath']}" in up["out"]


def test_manifest_shape_and_no_secret_in_it(up):
    lab = up["lab"]
    assert (lab["org"], lab["env"], lab["scenario"]) == ("lab", "test", "all")
    assert set(lab["envs"]) == {"test", "prod"}
    raw = open(os.path.join(up["state"], "lab.json"), encoding="utf-8").read()
    assert PASSWORD not in raw and "PRIVATE KEY" not in raw
    assert open(lab["password_file"], encoding="utf-8").read().strip() == PASSWORD
    assert {b["name"]: b["kind"] for b in lab["backends"]} == {
        "jsse-a": "jsse", "jsse-b": "jsse", "nginx-a": "nginx", "nginx-b": "nginx", "jsse-rsa": "jsse",
        "jsse-p256": "jsse", "nginx-rsa": "nginx", "nginx-p256": "nginx"}
    assert lab["mp"] == {"key_manager": "PKIX", "java": "17"}  # `all` holds legacy-root, which needs PKIX
    verdicts = {(x["expected_verdict"], next(b["kind"] for b in lab["backends"] if b["name"] == x["backend"]))
                for x in lab["links"]}
    for verdict in ("ok", "no_client_certificate", "ca_mismatch", "chain_incomplete", "client_auth_disabled",
                    "key_type_not_accepted", "no_certificate_verify_scheme", "signature_algorithm_rejected"):
        assert (verdict, "jsse") in verdicts and (verdict, "nginx") in verdicts
    ids = {x["id"] for x in lab["links"]}
    assert any(i.startswith("targetserver:test/") for i in ids) and any(i.startswith("proxy:test/") for i in ids)
    for x in lab["links"]:
        for name, path in x["material"].items():
            if name != "include_root":  # a flag (false for the legacy-root links), not a file
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for name in os.listdir(os.path.join(up["state"], "pki")):
        assert stat.S_IMODE(os.stat(os.path.join(up["state"], "pki", name)).st_mode) == 0o600


def test_every_link_reproduces_its_scenario(up):
    lab = up["lab"]
    kinds = {b["name"]: b["kind"] for b in lab["backends"]}
    log_path = os.path.join(up["state"], "logs", "mp", "system.log")
    for x in lab["links"]:
        resp = requests.get(lab["mp_url"] + x["basepath"], timeout=30)
        if x["expected_verdict"] == "ok":
            assert resp.status_code == 200, (x["id"], resp.text)
            assert "CN=mp-client-a" in resp.json()["client_subject"]
        elif x["expected_verdict"] == "no_certificate_verify_scheme":
            # the MP sends its P-384 chain, then aborts itself: no CertificateVerify scheme of the backend fits
            assert resp.status_code == 503 and resp.json() == FAULT, (x["id"], resp.text)
            log = open(log_path, encoding="utf-8").read()
            assert "No supported CertificateVerify signature algorithm for EC" in log
        elif kinds[x["backend"]] == "jsse":
            assert resp.status_code == 503, (x["id"], resp.text)
            assert resp.json() == FAULT
            mid = resp.headers["X-Apigee.Message-ID"]
            log = open(log_path, encoding="utf-8").read()
            assert (f"api:{x['proxy']} rev:{x['revision']} messageid:{mid} NIOThread@0 ERROR HTTP.CLIENT - "
                    "HTTPClient$Context.handshakeFailed()") in log
            assert "handshake failed, message: Received fatal alert: bad_certificate" in log
        else:
            assert resp.status_code == 400, (x["id"], resp.text)
            assert "No required SSL certificate was sent" in resp.text


def test_reference_repointed_through_the_api_changes_the_next_call(up):
    lab = up["lab"]
    healthy = link(up, "healthy-jsse")
    url = f"{lab['mgmt_url']}/v1/organizations/lab/environments/test/references/{healthy['reference']}"
    auth = ("lab-admin@example.com", PASSWORD)
    assert requests.get(lab["mp_url"] + healthy["basepath"], timeout=30).status_code == 200
    doc = {"name": healthy["reference"], "refers": link(up, "missing-cert-jsse")["keystore"],
           "resourceType": "KeyStore"}
    assert requests.put(url, json=doc, auth=auth, timeout=30).status_code == 200
    try:
        resp = requests.get(lab["mp_url"] + healthy["basepath"], timeout=30)
        assert resp.status_code == 503 and resp.json() == FAULT
    finally:
        doc["refers"] = healthy["keystore"]
        assert requests.put(url, json=doc, auth=auth, timeout=30).status_code == 200
    assert requests.get(lab["mp_url"] + healthy["basepath"], timeout=30).status_code == 200


def test_a_keystore_changed_in_place_is_not_seen_until_the_mp_restarts(up):
    """Apigee (docs.apigee.com update-tls-certificate-cloud / -private-cloud):
    an MP keeps the keystore it loaded; a keystore changed under the same name (delete and re-create the alias) is
    used only after the MPs restart, while the management API shows the new chain at once. A reference repointed
    to a new keystore is seen at once (the test above)."""
    lab = up["lab"]
    broken = link(up, "chain-incomplete-jsse")  # the keystore holds the leaf alone
    base = f"{lab['mgmt_url']}/v1/organizations/lab/environments/test/keystores/{broken['keystore']}/aliases"
    auth = ("lab-admin@example.com", PASSWORD)
    call = lab["mp_url"] + broken["basepath"]
    try:
        assert requests.get(call, timeout=30).status_code == 503
        assert requests.delete(f"{base}/{broken['alias']}", auth=auth, timeout=30).status_code == 200
        with open(broken["material"]["cert_chain"], "rb") as c, open(broken["material"]["private_key"], "rb") as k:
            resp = requests.post(base, params={"alias": broken["alias"], "format": "keycertfile"}, auth=auth,
                                 files={"certFile": ("c.pem", c.read()), "keyFile": ("k.pem", k.read())}, timeout=30)
        assert resp.status_code in (200, 201), resp.text
        shown = requests.get(f"{base}/{broken['alias']}/certificate", auth=auth, timeout=30).text
        assert shown.count("BEGIN CERTIFICATE") == 2  # the API shows the complete chain at once
        assert requests.get(call, timeout=30).status_code == 503  # the MP still uses the leaf alone it loaded
        res = labctl(up["state"], "restart-mp")
        assert res.returncode == 0 and "MP restarted" in res.stdout, res.stderr
        assert requests.get(call, timeout=30).status_code == 200
    finally:
        assert labctl(up["state"], "reset").returncode == 0
    assert requests.get(call, timeout=30).status_code == 503  # a reseeded lab is a new one: the MP forgot


def test_up_twice_is_the_same_lab(up):
    before = {name: procs.read_pid(up["state"], name) for name in ("mgmt", "mp-runtime", "jsse-backends",
                                                                   "nginx-a", "nginx-b")}
    res = labctl(up["state"], "up")
    assert res.returncode == 0, res.stderr
    assert "already up" in res.stdout
    after = {name: procs.read_pid(up["state"], name) for name in before}
    assert before == after and all(procs.pid_alive(p) for p in after.values())
    with open(os.path.join(up["state"], "lab.json"), encoding="utf-8") as fh:
        assert json.load(fh)["links"] == up["lab"]["links"]
    assert labctl(up["state"], "status").returncode == 0


def test_reset_restores_the_scenario(up):
    lab = up["lab"]
    healthy = link(up, "healthy-nginx")
    url = f"{lab['mgmt_url']}/v1/organizations/lab/environments/test/references/{healthy['reference']}"
    doc = {"name": healthy["reference"], "refers": link(up, "missing-cert-nginx")["keystore"],
           "resourceType": "KeyStore"}
    requests.put(url, json=doc, auth=("lab-admin@example.com", PASSWORD), timeout=30).raise_for_status()
    assert requests.get(lab["mp_url"] + healthy["basepath"], timeout=30).status_code == 400
    res = labctl(up["state"], "reset")
    assert res.returncode == 0, res.stderr
    assert requests.get(lab["mp_url"] + healthy["basepath"], timeout=30).status_code == 200


def test_inventory_reads_the_running_lab(up):
    env = dict(os.environ, MTLS_LAB_STATE=up["state"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    res = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "-i", os.path.join(ROOT, "inventory", "lab"),
         "jsse-a", "-m", "ansible.builtin.debug", "-a",
         "msg={{ {'url': apigee_mgmt_url, 'org': apigee_org, 'envs': apigee_envs, 'pw_ok': apigee_password == '"
         + PASSWORD + "', 'ts': backend_truststore_path, 'fmt': backend_truststore_format, "
         "'tspw': backend_truststore_password | length > 0, 'reload': backend_reload_cmd, "
         "'links': mtls_remediation_material | length, 'chain': mtls_remediation_material[0].cert_chain} | to_json }}"],
        capture_output=True, text=True, timeout=120, env=env, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    msg = json.loads(json.loads(res.stdout.split("=>", 1)[1])["msg"])
    lab = up["lab"]
    jsse_a = next(b for b in lab["backends"] if b["name"] == "jsse-a")
    assert msg["url"] == lab["mgmt_url"] and msg["org"] == "lab" and msg["envs"] == lab["envs"]
    assert msg["pw_ok"] is True and msg["tspw"] is True
    assert (msg["ts"], msg["fmt"]) == (jsse_a["truststore_path"], "pkcs12")
    assert "reload-backend jsse-a" in msg["reload"]
    assert msg["links"] == len(lab["links"]) and msg["chain"] == lab["links"][0]["material"]["cert_chain"]


def test_down_leaves_no_process(up):
    pids = lab_pids(up["state"])
    assert len(pids) >= 5
    res = labctl(up["state"], "down")
    assert res.returncode == 0, res.stderr
    assert not [p for p in pids if procs.pid_alive(p)]
    assert procs_mentioning(up["state"]) == []
    assert labctl(up["state"], "status").returncode == 3


def test_up_after_down_restarts_the_same_lab_with_its_state(up):
    """After `down`, `up` restarts the lab from its state folder: Apigee state and backend truststores are kept."""
    lab = up["lab"]
    assert labctl(up["state"], "status").returncode == 3
    res = labctl(up["state"], "up")
    assert res.returncode == 0, res.stdout + res.stderr
    with open(os.path.join(up["state"], "lab.json"), encoding="utf-8") as fh:
        again = json.load(fh)
    assert again["links"] == lab["links"] and again["mp_url"] == lab["mp_url"]
    healthy = link(up, "healthy-nginx")
    # test_reset_restores_the_scenario left this reference on its keystore again; repoint it and restart once more
    url = f"{lab['mgmt_url']}/v1/organizations/lab/environments/test/references/{healthy['reference']}"
    doc = {"name": healthy["reference"], "refers": link(up, "missing-cert-nginx")["keystore"],
           "resourceType": "KeyStore"}
    requests.put(url, json=doc, auth=("lab-admin@example.com", PASSWORD), timeout=30).raise_for_status()
    assert labctl(up["state"], "down").returncode == 0
    assert labctl(up["state"], "up").returncode == 0
    assert requests.get(lab["mp_url"] + healthy["basepath"], timeout=30).status_code == 400
    assert requests.get(lab["mp_url"] + link(up, "healthy-jsse")["basepath"], timeout=30).status_code == 200


def test_labctl_typed_directly_runs_under_the_project_venv():
    """`lab/labctl ...` as a user types it, with a Python that cannot import the lab's packages (-S: no site
    packages): it runs again under .venv/bin/python instead of failing on an import."""
    import shutil
    import subprocess

    python = shutil.which("python3")
    res = subprocess.run([python, "-S", os.path.join(ROOT, "lab", "labctl"), "--help"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert "status" in res.stdout and "ImportError" not in res.stderr
