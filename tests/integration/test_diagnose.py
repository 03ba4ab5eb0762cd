"""Diagnosis against the running lab (scenario `all`), on Apigee Edge and on Apigee X (`any_lab`): the playbook,
every verdict and plan, the evidence of the failing call, and bad input."""
import json
import os
import socket
import subprocess

import jsonschema
import pytest
import requests
from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError

from tests.helpers.lab import is_x, lab_client, lab_env, ts_flag

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA = os.path.join(ROOT, "docs", "mtls-report.schema.json")
PLAN_FOR = {"ok": "none", "no_client_certificate": "upload_chain", "alias_missing": "upload_chain",
            "chain_incomplete": "upload_chain", "ca_mismatch": "trust_issuer",
            "client_auth_disabled": "enable_client_auth", "key_type_not_accepted": "upload_chain",
            "no_certificate_verify_scheme": "upload_chain", "signature_algorithm_rejected": "upload_chain"}


@pytest.fixture(scope="module")
def playbook_run(any_lab, tmp_path_factory):
    lab = any_lab
    out = tmp_path_factory.mktemp("reports")
    # a client's call through the MP to a broken JSSE link: the MP logs the failed handshake in its system.log
    jsse = next(lk for lk in lab["links"] if lk["expected_verdict"] != "ok" and lk["backend"].startswith("jsse"))
    resp = requests.get(lab["mp_url"] + jsse["basepath"], timeout=30)
    called = {"link": jsse, "status": resp.status_code, "message_id": resp.headers.get("X-Apigee.Message-ID")}
    res = subprocess.run([os.path.join(os.path.dirname(os.sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", "mtls_report_dir=%s" % out], cwd=ROOT, env=lab_env(lab), capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    with open(out / "mtls-report.json", encoding="utf-8") as fh:
        report = json.load(fh)
    return {"report": report, "markdown": (out / "mtls-report.md").read_text(), "stdout": res.stdout,
            "stderr": res.stderr, "called": called}


def test_every_lab_link_gets_the_expected_verdict_and_plan(any_lab, playbook_run):
    lab = any_lab
    report = playbook_run["report"]
    got = {row["id"]: row for row in report["links"]}
    for link in lab["links"]:
        row = got.get(link["id"])
        assert row is not None, "link %s missing from the report" % link["id"]
        assert row["verdict"] == link["expected_verdict"], (link["id"], row["verdict"], row["evidence"])
        assert row["remediation"]["action"] == PLAN_FOR[link["expected_verdict"]], link["id"]


def test_plans_carry_the_right_certificates(any_lab, playbook_run):
    lab = any_lab
    from ansible.module_utils.mtls import certcore

    got = {row["id"]: row for row in playbook_run["report"]["links"]}
    for link in lab["links"]:
        row = got[link["id"]]
        rem = row["remediation"]
        mat = link.get("material") or {}
        if link["expected_verdict"] == "ca_mismatch":
            with open(mat["issuer_ca"], "rb") as fh:
                issuer = certcore.load_certificates(fh.read(), "issuer")[0]
            assert rem["sha256"] == certcore.fingerprint_sha256(issuer)
            assert rem["subject"] == certcore.dn_rfc4514(issuer.subject)
            assert rem["ca_chain"][0]["sha256"] == rem["sha256"]
            assert row["acceptable_cas"] and rem["subject"] not in row["acceptable_cas"]
        if link["expected_verdict"] == "chain_incomplete":
            with open(mat["cert_chain"], "rb") as fh:
                full = certcore.load_certificates(fh.read(), "chain")
            wanted = [certcore.fingerprint_sha256(c) for c in full]
            sent = [c["sha256"] for c in rem["certificates"]]
            assert sent[: len(wanted) - 1] == wanted[: len(wanted) - 1] or sent == wanted
            assert rem["missing"], "the missing intermediate is named"
        if link["expected_verdict"] == "signature_algorithm_rejected":  # the attached SHA-1 root is dropped
            assert [c["subject"] for c in rem["certificates"]] == [s["subject"] for s in row["chain_summary"][:-1]]
            assert rem["include_root"] is False and "SHA1withRSA" in rem["text"]
        if link["expected_verdict"] == "key_type_not_accepted":  # EC P-256 client, RSA-only backend
            assert rem["key_type"] == "EC secp256r1" and rem["accepted_keys"] == ["RSA"], rem
        if link["expected_verdict"] == "no_certificate_verify_scheme":  # P-384 client, P-256-only backend
            assert rem["key_type"] == "EC secp384r1" and "EC secp256r1" in rem["accepted_keys"], rem


def test_handshake_evidence_is_the_real_outcome(playbook_run):
    rows = [r for r in playbook_run["report"]["links"] if r["verdict"] in ("no_client_certificate", "ca_mismatch")]
    assert rows
    for row in rows:
        hs = row["handshake"]
        assert hs and hs["ok"] is False
        # JSSE backends answer an empty Certificate with an alert; nginx completes and answers HTTP 400.
        assert hs["alert"] in ("bad_certificate", "certificate_required", "handshake_failure") \
            or hs["http_status"] == 400, hs


def test_the_evidence_of_the_failing_call_is_what_the_platform_keeps(any_lab, playbook_run):
    """Edge: the MP system.log's records of the call, by the runtime's message ID. Apigee X has no MP system.log
    (APIGEE-FACTS.md, "Apigee X and hybrid"): the X lab offers none, and the trace (an X debug session: a JSON body,
    the name Apigee gives, deleted after) is the evidence."""
    called = playbook_run["called"]
    assert called["status"] == 503 and called["message_id"], called
    row = {r["id"]: r for r in playbook_run["report"]["links"]}[called["link"]["id"]]
    trace = row["evidence"]["trace"]
    assert trace["session_deleted"] is True and trace["error_cause"] == "Received fatal alert: bad_certificate"
    if is_x(any_lab):
        assert len(trace["session"]) == 36   # the UUID Apigee X names a session with
        assert "system_log" not in any_lab and "mp_log_records" not in trace
        assert not any("mp_log" in r["evidence"] for r in playbook_run["report"]["links"])
        private = json.load(open(any_lab["service_account_file"], encoding="utf-8"))["private_key"].splitlines()[1]
        assert private not in playbook_run["stdout"] + playbook_run["stderr"]
        return
    ev = row["evidence"].get("mp_log")
    assert ev, "no MP system.log evidence for %s" % row["id"]
    assert called["message_id"] in ev["message_ids"] and ev["count"] >= 1
    assert "bad_certificate" in ev["alerts"] and row["verdict"] == called["link"]["expected_verdict"]
    assert called["message_id"] in playbook_run["markdown"]
    # the logs are on the probe host: the diagnosis scanned them itself, the separate scan task did not run
    after = playbook_run["stdout"].split("Scan the MP system.log for southbound handshake failures", 1)[1]
    assert after.split("TASK [", 1)[0].strip().splitlines()[-1].startswith("skipping:"), after[:400]


def test_reports_are_valid_and_readable(playbook_run):
    with open(SCHEMA, encoding="utf-8") as fh:
        schema = json.load(fh)
    jsonschema.validate(playbook_run["report"], schema)
    md = playbook_run["markdown"]
    for row in playbook_run["report"]["links"]:
        assert row["id"] in md
        if row["verdict"] != "ok":
            assert "### `%s`: %s" % (row["id"], row["verdict"]) in md
    assert "broken" in playbook_run["stdout"] and "API requests" in playbook_run["stdout"]
    assert "Lab-Passw0rd!" not in json.dumps(playbook_run["report"]) and "Lab-Passw0rd!" not in md


def test_wrong_credentials_are_a_plain_401(any_lab):
    lab = any_lab
    if is_x(lab):   # a bearer token Google does not know (an expired gcloud token)
        client = lab_client(lab, service_account_file=None, token="ya29.not-the-token")
    else:
        client = lab_client(lab, password="not-the-password")
    with pytest.raises(ApigeeApiError) as err:
        run_diagnosis(client, [lab["env"]])
    assert err.value.status == 401
    if is_x(lab):
        assert "the access token is invalid or expired; get a new token (gcloud auth print-access-token)" in \
            str(err.value) and "[UNAUTHENTICATED]" in str(err.value)
        assert "not-the-token" not in str(err.value)
        return
    assert "authentication failed for user %s" % lab["username"] in str(err.value)
    assert "check apigee_username/apigee_password" in str(err.value)
    assert "not-the-password" not in str(err.value)


def test_unknown_org_and_env(any_lab):
    lab = any_lab
    with pytest.raises(MtlsError) as err:
        run_diagnosis(lab_client(lab, org="no-such-org"), [lab["env"]])
    assert "no-such-org" in str(err.value)
    if is_x(lab):
        # Apigee X answers a project that does not exist as one the account may not read: 403 PERMISSION_DENIED
        # (crossplane-contrib/provider-upjet-gcp#193 quotes it); the error says both
        assert err.value.status == 403 and "[PERMISSION_DENIED]" in str(err.value)
        assert "project 'no-such-org' does not exist, is not an Apigee organization, or the account may not read it" \
            in str(err.value)
    with pytest.raises(MtlsError) as err:
        run_diagnosis(lab_client(lab), ["no-such-env"])
    assert "environment 'no-such-env' does not exist" in str(err.value)


def test_backend_down_is_backend_unreachable(any_lab):
    lab = any_lab
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    writer = lab_client(lab)
    base = "/environments/prod/targetservers"
    body = {"name": "ts-down", "host": "127.0.0.1", "port": port, "isEnabled": True,
            "sSLInfo": {"enabled": ts_flag(lab, True), "clientAuthEnabled": ts_flag(lab, False)}}
    writer.post(base, json=body)
    try:
        report = run_diagnosis(lab_client(lab), ["prod"], probe_timeout=3)
        rows = {row["id"]: row for row in report["links"]}
        row = rows["targetserver:prod/ts-down"]
        assert row["verdict"] == "backend_unreachable"
        assert "127.0.0.1:%d" % port in row["remediation"]["text"]
    finally:
        writer.delete(base + "/ts-down")


def test_requests_are_counted_and_not_repeated(any_lab):
    lab = any_lab
    client = lab_client(lab)
    report = run_diagnosis(client, [lab["env"]])
    stats = report["stats"]
    assert stats["api_requests"] == client.request_count > 0
    # every resource is read once per run: a second diagnosis with the same client makes no request at all
    before = client.request_count
    run_diagnosis(client, [lab["env"]])
    assert client.request_count == before


def test_fail_on_broken_fails_the_play_and_names_the_report(any_lab, tmp_path):
    lab = any_lab
    res = subprocess.run([os.path.join(os.path.dirname(os.sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", "mtls_report_dir=%s" % tmp_path, "-e", "mtls_fail_on_broken=true"],
                         cwd=ROOT, env=lab_env(lab), capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    broken = sum(1 for link in lab["links"] if link["expected_verdict"] != "ok")
    assert "%d southbound link(s) are not ok" % broken in res.stdout
    assert (tmp_path / "mtls-report.json").exists() and (tmp_path / "mtls-report.md").exists()


def diagnose_run(*extra):
    """ansible-playbook playbooks/diagnose.yml on the lab inventory with extra arguments."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(os.sys.executable), "ansible-playbook"),
                           os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i",
                           os.path.join(ROOT, "inventory", "lab"), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_no_lab_certificate_expires_within_30_days(playbook_run):
    summary = playbook_run["report"]["summary"]
    assert summary["expiring"] == 0 and summary["expiring_links"] == []
    assert all(row["expiry"]["warn_days"] == 30 and row["expiry"]["expiring"] == [] for row in
               playbook_run["report"]["links"])


def test_a_window_longer_than_the_lab_leaves_lists_every_ok_link_first_and_keeps_it_ok(any_lab, tmp_path):
    """The lab's client leaves are valid for 825 days and its intermediates for 1825: with a 900-day window every ok
    link's leaf is expiring (its verdict stays ok), soonest first, at the top of the Markdown and in the console."""
    lab = any_lab
    out = tmp_path / "reports"
    res = diagnose_run("-e", "mtls_report_dir=%s" % out, "-e", "mtls_expiry_warn_days=900")
    assert res.returncode == 0, res.stdout[-4000:]
    report = json.loads((out / "mtls-report.json").read_text())
    ok = [row for row in report["links"] if row["verdict"] == "ok"]
    want_ok = [link["id"] for link in lab["links"] if link["expected_verdict"] == "ok"]
    assert sorted(row["id"] for row in ok) == sorted(want_ok)
    soon = report["summary"]["expiring_links"]
    assert report["summary"]["expiring"] == len(ok)
    assert {e["id"] for e in soon} == set(want_ok)
    assert [e["not_after"] for e in soon] == sorted(e["not_after"] for e in soon)
    leaves = [e for e in soon if e["what"] == "leaf"]
    assert leaves and all(e["subject"].startswith("CN=mp-client-") and 800 <= e["days_left"] <= 825 for e in leaves)
    markdown = (out / "mtls-report.md").read_text()
    assert markdown.index("## Expiring within 900 days") < markdown.index("| verdict | links |")
    assert "expiring soon: %s: the leaf CN=mp-client-" % soon[0]["id"] in res.stdout


def test_each_run_keeps_its_report_in_its_own_folder_and_latest_points_at_the_last(any_lab, playbook_run, tmp_path):
    lab = any_lab
    import time

    out = tmp_path / "reports"
    runs = []
    for keep in (5, 5, 2):
        res = diagnose_run("-e", "mtls_report_dir=%s" % out, "-e", "mtls_report_keep_runs=%d" % keep)
        assert res.returncode == 0, res.stdout[-3000:]
        runs.append(os.readlink(out / "latest"))
        time.sleep(1.1)   # run folders are named to the second
    assert len(set(runs)) == 3 and all(r.startswith("runs/") and r.endswith("-%s-%s" % (lab["org"], "+".join(
        lab["envs"]))) for r in runs)
    assert sorted(os.listdir(out / "runs")) == sorted(os.path.basename(r) for r in runs[1:])   # kept the last 2
    latest = json.loads((out / "latest" / "diagnosis.json").read_text())
    assert latest["links"] == json.loads((out / "mtls-report.json").read_text())["links"]
    assert (out / "latest" / "diagnosis.md").read_text().startswith("# Southbound mTLS diagnosis")


def test_the_japanese_report_uses_the_runbooks_terms_and_the_json_stays_the_same(any_lab, playbook_run, tmp_path):
    lab = any_lab
    out = tmp_path / "reports"
    res = diagnose_run("-e", "mtls_report_dir=%s" % out, "-e", "mtls_report_lang=ja")
    assert res.returncode == 0, res.stdout[-3000:]
    markdown = (out / "mtls-report.md").read_text(encoding="utf-8")
    assert markdown.startswith("# サウスバウンド mTLS 診断: 組織 `%s`" % lab["org"])
    assert "## 異常のあるリンク" in markdown and "## Broken links" not in markdown
    assert "ランブックの原因 2: 認証局不一致" in markdown and "クライアント証明書がない" in markdown
    assert "許容されるクライアント証明書の認証局名 (Acceptable client certificate CA names" in markdown
    report = json.loads((out / "mtls-report.json").read_text())
    english = playbook_run["report"]
    assert [(r["id"], r["verdict"], r["remediation"]["action"]) for r in report["links"]] == \
        [(r["id"], r["verdict"], r["remediation"]["action"]) for r in english["links"]]


def test_probes_on_another_host_still_write_the_reports_and_the_run_folder(any_lab, tmp_path):
    """mtls_probe_host names another inventory host (here the lab's MP host): the module runs there and returns the
    report; the role writes the reports, this run's folder and latest on the controller."""
    out = tmp_path / "reports"
    res = diagnose_run("-e", "mtls_report_dir=%s" % out, "-e", "mtls_probe_host=lab-mp")
    assert res.returncode == 0, res.stdout[-3000:]
    assert "Keep this run's copy in its folder" in res.stdout and "changed=0" in res.stdout
    report = json.loads((out / "mtls-report.json").read_text())
    assert report["probe_host"] == "lab-mp"
    assert json.loads((out / "latest" / "diagnosis.json").read_text())["links"] == report["links"]
    assert (out / "latest" / "diagnosis.md").read_text().startswith("# Southbound mTLS diagnosis")


def test_the_report_says_what_the_runbook_looks_for(any_lab, playbook_run):
    """The empty keystore's alias count, the stored chain's validity dates, and why an nginx backend answers 400
    rather than the 503 a JSSE backend's alert gives -- from the lab's real answers."""
    lab = any_lab
    markdown = playbook_run["markdown"]
    empty = next(link for link in lab["links"] if link["expected_verdict"] == "no_client_certificate"
                 and link["backend"].startswith("jsse"))
    assert "- Keystore `%s`: 0 alias(es)" % empty["keystore"] in markdown
    nginx = next(row for row in playbook_run["report"]["links"] if row["verdict"] == "ca_mismatch"
                 and (row["handshake"] or {}).get("http_status") == 400)
    section = markdown.split("### `%s`" % nginx["id"], 1)[1].split("\n### ", 1)[0]
    assert "answered HTTP 400: nginx refuses a missing or unverified certificate at the HTTP level" in section
    assert "- Keystore `%s`: 1 alias(es): `%s`" % (nginx["keystore"], nginx["alias"]) in section
    assert ", valid 20" in section   # the stored chain with its validity dates
    # the picture: the stored chain against the CAs the backend accepts
    assert "```mermaid\nflowchart LR" in section and ": not accepted\" .-x a0" in section
    incomplete = next(row for row in playbook_run["report"]["links"] if row["verdict"] == "chain_incomplete")
    section = markdown.split("### `%s`" % incomplete["id"], 1)[1].split("\n### ", 1)[0]
    assert '["missing: CN=Lab Intermediate CA' in section


ROWS_PLAY = """
- hosts: apigee
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: apigee_mtls_diagnose
    - ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ mtls_report | to_json }}"
        mode: "0600"
      delegate_to: localhost
      check_mode: false
"""


def _rows_fact(tmp_path, *extra):
    """The fact mtls_report that the role leaves for the later plays, as JSON."""
    play = tmp_path / "rows.yml"
    play.write_text(ROWS_PLAY)
    out = tmp_path / "fact.json"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(os.sys.executable), "ansible-playbook"), str(play),
                          "-i", os.path.join(ROOT, "inventory", "lab"), "-e", "out=%s" % out, *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("probe_host", ["localhost", "lab-mp"])
def test_the_fact_later_plays_read_is_the_reports_rows_and_decides_as_the_whole_report(any_lab, tmp_path,
                                                                                        probe_host):
    """The role keeps the report's rows (report_rows.py) as mtls_report, not the whole report (ten megabytes at a
    thousand links): on the controller (the module wrote the file) and with the probes on another host (the role
    wrote it). The plan, the verification calls and the run status read from the rows are those read from the whole
    report, on every lab link."""
    lab = any_lab
    from ansible.module_utils.mtls.remediation import plan_remediation
    from ansible.module_utils.mtls.run_status import diagnosis_status
    from ansible.module_utils.mtls.verification import verification_calls

    reports = tmp_path / "reports"
    fact = _rows_fact(tmp_path, "-e", "mtls_report_dir=%s" % reports, "-e", "mtls_probe_host=%s" % probe_host)
    path = str(reports.resolve() / "mtls-report.json")
    assert fact["path"] == path
    with open(path, encoding="utf-8") as fh:
        whole = json.load(fh)
    assert [r["id"] for r in fact["links"]] == [r["id"] for r in whole["links"]]
    assert fact["summary"] == whole["summary"]
    assert not any("evidence" in r or "chain_summary" in r or "handshake" in r for r in fact["links"])
    assert len(json.dumps(fact)) < len(json.dumps(whole)) / 2
    # every upload_chain link has material, every backend a truststore: the plan reads all it can from a row
    materials = [{"id": r["id"], "cert_chain": "chain-%d.pem" % i, "private_key": "key-%d.pem" % i}
                 for i, r in enumerate(whole["links"])]
    backends = [{"name": b["name"], "host": b["host"], "port": b["port"], "truststore_path": "/tmp/%s" % b["name"]}
                for b in lab["backends"]]
    for enable in (False, True):
        assert plan_remediation(fact, materials, backends, enable_client_auth=enable) == \
            plan_remediation(whole, materials, backends, enable_client_auth=enable)
    assert plan_remediation(fact, [], []) == plan_remediation(whole, [], [])
    assert diagnosis_status(fact, path) == diagnosis_status(whole, path)
    urls = [{"id": r["id"], "url": "http://mp/%d" % i} for i, r in enumerate(whole["links"])]
    assert verification_calls(urls, fact) == verification_calls(urls, whole)
    fixes = plan_remediation(fact, materials, backends)["counts"]
    assert fixes.get("fix", 0) > 0 and fixes.get("none", 0) > 0


def test_in_check_mode_the_rows_name_no_report_file(any_lab, tmp_path):
    """--check writes no report: the rows do not point at a file that this run did not write."""
    lab = any_lab
    reports = tmp_path / "reports"
    fact = _rows_fact(tmp_path, "--check", "-e", "mtls_report_dir=%s" % reports)
    assert fact["path"] is None
    assert not (reports / "mtls-report.json").exists()
    assert fact["summary"]["total"] == len(lab["links"])
