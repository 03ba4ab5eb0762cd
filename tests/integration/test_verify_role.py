"""Role apigee_mtls_verify run by ansible-playbook against a local HTTP server standing in for the runtime: a call
configured with a proxy link's old id is made once the fix deployed a new revision (this run's renames, or the
remediation report of an earlier run), and a call whose link is nowhere in the diagnosis fails instead of being
skipped."""
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OLD, NEW = "proxy:test/mtls-x/1/default", "proxy:test/mtls-x/2/default"


@pytest.fixture
def runtime():
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


def run_role(tmp_path, extra_vars, check=True):
    play = [{"name": "verify", "hosts": "localhost", "gather_facts": False,
             "tasks": [{"name": "verify", "ansible.builtin.include_role": {"name": "apigee_mtls_verify"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "vars.json").write_text(json.dumps(dict(extra_vars, apigee_mtls_verify_rediagnose=False,
                                                        ansible_python_interpreter=sys.executable)))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          str(tmp_path / "play.yml"), "-i", "localhost,", "-c", "local",
                          "-e", "@%s" % (tmp_path / "vars.json")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=180)
    out = res.stdout + res.stderr
    if check:
        assert res.returncode == 0, out[-4000:]
    return res.returncode, out


def base_vars(url, tmp_path):
    return {"mtls_report": {"links": [{"id": NEW, "verdict": "ok"},
                                      {"id": "targetserver:test/ts-x", "verdict": "ok"},
                                      {"id": "targetserver:test/ts-broken", "verdict": "ca_mismatch"}]},
            "mtls_verify_base_url": url,
            "mtls_verify_urls": [{"id": OLD, "basepath": "/proxy-x"}, {"id": "targetserver:test/ts-x",
                                                                      "url": url + "/ts-x"},
                                 {"id": "targetserver:test/ts-broken", "basepath": "/ts-broken"}],
            "apigee_mtls_verify_remediation_report": str(tmp_path / "remediation.json")}


def test_renamed_link_is_called_under_its_new_id(runtime, tmp_path):
    url, hits = runtime
    run_role(tmp_path, dict(base_vars(url, tmp_path), apigee_mtls_remediate_renamed={OLD: NEW}))
    assert sorted(hits) == ["/proxy-x", "/ts-x"]  # the link still broken is not called


def test_renames_recorded_by_an_earlier_remediation_report_are_followed(runtime, tmp_path):
    url, hits = runtime
    (tmp_path / "remediation.json").write_text(json.dumps({"links": [
        {"id": OLD, "before": "client_auth_disabled", "after": "ok", "status": "fix", "now": NEW}]}))
    run_role(tmp_path, base_vars(url, tmp_path))
    assert sorted(hits) == ["/proxy-x", "/ts-x"]


def test_a_call_for_a_link_in_no_diagnosis_fails(runtime, tmp_path):
    url, hits = runtime
    rc, out = run_role(tmp_path, base_vars(url, tmp_path), check=False)
    assert rc != 0 and OLD in out and "not in the diagnosis" in out
    assert hits == []
