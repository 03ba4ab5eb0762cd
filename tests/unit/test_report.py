"""The report pipeline on constructed Edge JSON with recorded probe facts: schema, Markdown, files, check mode."""
import json
import os

import jsonschema
import pytest
from ansible.module_utils import certcore
from ansible.module_utils.mtls_report import render_markdown, run_diagnosis, write_reports

from tests.helpers.pki import make_ca, make_leaf
from tests.unit.test_links import FakeClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def world():
    root_a = make_ca("CN=Root A,O=Lab", key_type="ec")
    int_a = make_ca("CN=Int A,O=Lab", parent=root_a, key_type="ec")
    leaf_a = make_leaf("CN=client a,O=Lab", issuer=int_a, key_type="ec")
    root_b = make_ca("CN=Root B,O=Lab", key_type="ec")

    def ts(name, port, ks_ref):
        return {"name": name, "host": "h", "port": port, "isEnabled": True,
                "sSLInfo": {"enabled": "true", "clientAuthEnabled": "true", "keyStore": ks_ref, "keyAlias": "client"}}

    data = {
        "": {"name": "acme"},
        "/environments/test": {"name": "test"},
        "/environments/test/targetservers": ["good", "mismatch", "noref"],
        "/environments/test/targetservers/good": ts("good", 1, "ref://r"),
        "/environments/test/targetservers/mismatch": ts("mismatch", 2, "ref://r"),
        "/environments/test/targetservers/noref": ts("noref", 1, "ref://gone"),
        "/environments/test/deployments": {"aPIProxy": []},
        "/environments/test/references/r": {"name": "r", "refers": "ks"},
        "/environments/test/keystores": ["ks"],
        "/environments/test/keystores/ks": {"name": "ks", "aliases": [{"aliasName": "client", "key": "k"}]},
    }
    raw = {"/environments/test/keystores/ks/aliases/client/certificate":
           leaf_a.cert_pem() + int_a.cert_pem() + root_a.cert_pem()}

    def probes(targets, **kw):
        out = {}
        for host, port, sni in targets:
            ca = root_a if port == 1 else root_b
            out[(host, port, sni)] = {
                "host": host, "port": port, "reachable": True, "error": None, "client_auth_requested": True,
                "acceptable_ca_names": [ca.cert.subject],
                "acceptable_client_cas": [certcore.dn_rfc4514(ca.cert.subject)],
                "acceptable_client_cas_openssl": [certcore.dn_openssl(ca.cert.subject)],
                "handshake_without_certificate": {"ok": False, "completed": True, "alert": "bad_certificate",
                                                  "alert_text": "tls alert bad certificate", "http_status": None,
                                                  "client_certificate_presented": False}}
        return out

    client = FakeClient(data, raw)
    client.stats = lambda: {"api_requests": len(client.seen)}
    return run_diagnosis(client, ["test"], probe_fn=probes), int_a


def test_report_validates_against_the_schema(world):
    report, _ = world
    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        jsonschema.validate(report, json.load(fh))
    verdicts = {r["id"]: r["verdict"] for r in report["links"]}
    assert verdicts == {"targetserver:test/good": "ok", "targetserver:test/mismatch": "ca_mismatch",
                        "targetserver:test/noref": "reference_missing"}
    assert report["summary"]["broken"] == 2 and report["summary"]["by_verdict"]["ca_mismatch"] == 1
    assert report["stats"]["probes"] == 2


def test_schema_rejects_a_bad_verdict(world):
    report, _ = world
    bad = json.loads(json.dumps(report))
    bad["links"][0]["verdict"] = "maybe"
    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, json.load(fh))


def test_markdown_explains_broken_links(world):
    report, int_a = world
    md = render_markdown(report)
    assert "| `targetserver:test/good` |" in md
    assert "### `targetserver:test/mismatch`: ca_mismatch" in md
    assert certcore.fingerprint_sha256(int_a.cert) in md
    assert "runbook cause 2" in md and "### `targetserver:test/good`" not in md


def test_write_reports_is_idempotent_and_check_mode_writes_nothing(world, tmp_path):
    report, _ = world
    paths, changed = write_reports(report, str(tmp_path / "r"), check_mode=True)
    assert changed and not os.path.exists(paths["json"])
    paths, changed = write_reports(report, str(tmp_path / "r"))
    assert changed and os.path.exists(paths["json"]) and os.path.exists(paths["markdown"])
    again = dict(report, generated_at="2099-01-01T00:00:00+00:00")
    assert write_reports(again, str(tmp_path / "r"))[1] is False
