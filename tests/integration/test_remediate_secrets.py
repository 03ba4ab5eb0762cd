"""remediate.yml on its own lab (scenario all), run with -vvv: `--check --diff` leaves Apigee and the backend files
unchanged byte for byte; the real run changes them; converge.yml --check --diff then has nothing to change; and no
output or report of these runs holds a private key, password or token, although they upload private keys to Apigee
and rewrite password-protected truststores."""
import glob
import json
import os
import re
import subprocess
import sys

import pytest
import requests

from tests.helpers.lab import run_labctl, running_lab, snapshot

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


@pytest.fixture(scope="module")
def slab(tmp_path_factory):
    with running_lab(str(tmp_path_factory.mktemp("secrets-lab")), "all") as lab:
        yield lab


def secrets_of(lab):
    """Every secret of the lab: the management password, truststore and keystore passwords, key bodies."""
    state = os.path.dirname(lab["password_file"])
    found = []
    with open(lab["password_file"], encoding="utf-8") as fh:
        found.append(fh.read().strip())
    for path in glob.glob(os.path.join(state, "backends", "jsse", "*.password")) + \
            glob.glob(os.path.join(state, "pki", "*.password")):
        with open(path, encoding="utf-8") as fh:
            found.append(fh.read().strip())
    for path in glob.glob(os.path.join(state, "pki", "*.key")):
        with open(path, encoding="utf-8") as fh:
            lines = [x for x in fh.read().splitlines() if x and not x.startswith("-----")]
        found += lines[1:3]  # two full base64 lines from the middle of each key
    return [s for s in found if len(s) >= 8]


def run(lab, playbook, report_dir, *args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               MTLS_LAB_STATE=os.path.dirname(lab["password_file"]), MTLS_REPORT_DIR=str(report_dir))
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", playbook), "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-vvv", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return res.returncode, res.stdout + res.stderr


def test_search_finds_a_planted_secret(slab):
    secrets = secrets_of(slab)
    assert len(secrets) >= 5
    planted = "output ... %s ..." % secrets[-1]
    assert any(s in planted for s in secrets)
    assert PEM_KEY.search("x -----BEGIN PRIVATE KEY----- y")


def test_check_mode_writes_nothing_and_no_secret_leaks(slab, tmp_path):
    secrets = secrets_of(slab)
    reports = tmp_path / "reports"
    texts = {}
    before = snapshot(slab)
    rc, texts["remediate-check"] = run(slab, "remediate.yml", reports, "--check", "--diff")
    assert rc == 0, texts["remediate-check"][-4000:]
    assert snapshot(slab) == before
    assert ": would fix (upload_chain)" in texts["remediate-check"]  # it did plan fixes, and showed them
    for name, playbook, args in [("remediate", "remediate.yml", ("--diff",)),
                                 ("converge-check", "converge.yml", ("--check", "--diff"))]:
        rc, out = run(slab, playbook, reports, *args)
        assert rc == 0, (name, out[-4000:])
        texts[name] = out
    after = snapshot(slab)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert {"file:jsse-b", "file:nginx-b"} <= changed and any(k.startswith("ref:") for k in changed)
    assert "file:jsse-a" not in changed and "file:nginx-a" not in changed
    assert re.search(r"lab-apigee\s*: ok=\d+\s+changed=0 ", texts["converge-check"])
    assert "upload_chain, fix" in texts["remediate"] and "trust_issuer, fix" in texts["remediate"]
    assert "mp-client-a" in texts["remediate"]  # the diff shows subjects: the search sees real output
    for path in glob.glob(str(reports / "**" / "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as fh:
                texts[path] = fh.read()
    assert any(p.endswith("remediation.md") for p in texts)
    # remediation.json says what changed, object by object, and how to roll each back; so does this run's folder
    changes = json.loads((reports / "remediation.json").read_text())["changes"]
    kinds = {c["object"].split(" ", 1)[0] for c in changes}
    assert {"keystore", "reference", "truststore"} <= kinds, changes
    assert all(c["rollback"] for c in changes)
    assert any(c["object"].startswith("truststore ") and c["rollback"].startswith("cp -p ") for c in changes)
    assert "## What changed, object by object" in (reports / "latest" / "remediation.md").read_text()
    for where, text in texts.items():
        assert not PEM_KEY.search(text), "private key PEM in %s" % where
        for secret in secrets:
            assert secret not in text, "a secret appears in %s" % where


def test_key_material_given_as_content_never_appears(slab, tmp_path):
    """What a vault variable gives: the private key as PEM content, not a path. The plan is computed, shown and applied
    (check mode) at -vvv, and no key body reaches the output."""
    import json

    run_labctl(os.path.dirname(slab["password_file"]), "reset", check=True)  # broken again, whatever ran before
    items = []
    for link in slab["links"]:
        if not link.get("material"):
            continue
        item = dict(link["material"], **{k: v for k, v in link.items() if k != "material"})
        with open(link["material"]["private_key"], encoding="utf-8") as fh:
            item["private_key"] = fh.read()
        items.append(item)
    assert items and all("PRIVATE KEY" in i["private_key"] for i in items)
    extra = tmp_path / "material.json"
    extra.write_text(json.dumps({"mtls_keystore_material": items}))
    rc, out = run(slab, "remediate.yml", tmp_path / "reports", "--check", "--diff", "-e", "@%s" % extra)
    assert rc == 0, out[-4000:]
    assert ": would fix (upload_chain)" in out and "Keystore aliases - upload the complete chain" in out
    assert not PEM_KEY.search(out), "private key PEM in the output"
    for secret in secrets_of(slab):
        assert secret not in out


def test_every_request_of_these_runs_is_one_the_published_specs_accept(slab):
    """Every call the tool (and the lab's own seeding) made to the management API in this module's runs -- remediate
    --check, remediate, converge --check, remediate with key content -- against the published Edge specs: path,
    method, required query parameters, Content-Type (tests/contract/request_check.py)."""
    from tests.contract.request_check import problems

    journal = requests.get(slab["mgmt_url"] + "/_lab/requests", params={"journal": "1"}, timeout=30).json()
    writes = [e for e in journal if e["method"] in ("POST", "PUT", "DELETE") and e["path"].startswith("/v1/")]
    assert len(writes) > 50 and {e["method"] for e in writes} == {"POST", "PUT", "DELETE"}
    assert problems(journal) == []
