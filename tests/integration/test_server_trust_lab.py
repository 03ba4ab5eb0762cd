"""The MP's own validation of the backend's certificate, on the lab (scenario `all`): a target server whose SSLInfo
TrustStore does not hold the CA of its backend fails at the lab's real JSSE MP ("PKIX path building failed"), and the
diagnosis says server_not_trusted, never ok; with IgnoreValidationErrors the same link works and is ok."""
import pytest
import requests
from ansible.module_utils.mtls.diagnosis import run_diagnosis

from tests.helpers.lab import lab_client, point_at_untrusting_truststore

pytestmark = pytest.mark.integration
MUTATES_LAB = True  # see tests/integration/conftest.py
LINK = "targetserver:test/ts-healthy-jsse"


@pytest.fixture(scope="module")
def untrusting(lab):
    """ts-healthy-jsse pointed at a truststore that holds the client root only (not the backends' server CA)."""
    client = lab_client(lab)
    _original, ts = point_at_untrusting_truststore(client, lab["state"])
    return client, ts


def _basepath(lab):
    return lab["mp_url"] + next(lk["basepath"] for lk in lab["links"] if lk["id"] == LINK)


def test_the_mp_fails_and_the_diagnosis_says_server_not_trusted(lab, untrusting):
    call = requests.get(_basepath(lab), timeout=30)
    assert call.status_code == 503
    trace = requests.get(lab["mp_url"] + "/_lab/trace", params={"messageid": call.headers["X-Apigee.Message-ID"]},
                         timeout=10).json()["traces"]
    cause = trace[-1]["error"]["cause"]
    assert cause.startswith("PKIX path building failed")   # the real JSSE, before any client certificate
    report = run_diagnosis(lab_client(lab), ["test"], key_manager=lab["mp"]["key_manager"])
    rows = {r["id"]: r for r in report["links"]}
    row = rows[LINK]
    assert row["verdict"] == "server_not_trusted" and row["remediation"]["action"] == "manual"
    assert row["evidence"]["server_trust"]["trusted"] is False
    assert "clientrootonly" in row["remediation"]["text"] and "CN=Lab Server CA" in row["remediation"]["text"]
    # every other link keeps the verdict its scenario declares
    assert {i: r["verdict"] for i, r in rows.items() if i != LINK} == {
        lk["id"]: lk["expected_verdict"] for lk in lab["links"] if lk["id"] != LINK and lk["id"] in rows}


def test_with_validation_errors_ignored_the_link_works_and_is_ok(lab, untrusting):
    client, ts = untrusting
    ts["sSLInfo"]["ignoreValidationErrors"] = True
    client.put("/environments/test/targetservers/ts-healthy-jsse", json=ts)
    assert requests.get(_basepath(lab), timeout=30).status_code == 200
    report = run_diagnosis(lab_client(lab), ["test"], key_manager=lab["mp"]["key_manager"])
    row = next(r for r in report["links"] if r["id"] == LINK)
    assert row["verdict"] == "ok" and row["evidence"]["server_trust"]["checked"] is False
