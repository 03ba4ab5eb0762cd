"""Support bundle: redaction rules (plain functions) and playbooks/support_bundle.yml against the lab (`all`), on
Apigee Edge and on Apigee X (`any_lab`)."""
import base64
import gzip
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import zipfile

import pytest
import requests
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.mp_log import log_records
from ansible.module_utils.mtls.support_bundle import (
    REDACTED,
    build_archive,
    curl_commands,
    proxy_bundle_files,
    redact_text,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.archive import read_archive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "playbooks", "support_bundle.yml")


def _key_pem():
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


# ---------------------------------------------------------------------------------------------- redaction rules
def test_redaction_removes_every_kind_of_secret_and_keeps_the_rest():
    key = _key_pem()
    body = key.splitlines()[1]
    text = "\n".join([
        "cert ok: -----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----",
        key,
        "Authorization: Basic " + base64.b64encode(b"user@example.com:S3cr3t-pw").decode(),
        '{"headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"}}',
        "curl -H 'authorization: bearer abcdefghijklmnop' https://admin:hunter22@mgmt.example/v1",
        '{"password": "p\\"w-in-json", "keyAlias": "mp-client-a", "access_token": "tok-123456789"}',
        "<Password>xml-pass</Password><KeyAlias>mp-client-a</KeyAlias>",
        "APIGEE_PASSWORD=env-pass client_secret: yaml-secret",
        "the literal Lab-Passw0rd! appears in free text",
    ])
    red, count = redact_text(text, literals=["Lab-Passw0rd!"])
    for secret in (body, "PRIVATE KEY", "S3cr3t-pw", base64.b64encode(b"user@example.com:S3cr3t-pw").decode(),
                   "eyJhbGciOiJIUzI1NiJ9", "abcdefghijklmnop", "hunter22", 'p\\"w-in-json', "tok-123456789",
                   "xml-pass", "env-pass", "yaml-secret", "Lab-Passw0rd!"):
        assert secret not in red, secret
    assert count >= 10
    # what support needs stays readable
    for kept in ("-----BEGIN CERTIFICATE-----", "MIIBkTCB+wIJAK", '"keyAlias": "mp-client-a"',
                 "<KeyAlias>mp-client-a</KeyAlias>", "mgmt.example/v1", "Authorization: Basic " + REDACTED):
        assert kept in red, kept


def test_redaction_leaves_clean_text_alone():
    text = "org:lab env:test api:p rev:1 handshake failed, message: Received fatal alert: bad_certificate\n"
    assert redact_text(text, literals=["abc", ""]) == (text, 0)


def test_archive_leaves_out_key_files_and_binaries_and_redacts_the_rest():
    key = _key_pem()
    data, manifest = build_archive({
        "a/notes.txt": "token=abcdefgh1234 and " + key,
        "proxies/p/revision-1/apiproxy/resources/keys/client.key": key,
        "files/store.p12": b"\x30\x82binary",
        "files/blob.bin": b"\x00\x01\x02",
    }, "bundle-x", literals=["abcdefgh1234"])
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
        content = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    assert sorted(names) == ["bundle-x/MANIFEST.json", "bundle-x/a/notes.txt"]
    notes = content["bundle-x/a/notes.txt"]
    assert "PRIVATE KEY" not in notes and "abcdefgh1234" not in notes and "token=" + REDACTED in notes
    assert {e["name"]: e["reason"] for e in manifest["excluded"]} == {
        "proxies/p/revision-1/apiproxy/resources/keys/client.key": "key file",
        "files/store.p12": "key file", "files/blob.bin": "binary file (cannot be redacted)"}
    assert json.loads(content["bundle-x/MANIFEST.json"])["redactions"] == manifest["redactions"] >= 2


def test_archive_refuses_a_private_key_marker_it_cannot_redact():
    with pytest.raises(MtlsError, match="private key"):
        build_archive({"x.txt": "dump of PRIVATE KEY material"}, "b")


def test_archive_refuses_names_that_leave_the_bundle():
    with pytest.raises(MtlsError, match="leaves the bundle"):
        build_archive({"../../etc/passwd": "x"}, "b")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.xml", "<x/>")
    with pytest.raises(MtlsError, match="leaves the bundle"):
        proxy_bundle_files(buf.getvalue(), "proxies/p/revision-1")


