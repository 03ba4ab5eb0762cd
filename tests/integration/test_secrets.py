"""Secrets never leak: a -vvv run of diagnose.yml (OAuth2 login), support_bundle.yml (bearer token) and
remediate.yml --check --diff (basic auth) against the lab; every line of output, every report and every file inside
the support bundle is searched for the lab password, the bearer token, private key PEM markers and the base64 body of
the lab's private keys. A positive control proves the search finds a planted secret, in output and inside an archive."""
import io
import json
import os
import re
import tarfile

import pytest
import requests

from tests.integration.test_support_bundle import ROOT, call_broken_links, run_playbook

pytestmark = pytest.mark.integration

EDGE_CLIENT = ("edgecli", "edgeclisecret")  # the Edge login service's public client, as Apigee documents it
# A bearer token or an OAuth2 access/refresh token printed with its value (a redacted one reads [REDACTED]).
TOKEN_SHAPES = [re.compile(r"bearer\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]{16,}", re.I),
                re.compile(r"\"(?:access|refresh)_token\"\s*:\s*\"(?!\[REDACTED\])[^\"]{8,}\"")]


def key_bodies(state):
    """Base64 lines (40+ characters) of every private key file of the lab's PKI."""
    lines = []
    pki = os.path.join(state, "pki")
    for name in sorted(os.listdir(pki)):
        if "key" not in name:
            continue
        with open(os.path.join(pki, name), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        if "PRIVATE KEY" in text:
            lines += [ln for ln in text.splitlines() if len(ln) >= 40 and not ln.startswith("-----")]
    return lines


def find_secrets(haystack: str, secrets: dict) -> list[str]:
    """Names of what was found: each literal secret, PEM key markers, key body lines, token-shaped values."""
    flat = haystack.replace("\\n", "").replace("\n", "")
    found = [name for name, value in secrets.items() if value and (value in haystack or value in flat)]
    if "PRIVATE KEY" in haystack:
        found.append("PRIVATE KEY marker")
    found += ["token shape %d" % i for i, rx in enumerate(TOKEN_SHAPES) if rx.search(haystack)]
    return found


def files_text(folder) -> dict:
    """Every file under folder as text; tar.gz archives are opened and each member read."""
    out = {}
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            if name.endswith(".tar.gz"):
                with tarfile.open(path, mode="r:gz") as tar:
                    for m in tar.getmembers():
                        if m.isfile():
                            out["%s!%s" % (path, m.name)] = tar.extractfile(m).read().decode("utf-8", "replace")
            else:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    out[path] = fh.read()
    return out


@pytest.fixture(scope="module")
def secret_runs(lab, lab_state, tmp_path_factory):
    call_broken_links(lab)  # the MP log then holds handshake failures for the bundle
    with open(lab["password_file"], encoding="utf-8") as fh:
        password = fh.read().strip()
    resp = requests.post(lab["mgmt_url"] + "/oauth/token", auth=EDGE_CLIENT, timeout=30,
                         data={"grant_type": "password", "username": lab["username"], "password": password})
    resp.raise_for_status()
    token = resp.json()["access_token"]
    work = tmp_path_factory.mktemp("secrets")
    token_vars = work / "token-vars.json"
    fd = os.open(token_vars, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"apigee_token": token}, fh)
    runs = {}
    try:
        runs["diagnose (oauth2)"] = run_playbook(
            os.path.join(ROOT, "playbooks", "diagnose.yml"), "-vvv", "-e", "mtls_report_dir=%s" % (work / "diag"),
            "-e", "apigee_login_url=%s" % lab["mgmt_url"], env_extra={"APIGEE_AUTH_TYPE": "oauth2"})
        runs["support_bundle (token)"] = run_playbook(
            os.path.join(ROOT, "playbooks", "support_bundle.yml"), "-vvv", "-e", "@%s" % token_vars,
            "-e", "mtls_report_dir=%s" % (work / "bundle"))
        runs["remediate --check --diff"] = run_playbook(
            os.path.join(ROOT, "playbooks", "remediate.yml"), "--check", "--diff", "-vvv",
            "-e", "mtls_report_dir=%s" % (work / "remediate"))
    finally:
        os.unlink(token_vars)
    secrets = {"lab password": password, "bearer token": token}
    secrets.update({"private key body line %d" % i: ln for i, ln in enumerate(key_bodies(lab_state))})
    return {"runs": runs, "secrets": secrets, "work": work}


