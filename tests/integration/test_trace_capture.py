"""The runbook's trace and packet capture against the running lab: debug sessions as Edge has them (APIGEE-FACTS.md,
"Debug sessions"), the tool's trace of broken links joined to the MP log by message ID, and `labctl capture` read by
tshark (TLS 1.2 in clear, TLS 1.3 with and without a key log)."""
import os
import socket
import ssl
import time

import pytest
import requests
from ansible.module_utils.mtls.apigee.client import ApigeeClient
from ansible.module_utils.mtls.capture import attach_capture_evidence, read_capture
from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.evidence import attach_evidence
from ansible.module_utils.mtls.mp_log import log_records
from ansible.module_utils.mtls.trace import trace_links, trace_targets, transaction_evidence

from tests.helpers.lab import run_labctl

pytestmark = pytest.mark.integration

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LAB_ROOT_A = "id-at-commonName=Lab Root CA A"


def _password(lab):
    with open(lab["password_file"], encoding="utf-8") as fh:
        return fh.read().strip()


@pytest.fixture(scope="module")
def api(lab):
    sess = requests.Session()
    sess.auth = (lab["username"], _password(lab))
    base = "%s/v1/organizations/%s/environments/%s" % (lab["mgmt_url"], lab["org"], lab["env"])
    return sess, base


def _link(lab, short):
    return next(lk for lk in lab["links"] if lk["basepath"] == "/" + short)


def _sessions_path(base, link):
    return "%s/apis/%s/revisions/%s/debugsessions" % (base, link["proxy"], link["revision"])


def _call(lab, link, headers=None):
    return requests.get(lab["mp_url"] + link["basepath"], headers=headers or {}, timeout=30)


def test_debug_session_api_is_edges(lab, api):
    sess, base = api
    link = _link(lab, "missing-cert-jsse")
    path = _sessions_path(base, link)
    # Edge creates a session with a form content type (APIGEE-FACTS.md): anything else is refused
    assert sess.post(path, params={"session": "s-json"}, json={}).status_code == 415
    created = sess.post(path, params={"session": "s-edge", "timeout": "60"}, data="", headers=FORM)
    assert created.status_code == 201 and created.json()["name"] == "s-edge"
    assert sess.post(path, params={"session": "s-edge"}, data="", headers=FORM).status_code == 409
    assert "s-edge" in sess.get(path).json()
    assert sess.get(path + "/s-edge/data").json() == []
    assert sess.delete(path + "/s-edge").status_code == 200
    # closing the session discards it and its data
    assert sess.get(path + "/s-edge/data").status_code == 404
    assert "s-edge" not in sess.get(path).json()
    # only a deployed revision has debug sessions
    undeployed = "%s/apis/%s/revisions/99/debugsessions" % (base, link["proxy"])
    assert sess.post(undeployed, params={"session": "x"}, data="", headers=FORM).status_code == 404


def test_a_session_records_what_the_runtime_did(lab, api):
    sess, base = api
    link = _link(lab, "missing-cert-jsse")
    path = _sessions_path(base, link)
    sess.post(path, params={"session": "s-record", "timeout": "60"}, data="", headers=FORM).raise_for_status()
    try:
        resp = _call(lab, link)
        assert resp.status_code == 503
        ids = sess.get(path + "/s-record/data").json()
        assert len(ids) == 1
        tx = sess.get(path + "/s-record/data/" + ids[0]).json()
        assert tx["completed"] is True and [p["id"] for p in tx["point"]][0] == "StateChange"
        error = next(p for p in tx["point"] if p["id"] == "Error")
        props = {p["name"]: p["value"] for r in error["results"] if r["ActionResult"] == "DebugInfo"
                 for p in r["properties"]["property"]}
        # the JSSE exception the MP's JVM really raised, not a string written here
        assert props["error.cause"] == resp_cause(lab, resp.headers["X-Apigee.Message-ID"])
        assert props["state"] == "TARGET_REQ_FLOW"
        ev = transaction_evidence(tx)
        assert ev["message_id"] == resp.headers["X-Apigee.Message-ID"]
        assert ev["status"] == 503 and ev["phase"] == "target_request_flow"
        assert ev["target_url"].startswith("https://localhost:%d" % backend_port(lab, link))
    finally:
        sess.delete(path + "/s-record")


def resp_cause(lab, message_id):
    """error.cause as the runtime's own trace log has it for that call."""
    traces = requests.get(lab["mp_url"] + "/_lab/trace", params={"messageid": message_id}, timeout=10).json()
    return traces["traces"][-1]["error"]["cause"]


def backend_port(lab, link):
    return next(b["port"] for b in lab["backends"] if b["name"] == link["backend"])


