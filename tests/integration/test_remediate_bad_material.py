"""remediate.yml with one bad material item among good ones (the key of another link): every item's material is
checked before the first change, so nothing in Apigee changes; the failure names the bad item; and the run still
writes its remediation report. Once three links were rotated before the play failed, and no report was written."""
import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.lab import running_lab, snapshot

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module", params=["edge", "x"])
def blab(request, tmp_path_factory):
    """The lab's missing-client-cert scenario, on Apigee Edge and on Apigee X."""
    with running_lab(str(tmp_path_factory.mktemp("bad-material-lab")), "missing-client-cert",
                     platform=request.param) as lab:
        yield lab


def test_one_bad_item_stops_the_run_before_any_change_and_a_report_is_written(blab, tmp_path):
    items = [dict(link["material"], **{k: v for k, v in link.items() if k != "material"})
             for link in blab["links"] if link.get("material")]
    assert len(items) >= 2
    other = tmp_path / "other.key"  # a key that does not match the item's leaf
    other.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    other.chmod(0o600)
    items[-1]["private_key"] = str(other)
    bad = items[-1]
    (tmp_path / "material.json").write_text(json.dumps({"mtls_keystore_material": items}))
    before = snapshot(blab)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               MTLS_LAB_STATE=os.path.dirname(blab["password_file"]), MTLS_REPORT_DIR=str(tmp_path / "reports"))
    playbook = os.path.join(ROOT, "playbooks", "remediate.yml")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook,
                          "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", "@%s" % (tmp_path / "material.json")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "cannot be used, nothing was changed" in out
    assert "alias %s: the private key does not match the leaf certificate" % bad["alias"] in out
    assert snapshot(blab) == before
    report = json.loads((tmp_path / "reports" / "remediation.json").read_text())
    assert "nothing was changed" in report["failure"] and report["links"]
    assert {row["status"] for row in report["links"]} >= {"fix"}