def test_every_run_succeeded_and_printed_a_lot(secret_runs):
    for name, res in secret_runs["runs"].items():
        assert res.returncode == 0, (name, res.stdout[-3000:], res.stderr[-2000:])
        out = res.stdout + res.stderr
        # -vvv really was on (module invocations shown) and the run printed substantial output
        assert "ESTABLISH LOCAL CONNECTION" in out and len(out) > 50_000, (name, len(out))
    assert len([k for k in secret_runs["secrets"] if k.startswith("private key body")]) >= 6


def test_no_secret_in_any_output(secret_runs):
    for name, res in secret_runs["runs"].items():
        assert find_secrets(res.stdout + res.stderr, secret_runs["secrets"]) == [], name


def test_no_secret_in_reports_or_the_support_bundle(secret_runs):
    files = files_text(secret_runs["work"])
    bundle_members = [k for k in files if ".tar.gz!" in k]
    assert len(bundle_members) >= 20, sorted(files)
    # diagnose.yml's reports (remediate.yml --check writes none) and the bundle's own copy of the diagnosis
    assert sum(k.endswith("mtls-report.json") for k in files) == 2, sorted(files)
    assert sum(k.endswith("mtls-report.md") for k in files) == 2, sorted(files)
    assert not os.path.exists(secret_runs["work"] / "remediate"), "remediate --check wrote files"
    assert sum(len(v) for v in files.values()) > 100_000
    for name, text in files.items():
        assert find_secrets(text, secret_runs["secrets"]) == [], name
    assert not [k for k in files if os.path.basename(k.split("!")[0]).startswith(".")], "temporary files left"
    assert not os.path.exists(os.path.join(secret_runs["work"], "token-vars.json"))


def test_the_search_finds_a_planted_secret(secret_runs):
    """Positive control: the same search finds each kind of secret, in output and inside an archive."""
    secrets = secret_runs["secrets"]
    res = secret_runs["runs"]["support_bundle (token)"]
    key_line = next(v for k, v in secrets.items() if k.startswith("private key body"))
    for planted, expected in ((secrets["lab password"], "lab password"), (secrets["bearer token"], "bearer token"),
                              ("-----BEGIN PRIVATE KEY-----", "PRIVATE KEY marker"),
                              ('"' + key_line[:30] + '\\n' + key_line[30:] + '"', None),
                              ('"access_token": "abcdefgh12345678"', "token shape 1"),
                              ("Authorization: Bearer abcdefgh12345678", "token shape 0")):
        out = res.stdout[: len(res.stdout) // 2] + planted + res.stdout[len(res.stdout) // 2:]
        found = find_secrets(out, secrets)
        assert found and (expected is None or expected in found), (planted[:20], found)
    folder = secret_runs["work"] / "control"
    folder.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = ("log line with %s inside\n" % secrets["lab password"]).encode()
        info = tarfile.TarInfo("b/mp-logs/x.log")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (folder / "support-bundle-control.tar.gz").write_bytes(buf.getvalue())
    try:
        hits = {k: find_secrets(v, secrets) for k, v in files_text(folder).items()}
        assert hits == {str(folder / "support-bundle-control.tar.gz") + "!b/mp-logs/x.log": ["lab password"]}
    finally:
        (folder / "support-bundle-control.tar.gz").unlink()
        folder.rmdir()
