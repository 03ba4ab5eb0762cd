"""APIGEE_VALIDATE_CERTS works as the README says: the inventory's apigee_validate_certs wins, else the environment
variable, else true (the roles once always passed an explicit true, so the module's env fallback never applied)."""
import json
import os
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = ("apigee_mtls_diagnose", "apigee_support_bundle")


def rendered(tmp_path, env_value, inventory_value=None):
    var = {"apigee_mtls_diagnose": "apigee_mtls_diagnose_validate_certs",
           "apigee_support_bundle": "apigee_support_bundle_validate_certs"}
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars_files": [os.path.join(ROOT, "roles", r, "defaults", "main.yml") for r in ROLES],
             "vars": ({"apigee_validate_certs": inventory_value} if inventory_value is not None else {}),
             "tasks": [{"ansible.builtin.debug": {"msg": "VALUES={{ [%s] | map('bool') | list | to_json }}"
                                                         % ", ".join(var[r] for r in ROLES)}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("APIGEE_VALIDATE_CERTS", None)
    if env_value is not None:
        env["APIGEE_VALIDATE_CERTS"] = env_value
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(tmp_path / "play.yml"),
                          "-i", "localhost,"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    line = next(x for x in res.stdout.splitlines() if "VALUES=" in x)
    return json.loads(line.split("VALUES=", 1)[1].rstrip('"'))


def test_environment_then_inventory(tmp_path):
    assert rendered(tmp_path, None) == [True, True]
    assert rendered(tmp_path, "false") == [False, False]
    assert rendered(tmp_path, "false", inventory_value=True) == [True, True]
