"""inventory/example/ can be filled from its comments alone: every key a fix reads is written there (literally, with a
comment), the backends group has a JSSE and an nginx host with every variable the truststore fix uses, and the
remediation role's argument spec names the same keys."""
import json
import os
import re
import subprocess

import pytest
import yaml
from ansible.module_utils.mtls.alias_chain import ITEM_OPTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, ".venv", "bin")
EXAMPLES = ("public-cloud", "private-cloud")
MATERIAL_KEYS = sorted(set(ITEM_OPTIONS) | {"id", "issuer_ca", "ca_chain"})
BACKEND_VARS = ("backend_host", "backend_port", "backend_truststore_path", "backend_truststore_format",
                "backend_truststore_password", "backend_validate_cmd", "backend_reload_cmd")


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_material_key_is_written_with_its_comment(example):
    path = os.path.join(ROOT, "inventory", "example", example, "group_vars", "all", "remediation.yml")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    for key in MATERIAL_KEYS:
        line = re.search(r"^\s*(?:#\s*)?(?:- )?%s: .*#" % re.escape(key), text, re.M)
        assert line, "%s: no commented line for %s" % (path, key)
    doc = yaml.safe_load(text)
    entry = doc["mtls_keystore_material"][0]
    assert {"env", "alias", "cert_chain", "private_key"} <= set(entry)
    assert "apigee_mtls_remediate_enable_client_auth" in doc


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_backends_group_has_a_jsse_and_an_nginx_host_with_every_variable(example):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    res = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i",
                          os.path.join(ROOT, "inventory", "example", example), "--list"], capture_output=True,
                         text=True, timeout=120, env=env, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    inv = json.loads(res.stdout)
    hosts = inv["mtls_backends"]["hosts"]
    formats = set()
    for host in hosts:
        hv = inv["_meta"]["hostvars"][host]
        missing = [v for v in BACKEND_VARS if v not in hv]
        assert not missing, (host, missing)
        formats.add(hv["backend_truststore_format"])
        assert "%s" in hv["backend_validate_cmd"], host
    assert {"pkcs12", "pem_bundle"} <= formats


def test_the_remediation_role_spec_names_every_material_key_and_backend_variable():
    spec_path = os.path.join(ROOT, "roles", "apigee_mtls_remediate", "meta", "argument_specs.yml")
    with open(spec_path, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)["argument_specs"]["main"]["options"]
    material = " ".join(spec["apigee_mtls_remediate_material"]["description"])
    for key in MATERIAL_KEYS:
        assert "C(%s)" % key in material, key
    backends = " ".join(spec["apigee_mtls_remediate_backend_group"]["description"])
    for var in BACKEND_VARS:
        assert "C(%s)" % var in backends, var
    assert spec["apigee_mtls_remediate_enable_client_auth"]["type"] == "bool"