def test_filters_the_transaction_limit_and_the_timeout(lab, api):
    sess, base = api
    link = _link(lab, "healthy-jsse")
    path = _sessions_path(base, link)
    sess.post(path, params={"session": "s-filter", "header_X-Trace-Me": "yes"}, data="", headers=FORM)
    sess.post(path, params={"session": "s-all"}, data="", headers=FORM)
    sess.post(path, params={"session": "s-short", "timeout": "1"}, data="", headers=FORM)
    try:
        _call(lab, link)
        _call(lab, link, {"X-Trace-Me": "yes"})
        assert len(sess.get(path + "/s-filter/data").json()) == 1
        time.sleep(1.3)
        # past its timeout a session is discarded, as Edge does
        assert sess.get(path + "/s-short/data").status_code == 404
        for _ in range(21):
            _call(lab, link)
        # "A debug session captures a maximum of 20 messages" (docs.apigee.com, create a debug session)
        assert len(sess.get(path + "/s-all/data").json()) == 20
    finally:
        for name in ("s-filter", "s-all"):
            sess.delete(path + "/" + name)


@pytest.fixture(scope="module")
def client(lab):
    return ApigeeClient(lab["mgmt_url"], lab["org"], username=lab["username"], password=_password(lab))


def test_the_trace_of_each_broken_link_names_its_mp_log_records(lab, client, api):
    sess, base = api
    report = run_diagnosis(client, [lab["env"]])
    rows = [r for r in report["links"] if r["id"] in ("targetserver:test/ts-missing-cert-jsse",
                                                      "proxy:test/mtls-missing-cert-nginx/1/default",
                                                      "callout:test/mtls-callout-jsse/1/CallBackend")]
    traces = trace_links(client, trace_targets(rows, call_url=lab["mp_url"]), wait=10)
    jsse = traces["targetserver:test/ts-missing-cert-jsse"]
    assert jsse["session_deleted"] is True and jsse["status"] == 503
    assert jsse["error_cause"] == resp_cause(lab, jsse["message_id"])
    assert jsse["phase"] == "target_request_flow" and jsse["call"]["message_id"] == jsse["message_id"]
    callout = traces["callout:test/mtls-callout-jsse/1/CallBackend"]
    assert callout["phase"] == "proxy_request_flow" and callout["service_callout"] == "CallBackend"
    # nginx completes the handshake and answers 400: no error.cause, the status says it
    nginx = traces["proxy:test/mtls-missing-cert-nginx/1/default"]
    assert nginx["status"] == 400 and "error_cause" not in nginx
    # the message ID selects the MP's records (the runbook's step 2)
    records, _ = log_records([lab["system_log"]], [jsse["message_id"]])
    assert records and all(jsse["message_id"] in r for r in records)
    assert any("handshakeFailed" in r for r in records)
    attach_evidence(report, traces, records)
    row = next(r for r in report["links"] if r["id"] == "targetserver:test/ts-missing-cert-jsse")
    assert row["evidence"]["trace"]["mp_log_records"][0].startswith(records[0].splitlines()[0])
    # every session the tool opened is gone
    for r in rows:
        use = r["used_by"][0]
        listed = sess.get("%s/apis/%s/revisions/%s/debugsessions" % (base, use["api"], use["revision"])).json()
        assert not [n for n in listed if n.startswith("mtls-doctor-")]


