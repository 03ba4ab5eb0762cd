"""truststore_cert through Ansible on the lab's backends' files and on a temporary bundle: converge -> again not
changed -> check mode not changed; check mode writes nothing; the validator's failure leaves the live file."""
import hashlib
import os
import subprocess
import sys
import textwrap

import pytest
import yaml

pytestmark = pytest.mark.integration
MUTATES_LAB = True  # see tests/integration/conftest.py

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pki(lab, name):
    return os.path.join(os.path.dirname(lab["password_file"]), "pki", name)


def run(tmp_path, tasks, extra=()):
    play = [{"name": "truststore", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable}, "tasks": yaml.safe_load(textwrap.dedent(tasks))}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          str(tmp_path / "play.yml"), "-i", "localhost,", *extra], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    return res.returncode, res.stdout + res.stderr


def digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


@pytest.mark.parametrize("fmt", ["pem_bundle", "pkcs12", "jks"])
def test_truststore_cert_idempotent(lab, tmp_path, fmt):
    path = tmp_path / ("trust." + {"pem_bundle": "pem", "pkcs12": "p12", "jks": "jks"}[fmt])
    args = {"path": str(path), "format": fmt, "certificate": pki(lab, "ca-chain-c.pem"), "mode": "0640"}
    if fmt != "pem_bundle":
        args["password"] = "it-Truststore-9"
    a = yaml.safe_dump(args, default_flow_style=True).strip()
    rc, out = run(tmp_path, """
    - {name: dry, truststore_cert: %s, check_mode: true, register: dry}
    - ansible.builtin.stat: {path: "%s"}
      register: nothing
    - {name: first, truststore_cert: %s, register: first}
    - {name: second, truststore_cert: %s, register: second}
    - {name: third, truststore_cert: %s, check_mode: true, register: third}
    - ansible.builtin.assert:
        that: [dry is changed, not nothing.stat.exists, first is changed, first.certificates == 2,
               second is not changed, third is not changed]
    """ % (a, path, a, a, a), extra=("--diff",))
    assert rc == 0, out[-4000:]
    assert "it-Truststore-9" not in out
    assert oct(os.stat(path).st_mode & 0o777) == "0o640"


def test_truststore_cert_on_lab_backend_check_mode_and_failed_validation(lab, tmp_path):
    backend = next(b for b in lab["backends"] if b["name"] == "nginx-b")
    live = backend["truststore_path"]
    before = digest(live)
    rc, out = run(tmp_path, """
    - truststore_cert: {path: "%s", certificate: "%s", validate: "%s"}
      check_mode: true
      register: dry
    - ansible.builtin.assert: {that: [dry is changed]}
    """ % (live, pki(lab, "root-c.pem"), backend["validate_cmd"]), extra=("--diff",))
    assert rc == 0, out[-4000:]
    assert "Lab Root CA C" in out and digest(live) == before
    # a validator that rejects the candidate: the module fails with its message and the live file is untouched
    rc, out = run(tmp_path, """
    - truststore_cert:
        {path: "%s", certificate: "%s", validate: "sh -c 'echo rejected by the validator >&2; exit 1' %%s"}
    """ % (live, pki(lab, "root-c.pem")))
    assert rc != 0 and "rejected by the validator" in out
    assert digest(live) == before