def test_log_records_keep_continuations_and_read_rotated_logs(tmp_path):
    rec = "2024-01-02 03:04:05,678 org:o env:e api:a rev:1 messageid:%s NIOThread@1 ERROR HTTP.CLIENT - x\n"
    (tmp_path / "system.log").write_text(rec % "m-new" + "\tat frame.one(X.java:1)\n" + rec % "m-other")
    with gzip.open(tmp_path / "system.log.1.gz", "wt") as fh:
        fh.write(rec % "m-old" + "\tat frame.old(Y.java:2)\n")
    records, files = log_records([str(tmp_path / "system.log")], ["m-old", "m-new"])
    assert [os.path.basename(f) for f in files] == ["system.log.1.gz", "system.log"]
    assert records == [(rec % "m-old") + "\tat frame.old(Y.java:2)", (rec % "m-new") + "\tat frame.one(X.java:1)"]
    with pytest.raises(MtlsError, match="does not exist"):
        log_records([str(tmp_path / "nope.log")], ["m"])


def test_curl_commands_per_broken_link_and_basepath():
    report = {"links": [
        {"id": "targetserver:test/ts", "env": "test", "verdict": "ca_mismatch",
         "used_by": [{"api": "p1", "revision": 2, "basepaths": ["/v1/a", "/v1/b"]}]},
        {"id": "targetserver:prod/ok", "env": "prod", "verdict": "ok",
         "used_by": [{"api": "p2", "revision": 1, "basepaths": ["/ok"]}]}]}
    got = curl_commands(report, "https://org-test.example.net/", {"prod": "https://org-prod.example.net"})
    assert [c["curl"] for c in got] == ["curl -v -i https://org-test.example.net/v1/a",
                                        "curl -v -i https://org-test.example.net/v1/b"]
    every = curl_commands(report, "", {"prod": "https://org-prod.example.net"}, only_broken=False)
    assert [c["url"] for c in every] == [None, None, "https://org-prod.example.net/ok"]