def _tls13_client_without_certificate(port, keylog):
    """A TLS 1.3 client that offers no certificate (as the MP with an empty keystore), its secrets in keylog."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.keylog_filename = keylog
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        try:
            return tls.recv(200)
        except (ssl.SSLError, OSError):
            return b""


def test_labctl_capture_shows_the_certificate_request_and_the_empty_certificate(lab, lab_state, tmp_path):
    jsse, nginx = _link(lab, "missing-cert-jsse"), _link(lab, "missing-cert-nginx")
    started = run_labctl(lab_state, "capture", "start", check=True)
    keylog = str(tmp_path / "keylog.txt")
    try:
        assert _call(lab, jsse).status_code == 503
        assert _call(lab, nginx).status_code == 400
        answer = _tls13_client_without_certificate(backend_port(lab, nginx), keylog)
    finally:
        stopped = run_labctl(lab_state, "capture", "stop", check=True)
    path = stopped.stdout.strip().split(": ", 1)[1]
    assert path in started.stdout and os.path.getsize(path) > 0
    conns = read_capture(path, quiet=0)
    to_jsse = [c for c in conns if c["server"].endswith(":%d" % backend_port(lab, jsse))]
    # the JSSE link's target server limits the MP to TLS 1.2: the runbook's Wireshark view, in clear
    tls12 = next(c for c in to_jsse if c["version"] == "TLSv1.2")
    assert any(LAB_ROOT_A in dn for dn in tls12["certificate_request"]["distinguished_names"])
    assert tls12["client_certificate"] == {"certificates_length": 0, "certificates": 0, "sent": False}
    assert {"from": "server", "level": "Fatal", "description": "Bad Certificate"} in tls12["alerts"]
    assert tls12["messages"].index("server CertificateRequest") < tls12["messages"].index("client Certificate")
    # the nginx link speaks TLS 1.3: without the key log its handshake cannot be read, and nothing is guessed
    to_nginx = [c for c in conns if c["server"].endswith(":%d" % backend_port(lab, nginx))]
    assert to_nginx and all(c["encrypted"] and c["certificate_request"] is None for c in to_nginx)
    # with the key log of a TLS 1.3 handshake, the CertificateRequest and the empty Certificate are read
    assert b"400" in answer
    decrypted = read_capture(path, keylog=keylog, quiet=0)
    mine = [c for c in decrypted if c["server"].endswith(":%d" % backend_port(lab, nginx))
            and c["certificate_request"]]
    assert mine and mine[-1]["version"] == "TLSv1.3"
    assert any(LAB_ROOT_A in dn for dn in mine[-1]["certificate_request"]["distinguished_names"])
    assert mine[-1]["client_certificate"]["certificates_length"] == 0
    # the cross-check: the capture agrees with a verdict that predicts no certificate, and contradicts one that
    # predicts a certificate is sent
    row = {"id": "targetserver:test/ts-missing-cert-jsse", "host": "127.0.0.1", "port": backend_port(lab, jsse),
           "verdict": "no_client_certificate", "evidence": {"jsse_selection": {"sent": False}}}
    window = {row["id"]: (tls12["first_seen"] - 0.1, tls12["first_seen"] + 0.1)}
    attach_capture_evidence([row], conns, path, windows=window)
    assert row["evidence"]["capture"]["client_certificate_sent"] is False
    assert row["evidence"]["capture"].get("contradiction") is None
    wrong = dict(row, verdict="ok", evidence={"jsse_selection": {"sent": True}})
    attach_capture_evidence([wrong], conns, path, windows=window)
    assert "Certificate Length: 0" in wrong["evidence"]["capture"]["contradiction"]


def test_the_evidence_modules_through_ansible(lab, tmp_path):
    """apigee_trace, mtls_capture_read and mtls_report_evidence as a play runs them: the readers never changed, check
    mode the same, the API key of the reproducing call never shown, the joined report written (changed) and, in check
    mode, only said. The capture holds a client that sends its chain: set against a link predicted to send none."""
    import json as _json
    import subprocess
    import sys
    import textwrap

    import yaml

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    capture = os.path.join(root, "tests", "data", "captures", "lab-missing-client-cert.pcapng")
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    row = {"id": "targetserver:test/ts-missing-cert-jsse", "env": "test", "verdict": "no_client_certificate",
           "host": "127.0.0.1", "port": 25082, "used_by": [{"api": "mtls-missing-cert-jsse", "revision": 1,
                                                             "basepaths": ["/missing-cert-jsse"]}],
           "evidence": {"jsse_selection": {"sent": False}}}
    jsse = _link(lab, "missing-cert-jsse")
    traced = dict(row, host="localhost", port=backend_port(lab, jsse))   # the lab's backend, for the trace
    (report_dir / "mtls-report.json").write_text(_json.dumps({
        "org": "lab", "envs": ["test"], "generated_at": "2020-01-01T00:00:00+00:00", "stats": {"wall_seconds": 1},
        "summary": {"total": 1, "ok": 0, "broken": 1, "by_verdict": {"no_client_certificate": 1}},
        "links": [dict(row, sni=None, reference=None, keystore="ks", alias="a", acceptable_cas=[],
                       acceptable_cas_openssl=[], chain_summary=[], remediation={"action": "manual", "text": "x"})]}))
    conn = {"mgmt_url": lab["mgmt_url"], "org": lab["org"], "username": lab["username"],
            "password": "{{ lookup('ansible.builtin.file', '%s') }}" % lab["password_file"]}
    tasks = textwrap.dedent("""
    - apigee_trace: {links: %(links)s, call_url: "%(mp)s", call_headers: {x-api-key: Secret-Api-Key-42}}
      register: first
    - apigee_trace: {links: %(links)s, call_url: "%(mp)s", call_headers: {x-api-key: Secret-Api-Key-42}}
      check_mode: true
      register: dry
    - mtls_capture_read: {path: "%(capture)s", settle: 0}
      register: cap
    - mtls_report_evidence: {report_dir: "%(dir)s", captures: ["{{ cap }}"]}
      check_mode: true
      register: joined_dry
    - mtls_report_evidence: {report_dir: "%(dir)s", captures: ["{{ cap }}"]}
      register: joined
    - ansible.builtin.assert:
        that:
          - first is not changed and dry is not changed and cap is not changed
          - "first.traces[link].error_cause == 'Received fatal alert: bad_certificate'"
          - dry.traces[link].session_deleted
          - first.message_ids | length == 1
          - cap.connections[0].client_certificate.certificates_length == 0
          - joined_dry is changed and joined is changed
          - joined.report.links[0].evidence.capture.client_certificate_sent
      vars:
        link: targetserver:test/ts-missing-cert-jsse
    """) % {"links": _json.dumps([traced]), "mp": lab["mp_url"], "capture": capture, "dir": report_dir}
    play = [{"name": "evidence", "hosts": "lab-apigee", "gather_facts": False,
             "module_defaults": {"apigee_trace": conn}, "tasks": yaml.safe_load(tasks)}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path), "-i",
                          os.path.join(root, "inventory", "lab"), "-vvv"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "Secret-Api-Key-42" not in out
    written = _json.loads((report_dir / "mtls-report.json").read_text())
    assert written["links"][0]["evidence"]["capture"]["connections"]
