"""The collection tarball is proven, not assumed: `scripts/build_collection.py` builds it, `ansible-galaxy collection
install` puts it into an empty collections path, and ansible-playbook -- with a configuration that knows nothing of this
checkout's library/, plugins/ or roles/ -- runs the collection's diagnosis playbook and a playbook written with FQCN
names (role, module, filter) against the lab. The execution environment definition is checked with
`ansible-builder create` (an image is built only where a container tool runs)."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from scripts.build_collection import build, galaxy

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
FQCN = "apigee_mtls.doctor"

PLAYBOOK = """
- name: The collection by its FQCN names
  hosts: apigee
  gather_facts: false
  tasks:
    - name: A module of the collection
      apigee_mtls.doctor.apigee_southbound_info:
        mgmt_url: "{{ apigee_mgmt_url }}"
        org: "{{ apigee_org }}"
        envs: "{{ apigee_envs }}"
        username: "{{ apigee_username }}"
        password: "{{ apigee_password }}"
        login_url: "{{ apigee_login_url }}"
      register: southbound

    - name: A filter of the collection
      ansible.builtin.set_fact:
        server_ca_fingerprint: >-
          {{ lookup('ansible.builtin.file', mtls_backend_server_ca_pem) | apigee_mtls.doctor.cert_fingerprint }}

    - name: A role of the collection
      ansible.builtin.include_role:
        name: apigee_mtls.doctor.apigee_mtls_diagnose

    - name: What they returned
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'links': southbound.links | map(attribute='id') | list, 'fingerprint': server_ca_fingerprint,
                      'verdicts': mtls_report.links | map(attribute='verdict') | list} | to_json }}"
        mode: "0600"
      delegate_to: localhost
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("collection")
    tarball = build(str(work / "dist"))
    assert os.path.basename(tarball) == "apigee_mtls-doctor-%s.tar.gz" % galaxy()["version"]
    collections = work / "collections"
    res = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--force", tarball, "-p",
                          str(collections)], capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    cfg = work / "ansible.cfg"   # nothing of this checkout: only the installed collection
    cfg.write_text("[defaults]\ncollections_path = %s\ninterpreter_python = auto_silent\nretry_files_enabled = false\n"
                   % collections)
    return {"work": work, "tarball": tarball, "tree": collections / "ansible_collections" / "apigee_mtls" / "doctor",
            "cfg": str(cfg)}