# ---------------------------------------------------------------------------------------------- the playbook
def run_playbook(playbook, *args, env_extra=None, timeout=300):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    env.update(env_extra or {})
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook,
                           "-i", os.path.join(ROOT, "inventory", "lab"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def call_broken_links(lab):
    """Call every broken link through the MP (as a client would); the message IDs the MP answered with."""
    ids = {}
    for link in lab["links"]:
        if link["expected_verdict"] != "ok":
            resp = requests.get(lab["mp_url"] + link["basepath"], timeout=30)
            ids[link["id"]] = resp.headers.get("X-Apigee.Message-ID")
    return ids


def _lab_secrets(lab):
    """(the secret the lab's credentials hold, an Authorization header a user may paste into notes): Edge's password
    and Basic header; X's service account private key (a line of it) and a Bearer header."""
    if lab["platform"] == "edge":
        with open(lab["password_file"], encoding="utf-8") as fh:
            password = fh.read().strip()
        return password, "Basic " + base64.b64encode(("%s:%s" % (lab["username"], password)).encode()).decode()
    with open(lab["service_account_file"], encoding="utf-8") as fh:
        private = json.load(fh)["private_key"].splitlines()[1]
    return private, "Bearer ya29.a0AfB_byC-not-a-real-token-but-shaped-like-one"


@pytest.mark.integration
def test_support_bundle_holds_what_the_runbook_asks_for(any_lab, tmp_path):
    lab = any_lab
    ids = call_broken_links(lab)
    password, header = _lab_secrets(lab)
    key_file = [m["material"]["private_key"] for m in lab["links"] if m.get("material")][0]
    with open(key_file, encoding="utf-8") as fh:
        key_pem = fh.read()
    # operator notes with secrets in them, and a key file: neither may reach the archive as is
    notes = tmp_path / "notes.txt"
    notes.write_text("tried: curl -H 'Authorization: %s' ...\npassword=%s\n%s" % (header, password, key_pem))
    out = tmp_path / "reports"
    res = run_playbook(PLAYBOOK, "-e", "mtls_report_dir=%s" % out, "-e",
                       json.dumps({"mtls_support_extra_files": [str(notes), key_file],
                                   "mtls_support_steps_tried": ["Uploaded leaf only (no change)"]}))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    bundles = sorted(out.glob("support-bundle-lab-*.tar.gz"))
    assert len(bundles) == 1 and [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert stat.S_IMODE(bundles[0].stat().st_mode) == 0o600
    files = read_archive(bundles[0])

    readme = files["README.md"].decode()
    assert "Organization: `lab`" in readme and "`test`" in readme
    assert "Uploaded leaf only (no change)" in readme
    broken = [lk for lk in lab["links"] if lk["expected_verdict"] != "ok"]
    curl_sh = files["reproduce/curl.sh"].decode()
    for link in broken:
        assert "### `%s`" % link["id"] in readme
        assert "curl -v -i %s%s  # %s" % (lab["mp_url"], link["basepath"], link["id"]) in curl_sh
        # the whole revision: a callout link's SSLInfo is in its ServiceCallout policy, a target's in its endpoint
        where = "policies/CallBackend.xml" if link["declared_in"] == "callout" else "targets/default.xml"
        assert "proxies/%s/revision-%d/apiproxy/%s" % (link["proxy"], link["revision"], where) in files
    # the curl really reproduces the failure through the MP
    assert requests.get(lab["mp_url"] + broken[0]["basepath"], timeout=30).status_code != 200

    keystores = json.loads(files["apigee/keystores.json"])
    by_name = {ks["name"]: ks for ks in keystores}
    for link in lab["links"]:
        assert link["keystore"] in by_name, link["keystore"]
    infos = [ci for ks in keystores for a in ks["aliases"] for ci in a["cert_info"]]
    assert infos and all("subject" in ci and "expiryDate" in ci for ci in infos), infos[:1]

    report = json.loads(files["diagnosis/mtls-report.json"])
    assert {lk["id"]: lk["verdict"] for lk in report["links"]} == {lk["id"]: lk["expected_verdict"]
                                                                   for lk in lab["links"]}
    assert "diagnosis/mtls-report.md" in files and "apigee/southbound-links.json" in files
    probes = json.loads(files["probes/probes.json"])
    backend_ports = {b["port"] for b in lab["backends"]}
    assert {p["item"]["port"] for p in probes} == backend_ports
    assert all(p["reachable"] and p["client_auth_requested"] for p in probes)

    if lab["platform"] == "edge":
        log = files["mp-logs/handshake-failures.log"].decode()
        scan = json.loads(files["mp-logs/handshake-failures.json"])
        scanned_ids = {m for g in scan["groups"] for m in g["message_ids"]}
        jsse_failures = [lk for lk in broken if lk["backend"].startswith("jsse")]
        for link in jsse_failures:  # a JSSE backend rejects the handshake: the MP logs handshakeFailed
            assert ids[link["id"]] in scanned_ids and ids[link["id"]] in log, link["id"]
        assert "Received fatal alert: bad_certificate" in log and "\tat " in log
    else:   # Apigee X has no MP system.log (APIGEE-FACTS.md): nothing is scanned, nothing is made up
        scan = json.loads(files.get("mp-logs/handshake-failures.json") or b"{}")
        assert not scan.get("groups") and not (files.get("mp-logs/handshake-failures.log") or b"").strip()
        healthy = next(lk for lk in lab["links"] if lk["basepath"] == "/healthy-jsse")
        alias = next(a for a in by_name[healthy["keystore"]]["aliases"] if a["alias"] == healthy["alias"])
        assert alias["has_key"] is True   # X's alias type KEY_CERT, read as the Edge lab's keyName

    # secrets: the notes were redacted, the key file left out
    manifest = json.loads(files["MANIFEST.json"])
    assert {"name": "files/" + os.path.basename(key_file), "reason": "key file"} in manifest["excluded"]
    assert "files/" + os.path.basename(key_file) not in files
    assert "tried: curl -H 'Authorization: %s [REDACTED]'" % header.split()[0] in files["files/notes.txt"].decode()
    body = "".join(key_pem.strip().splitlines()[1:-1])
    for name, data in files.items():
        text = data.decode()
        assert password not in text and "PRIVATE KEY" not in text, name
        assert body[:40] not in text.replace("\n", ""), name
        assert header.split()[1] not in text, name
    assert password not in res.stdout + res.stderr


@pytest.mark.integration
def test_support_bundle_check_mode_writes_nothing(any_lab, tmp_path):
    out = tmp_path / "reports"
    res = run_playbook(PLAYBOOK, "--check", "-e", "mtls_report_dir=%s" % out, "-e",
                       "mtls_support_export_proxies=false")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Support bundle that would be written: %s/support-bundle-lab-" % out in res.stdout
    assert "changed=1" in res.stdout
    assert not out.exists() or list(out.iterdir()) == []
