"""A link's SSLInfo <Ciphers>, on the lab (scenario `all`): the lab's real JSSE MP applies the list
(setEnabledCipherSuites) to its call to the real JSSE backend of ts-healthy-jsse, and the diagnosis must say what the
MP meets: a suite the backend cannot use (DHE_DSS against its RSA certificate) or an OpenSSL name in the list fails
the call (503) and the link is backend_unreachable, never ok; a suite both have keeps it working and ok."""
import copy

import pytest
import requests
from ansible.module_utils.mtls.diagnosis import run_diagnosis

from tests.helpers.lab import lab_client

pytestmark = pytest.mark.integration
MUTATES_LAB = True  # see tests/integration/conftest.py
LINK = "targetserver:test/ts-healthy-jsse"
PATH = "/environments/test/targetservers/ts-healthy-jsse"


@pytest.fixture(scope="module")
def original(lab):
    client = lab_client(lab)
    ts = client.get(PATH, cache=False)
    yield ts
    client.put(PATH, json=ts)


def _with_ciphers(lab, original, ciphers):
    ts = copy.deepcopy(original)
    ts["sSLInfo"]["ciphers"] = ciphers
    lab_client(lab).put(PATH, json=ts)
    call = requests.get(lab["mp_url"] + next(lk["basepath"] for lk in lab["links"] if lk["id"] == LINK), timeout=30)
    report = run_diagnosis(lab_client(lab), ["test"], key_manager=lab["mp"]["key_manager"], target_servers=[
        "ts-healthy-jsse"], proxies=[])
    return call, next(r for r in report["links"] if r["id"] == LINK)


def _cause(lab, call):
    trace = requests.get(lab["mp_url"] + "/_lab/trace", params={"messageid": call.headers["X-Apigee.Message-ID"]},
                         timeout=10).json()["traces"]
    return trace[-1]["error"]["cause"]


def test_a_suite_the_backend_cannot_use_fails_the_mp_and_is_backend_unreachable(lab, original):
    call, row = _with_ciphers(lab, original, ["TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"])
    assert call.status_code == 503, call.text
    assert "handshake_failure" in _cause(lab, call)   # the backend refused: no suite in common
    assert row["verdict"] == "backend_unreachable", row["verdict"]
    assert row["tls_versions"]["ciphers"]["tls12"] == ["TLS_DHE_DSS_WITH_AES_128_GCM_SHA256"]
    assert row["tls_versions"]["allowed"] == ["TLSv1.2"]


def test_an_openssl_name_in_the_list_fails_the_mp_and_is_backend_unreachable(lab, original):
    call, row = _with_ciphers(lab, original, ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"])
    assert call.status_code == 503, call.text
    assert "Unsupported CipherSuite: ECDHE-RSA-AES128-GCM-SHA256" in _cause(lab, call)
    assert row["verdict"] == "backend_unreachable"
    assert "Unsupported CipherSuite" in row["remediation"]["text"]
    assert row["tls_versions"]["ciphers"]["unknown"] == ["ECDHE-RSA-AES128-GCM-SHA256"]


def test_a_suite_both_have_keeps_the_link_working_and_ok(lab, original):
    call, row = _with_ciphers(lab, original, ["TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])
    assert call.status_code == 200, call.text
    assert row["verdict"] == "ok", (row["verdict"], row["remediation"])
    assert row["tls_versions"]["ciphers"]["disabled"] == ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]
    assert row["tls_versions"]["negotiated"] == "TLSv1.2"
