"""The certificate-core filters, loaded through Ansible's own filter loader and used from a real playbook run."""
import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.mtls import certcore

from tests.helpers.pki import chain_pem, make_pki

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER_DIR = os.path.join(ROOT, "plugins", "filter")


@pytest.fixture(scope="module")
def filters():
    from ansible.plugins.loader import add_all_plugin_dirs, filter_loader

    add_all_plugin_dirs(os.path.join(ROOT, "plugins"))
    filter_loader.add_directory(FILTER_DIR)
    found = {}
    for name in ("cert_info", "cert_fingerprint", "dn_equal", "dn_openssl", "dn_java", "dn_rfc4514",
                 "chain_complete", "chain_summary"):
        plugin = filter_loader.get(name)
        assert plugin is not None, name
        found[name] = plugin.j2_function
    return found


@pytest.fixture(scope="module")
def pki():
    return make_pki(key_type="ec")


def test_cert_info_and_fingerprint(filters, pki):
    pem = pki["leaf"].cert_pem().decode()
    info = filters["cert_info"](pem)
    assert info == certcore.cert_info(pki["leaf"].cert)
    both = filters["cert_info"](chain_pem([pki["leaf"], pki["inter"]]).decode(), all=True)
    assert [i["subject"] for i in both] == ["CN=client.example.test, O=Example Corp",
                                            "CN=Test Issuing CA G2, DC=testcore, DC=test"]
    assert filters["cert_fingerprint"](pem) == certcore.fingerprint_sha256(pki["leaf"].cert)
    assert filters["cert_fingerprint"](pem, "sha1") == certcore.fingerprint_sha1(pki["leaf"].cert)
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="alg must be one of"):
        filters["cert_fingerprint"](pem, "md5")
    with pytest.raises(AnsibleFilterError, match="not valid base64|not a valid X.509"):
        filters["cert_info"]("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")


def test_dn_filters(filters, pki):
    pem = pki["inter"].cert_pem().decode()
    assert filters["dn_java"](pem) == "CN=Test Issuing CA G2, DC=testcore, DC=test"
    assert filters["dn_openssl"]("CN=Test Issuing CA G2, DC=testcore, DC=test") == \
        "/DC=test/DC=testcore/CN=Test Issuing CA G2"
    assert filters["dn_rfc4514"]("/DC=test/DC=testcore/CN=x") == "CN=x,DC=testcore,DC=test"
    assert filters["dn_equal"]("cn=test issuing ca g2,dc=testcore,dc=test", pem)
    assert not filters["dn_equal"]("CN=Test Issuing CA G2", pem)
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="unknown attribute type"):
        filters["dn_equal"]("BOGUS=1", pem)


def test_chain_complete_and_summary(filters, pki):
    leaf = pki["leaf"].cert_pem().decode()
    bundle = chain_pem([pki["other"], pki["root"], pki["inter"]]).decode()
    ordered = filters["chain_complete"](leaf, bundle)
    assert certcore.load_certificates(ordered) == [pki["leaf"].cert, pki["inter"].cert, pki["root"].cert]
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="issuer CN=Test Issuing CA G2.* is not in the bundle"):
        filters["chain_complete"](leaf, pki["root"].cert_pem().decode())
    partial = filters["chain_complete"](leaf, "", allow_incomplete=True)
    assert certcore.load_certificates(partial) == [pki["leaf"].cert]
    summary = filters["chain_summary"](ordered)
    assert [s["is_ca"] for s in summary] == [False, True, True]


def test_filters_in_a_real_playbook(tmp_path, pki):
    (tmp_path / "leaf.pem").write_bytes(pki["leaf"].cert_pem())
    (tmp_path / "bundle.pem").write_bytes(chain_pem([pki["root"], pki["inter"]]))
    playbook = tmp_path / "pb.yml"
    playbook.write_text("""
- name: Filters
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Compute
      ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0644"
        content: "{{ {'info': leaf | cert_info,
                      'same': 'CN=test issuing ca g2,DC=testcore,DC=test' | dn_equal((leaf | cert_info).issuer),
                      'chain': leaf | chain_complete(bundle) | chain_summary} | to_json }}"
      vars:
        leaf: "{{ lookup('file', dir ~ '/leaf.pem') }}"
        bundle: "{{ lookup('file', dir ~ '/bundle.pem') }}"
""")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    out = tmp_path / "out.json"
    bindir = os.path.dirname(sys.executable)
    proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook), "-e", "dir=%s out=%s" % (tmp_path, out),
                           "-e", "ansible_python_interpreter=%s" % sys.executable],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["info"]["issuer"] == "CN=Test Issuing CA G2, DC=testcore, DC=test"
    assert result["same"] is True
    assert [c["subject"] for c in result["chain"]] == ["CN=client.example.test,O=Example Corp",
                                                       "CN=Test Issuing CA G2,DC=testcore,DC=test",
                                                       "CN=Test Root CA,O=Example Corp,C=AU"]
