"""Preflight checks as plain functions: placeholders (secrets named, never shown), Python packages, access."""
import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.preflight import check_access, placeholders, python_libraries


def test_the_example_inventorys_placeholders_are_each_named():
    found = placeholders({
        "apigee_org": "myorg",
        "apigee_mgmt_url": "http://mgmt.example.internal:8080",
        "apigee_username": "sysadmin@example.com",
        "apigee_password": "CHANGE-ME-secret-value",
        "mtls_probe_host": "mp1.example.internal",
        "mtls_keystore_material": [{"alias": "a", "cert_chain": "/etc/pki/CHANGE_ME.pem"}],
    })
    text = "\n".join(found)
    assert len(found) == 6
    assert "apigee_org is still the example organization 'myorg'" in text
    assert "apigee_password still holds the placeholder CHANGE-ME:" in text
    assert "CHANGE-ME-secret-value" not in text          # a secret is named, never shown
    assert "mtls_keystore_material[0].cert_chain still holds the placeholder" in text
    assert "'sysadmin@example.com'" in text and "'mp1.example.internal'" in text


@pytest.mark.parametrize("value", ["https://api.enterprise.apigee.com", "https://login.apigee.com", "10.0.0.7",
                                   "ops@corp.example-bank.de", "mgmt.internal.acme.io:8080", "prod", "examples.com"])
def test_real_values_are_not_placeholders(value):
    assert placeholders({"apigee_mgmt_url": value, "apigee_org": "acme-prod", "apigee_envs": [value]}) == []


def test_a_value_kept_on_purpose_is_ignored():
    assert placeholders({"apigee_username": "lab-admin@example.com"}, ignore=["apigee_username"]) == []
    assert placeholders({"apigee_username": "lab-admin@example.com"})


def test_python_libraries_names_the_pip_requirement_of_what_is_missing():
    got = python_libraries((("json", "json"), ("no_such_module_xyz", "no-such-package>=1")))
    assert got["missing"] == ["no-such-package>=1"] and "json" in got["versions"]
    assert got["python"].count(".") == 2


class _Client:
    org = "lab"
    mgmt_url = "http://127.0.0.1:1"

    def __init__(self, envs):
        self.envs = envs
        self.calls = []

    def get(self, path, cache=True):
        self.calls.append((path, cache))
        return self.envs


def test_check_access_is_one_uncached_call_and_names_the_envs_the_org_has():
    client = _Client(["prod", "test"])
    assert check_access(client, ["test"])["org_envs"] == ["prod", "test"]
    assert client.calls == [("/environments", False)]
    with pytest.raises(MtlsError, match=r"environment\(s\) 'qa' do not exist in organization 'lab' .*it has: prod, "
                                        r"test \(check apigee_envs\)"):
        check_access(client, ["test", "qa"])
    with pytest.raises(MtlsError, match="malformed listing"):
        check_access(_Client({"unexpected": 1}), ["test"])