def _env(installed, report_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({"ANSIBLE_CONFIG": installed["cfg"], "ANSIBLE_NOCOLOR": "1", "MTLS_REPORT_DIR": str(report_dir)})
    return env


def test_the_tarball_holds_a_collection_with_collection_imports(installed):
    tree = installed["tree"]
    modules = sorted(n[:-3] for n in os.listdir(tree / "plugins" / "modules") if n.endswith(".py"))
    assert modules == sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "library")) if n.endswith(".py"))
    for sub in ("module_utils/mtls/apigee/client.py", "filter/certcore.py", "doc_fragments/attributes.py"):
        assert (tree / "plugins" / sub).is_file(), sub
    for name in ("meta/runtime.yml", "LICENSE", "CHANGELOG.md", "playbooks/diagnose.yml",
                 "roles/apigee_mtls_diagnose/meta/argument_specs.yml"):
        assert (tree / name).is_file(), name
    manifest = json.loads((tree / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["license"] == ["Apache-2.0"]
    for base, _dirs, names in os.walk(tree / "plugins"):
        for name in names:
            if name.endswith(".py"):
                text = open(os.path.join(base, name), encoding="utf-8").read()
                assert "ansible.module_utils.mtls" not in text, os.path.join(base, name)
    plan = (tree / "roles" / "apigee_mtls_remediate" / "tasks" / "plan.yml").read_text()
    assert "| %s.mtls_remediation_plan(" % FQCN in plan


def test_ansible_doc_reads_every_module_with_its_fragments(installed, tmp_path):
    res = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "%s.apigee_keystore" % FQCN,
                          "%s.apigee_mp_log_scan" % FQCN], capture_output=True, text=True, timeout=120,
                         env=_env(installed, tmp_path), cwd=str(tmp_path), check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    docs = json.loads(res.stdout)
    keystore = docs["%s.apigee_keystore" % FQCN]["doc"]
    assert "mgmt_url" in keystore["options"] and keystore["attributes"]["check_mode"]["support"] == "full"
    assert docs["%s.apigee_mp_log_scan" % FQCN]["doc"]["attributes"]["diff_mode"]["support"] == "none"


def test_the_collection_diagnoses_the_lab_by_fqcn(installed, lab, tmp_path):
    inventory = os.path.join(ROOT, "inventory", "lab")
    playbook = tmp_path / "fqcn.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "out.json"
    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(playbook), "-i", inventory, "-e",
                          "out=%s" % out], capture_output=True, text=True, timeout=600, cwd=str(tmp_path),
                         env=_env(installed, tmp_path / "reports-fqcn"), check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    got = json.loads(out.read_text())
    assert sorted(got["links"]) == sorted(link["id"] for link in lab["links"])
    assert got["fingerprint"].count(":") == 31
    want = sorted(link["expected_verdict"] for link in lab["links"])
    assert sorted(got["verdicts"]) == want

    res = subprocess.run([os.path.join(BIN, "ansible-playbook"), "%s.diagnose" % FQCN, "-i", inventory],
                         capture_output=True, text=True, timeout=600, cwd=str(tmp_path),
                         env=_env(installed, tmp_path / "reports"), check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
    report = json.loads((tmp_path / "reports" / "mtls-report.json").read_text())
    assert sorted(row["verdict"] for row in report["links"]) == want


def _ee_project(installed, tmp_path):
    """A folder with the EE definition, its requirement files and the built tarball where it expects it (dist/)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("execution-environment.yml", "requirements-ee.txt", "bindep.txt"):
        shutil.copy(os.path.join(ROOT, name), project / name)
    (project / "dist").mkdir()
    shutil.copy(installed["tarball"], project / "dist")
    return project


def test_the_execution_environment_definition_builds_a_context(installed, tmp_path):
    with open(os.path.join(ROOT, "execution-environment.yml"), encoding="utf-8") as fh:
        ee = yaml.safe_load(fh)
    version = galaxy()["version"]
    assert ee["version"] == 3
    assert any(os.path.basename(f["src"]) == "apigee_mtls-doctor-%s.tar.gz" % version
               for f in ee["additional_build_files"])
    project = _ee_project(installed, tmp_path)
    res = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c",
                          "context"], capture_output=True, text=True, timeout=300, cwd=str(project), check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    context = project / "context"
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    assert "ansible-galaxy collection install /build/collections/apigee_mtls-doctor-%s.tar.gz" % version \
        in containerfile
    assert (context / "_build" / "collections" / os.path.basename(installed["tarball"])).is_file()
    assert "openjdk" in (context / "_build" / "bindep.txt").read_text()
    assert "pyOpenSSL" in (context / "_build" / "requirements.txt").read_text()


def _container_tool():
    for tool in ("podman", "docker"):
        path = shutil.which(tool)
        if path and subprocess.run([path, "info"], capture_output=True, timeout=30, check=False).returncode == 0:
            return tool
    return None


@pytest.mark.skipif(_container_tool() is None, reason="no running podman or docker: the image itself is not built")
def test_the_execution_environment_image_builds(installed, tmp_path):
    project = _ee_project(installed, tmp_path)
    res = subprocess.run([os.path.join(BIN, "ansible-builder"), "build", "--container-runtime", _container_tool(),
                          "-t", "apigee-mtls-doctor-ee:test"], capture_output=True, text=True, timeout=1800,
                         cwd=str(project), check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]
