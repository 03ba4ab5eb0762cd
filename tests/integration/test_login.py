"""Logins that real orgs use, end to end against the lab: a SAML (SSO) org's one-time passcode is exchanged once for
tokens (role apigee_login) and every later module of the play uses the token (docs.apigee.com management-api-tokens:
`passcode` with grant_type=password; a passcode works once). With no credential at all the play says what to set, on
Edge (user and password, or a token) and on Apigee X (a service account key file, Application Default Credentials, or
a token)."""
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


def test_without_any_credential_the_x_play_says_what_to_set(x_lab, tmp_path):
    """Apigee X / hybrid: no service account key file, no token and no Application Default Credentials (no
    GOOGLE_APPLICATION_CREDENTIALS, no gcloud login in $HOME, no metadata server: it points at a closed loopback
    port) -> the play stops before any diagnosis and names the three ways to give credentials."""
    from tests.helpers.lab import free_block, lab_env

    closed = "127.0.0.1:%d" % free_block()
    env = lab_env(x_lab, MTLS_REPORT_DIR=str(tmp_path), HOME=str(tmp_path), GCE_METADATA_HOST=closed,
                  GCE_METADATA_IP=closed)
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    env.pop("CLOUDSDK_CONFIG", None)
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", "apigee_service_account_file=", "-e", "apigee_token="],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "no Google credentials for Apigee X" in out, out[-3000:]
    for way in ("apigee_service_account_file", "application-default login", "GOOGLE_APPLICATION_CREDENTIALS",
                "apigee_token"):
        assert way in out, way
    assert "TASK [apigee_mtls_diagnose : Diagnose" not in out
