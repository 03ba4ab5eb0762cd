"""Logins that real orgs use, end to end against the lab: a SAML (SSO) org's one-time passcode is exchanged once for
tokens (role apigee_login) and every later module of the play uses the token (docs.apigee.com management-api-tokens:
`passcode` with grant_type=password; a passcode works once)."""
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def playbook(lab, tmp_path, name, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               MTLS_REPORT_DIR=str(tmp_path))
    env.pop("APIGEE_PASSCODE", None)
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", name), "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", "apigee_username=", "-e", "apigee_password=", *extra],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return res.returncode, res.stdout + res.stderr


def test_a_passcode_logs_in_once_for_every_module_of_the_play(lab, labctl, tmp_path):
    code = labctl("passcode").stdout.strip()
    assert len(code) >= 8
    # the support bundle makes four calls of Apigee modules: a passcode sent by each would fail from the second on
    rc, out = playbook(lab, tmp_path, "support_bundle.yml", "-e", "apigee_passcode=" + code, "-vvv")
    assert rc == 0, out[-4000:]
    assert "TASK [apigee_login : Log in once" in out and list(tmp_path.glob("support-bundle-*.tar.gz"))
    assert code not in out and "access_token" not in out
    # the tokens are passed on as no_log options: masked wherever -vvv shows the module arguments
    refresh = re.findall(r'"refresh_token": "([^"]*)"', out)
    assert refresh and set(refresh) == {"VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    # the same passcode again: refused, in plain words, before anything else runs
    rc, out = playbook(lab, tmp_path, "diagnose.yml", "-e", "apigee_passcode=" + code)
    assert rc != 0 and "a passcode is one-time" in out and code not in out, out[-3000:]
    assert "TASK [apigee_mtls_diagnose" not in out


def test_without_any_credential_the_play_says_what_to_set(lab, tmp_path):
    rc, out = playbook(lab, tmp_path, "diagnose.yml")
    assert rc != 0 and "no Apigee credentials" in out, out[-3000:]
