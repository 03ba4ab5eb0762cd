"""Every Apigee module against the lab's management API, as community.crypto tests its modules: converge -> converge
again is not changed -> check mode is not changed; check mode and bad input write nothing. On Apigee Edge and on
Apigee X (`any_lab`: the modules with the X connection options, the API read in X's shapes). Uses the empty `prod`
environment of the session lab so the `test` environment keeps its scenario for the other tests."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests
import yaml

from tests.helpers.lab import is_x, lab_auth, ts_flag

pytestmark = pytest.mark.integration
MUTATES_LAB = True  # see tests/integration/conftest.py

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "prod"


def _password(lab):
    with open(lab["password_file"], encoding="utf-8") as fh:
        return fh.read().strip()


def _alias_names(lab, keystore_doc):
    """A keystore's alias names: Edge lists {aliasName}, X lists the names."""
    return [a if is_x(lab) else a["aliasName"] for a in keystore_doc["aliases"]]


def pki(lab, name):
    return os.path.join(os.path.dirname(lab["password_file"]), "pki", name)


def run_play(lab, tmp_path, tasks, check=True, extra_args=()):
    """Run tasks on the lab's apigee host with the connection options as module defaults; returns (rc, output)."""
    conn = {"mgmt_url": lab["mgmt_url"], "org": lab["org"], "retries": 2}
    if is_x(lab):
        conn.update(platform=lab["platform"], service_account_file=lab["service_account_file"])
    else:
        conn.update(username=lab["username"], password="{{ lab_password }}")
    play = [{"name": "modules", "hosts": "lab-apigee", "gather_facts": False,
             "vars": {"lab_password": "{{ lookup('ansible.builtin.file', '%s') }}" % lab["password_file"]},
             "module_defaults": {m: conn for m in ("apigee_keystore", "apigee_keystore_alias",
                                                    "apigee_keystore_aliases", "apigee_reference",
                                                    "apigee_truststore_cert", "apigee_target_client_auth")},
             "tasks": yaml.safe_load(textwrap.dedent(tasks))}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, MTLS_LAB_STATE=lab["state"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path), "-i",
                          os.path.join(ROOT, "inventory", "lab"), *extra_args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    if check:
        assert res.returncode == 0, out[-5000:]
    return res.returncode, out


def api(lab, path):
    return requests.get("%s/v1/organizations/%s/environments/%s/%s" % (lab["mgmt_url"], lab["org"], ENV, path),
                        timeout=10, **lab_auth(lab))


IDEMPOTENT = """
- name: converge
  {module}: {args}
  register: first
- name: converge again
  {module}: {args}
  register: second
- name: converge in check mode
  {module}: {args}
  register: third
  check_mode: true
- name: idempotent
  ansible.builtin.assert:
    that: [first is changed, second is not changed, third is not changed]
"""


def idempotent(module, args):
    return IDEMPOTENT.format(module=module, args=yaml.safe_dump(args, default_flow_style=True).strip())


def test_apigee_keystore(any_lab, tmp_path):
    lab = any_lab
    run_play(lab, tmp_path, """
    - name: check mode creates nothing
      apigee_keystore: {env: prod, name: itksone}
      check_mode: true
      register: dry
    - ansible.builtin.assert: {that: [dry is changed]}
    """)
    assert api(lab, "keystores/itksone").status_code == 404
    run_play(lab, tmp_path, idempotent("apigee_keystore", {"env": ENV, "name": "itksone"}))
    assert api(lab, "keystores/itksone").json()["name"] == "itksone"
    run_play(lab, tmp_path, idempotent("apigee_keystore", {"env": ENV, "name": "itksone", "state": "absent"}))
    assert api(lab, "keystores/itksone").status_code == 404
    # keystores-and-trustores.yaml: names are alphanumeric only; refused before any change, check mode included
    for check in (True, False):
        rc, out = run_play(lab, tmp_path, """
        - apigee_keystore: {env: prod, name: it-ks-two}
          check_mode: %s
        """ % str(check).lower(), check=False)
        assert rc != 0 and "only alphanumeric characters" in out and "'itkstwo'" in out
    assert api(lab, "keystores/it-ks-two").status_code == 404


def test_apigee_reference(any_lab, tmp_path):
    lab = any_lab
    run_play(lab, tmp_path, textwrap.dedent("""
    - apigee_keystore: {env: prod, name: "{{ item }}"}
      loop: [itrefks1, itrefks2]
    """) + idempotent("apigee_reference", {"env": ENV, "name": "it-ref", "refers": "itrefks1"})
             + idempotent("apigee_reference", {"env": ENV, "name": "it-ref", "refers": "itrefks2"}).replace(
                 "register: first", "register: first\n  diff: true"))
    assert api(lab, "references/it-ref").json()["refers"] == "itrefks2"
    rc, out = run_play(lab, tmp_path, """
    - apigee_reference: {env: prod, name: it-ref, refers: no-such-keystore}
    """, check=False)
    assert rc != 0 and "no-such-keystore" in out and "does not exist" in out
    assert api(lab, "references/it-ref").json()["refers"] == "itrefks2"
    rc, out = run_play(lab, tmp_path, """
    - apigee_keystore: {env: prod, name: itrefks2, state: absent}
    """, check=False)
    assert rc != 0 and "it-ref" in out and "repoint" in out


def test_apigee_truststore_cert(any_lab, tmp_path):
    lab = any_lab
    args = {"env": ENV, "truststore": "itts", "certificate": pki(lab, "int-c.pem")}
    run_play(lab, tmp_path, idempotent("apigee_truststore_cert", args))
    aliases = _alias_names(lab, api(lab, "keystores/itts").json())
    assert len(aliases) == 1 and aliases[0].startswith("lab-intermediate-ca-c-")
    run_play(lab, tmp_path, idempotent("apigee_truststore_cert", dict(args, state="absent")))
    assert api(lab, "keystores/itts").json()["aliases"] == []


def test_apigee_keystore_alias_in_place_rotate_and_bad_input(any_lab, tmp_path):
    lab = any_lab
    base = {"env": ENV, "alias": "mp-client-a", "private_key": pki(lab, "mp-client-a.key")}
    # leaf alone + a CA bundle: the module completes the chain itself
    run_play(lab, tmp_path, idempotent("apigee_keystore_alias", dict(base, keystore="italiasks",
                                                                       cert_chain=pki(lab, "mp-client-a.pem"),
                                                                       ca_bundle=pki(lab, "int-a.pem"))))
    chain = api(lab, "keystores/italiasks/aliases/mp-client-a/certificate").text
    assert chain.count("BEGIN CERTIFICATE") == 2
    # zero-downtime rotation through a reference: new keystore, reference repointed, old keystore deleted
    run_play(lab, tmp_path, textwrap.dedent("""
    - apigee_reference: {env: prod, name: it-alias-ref, refers: italiasks}
    """) + idempotent("apigee_keystore_alias", dict(base, reference="it-alias-ref", strategy="rotate",
                                                   cert_chain=pki(lab, "mp-client-a-chain.pem"),
                                                   ca_bundle=pki(lab, "ca-chain-a.pem"))))
    new = api(lab, "references/it-alias-ref").json()["refers"]
    assert new.startswith("italiasksrot") and api(lab, "keystores/italiasks").status_code == 404
    assert api(lab, "keystores/%s/aliases/mp-client-a/certificate" % new).text.count("BEGIN CERTIFICATE") == 3
    # certificate-only update (no key): the alias keeps its key, a warning names the MP restart
    _, out = run_play(lab, tmp_path, idempotent("apigee_keystore_alias", {
        "env": ENV, "keystore": new, "alias": "mp-client-a", "cert_chain": pki(lab, "mp-client-a-chain.pem")}))
    assert "restart" in out
    # bad input fails before any change, naming the problem
    rc, out = run_play(lab, tmp_path, """
    - apigee_keystore_alias: {env: prod, keystore: itbadks, alias: a, cert_chain: "%s",
                              private_key: "%s"}
    """ % (pki(lab, "mp-client-a-chain.pem"), pki(lab, "mp-client-c.key")), check=False)
    assert rc != 0 and "does not match" in out
    rc, out = run_play(lab, tmp_path, """
    - apigee_keystore_alias: {env: prod, keystore: itbadks, alias: a, cert_chain: "%s",
                              private_key: "%s", ca_bundle: "%s"}
    """ % (pki(lab, "mp-client-a.pem"), pki(lab, "mp-client-a.key"), pki(lab, "root-a.pem")), check=False)
    assert rc != 0 and "cannot be completed" in out and "Intermediate CA A" in out
    assert api(lab, "keystores/itbadks").status_code == 404


def test_apigee_target_client_auth(any_lab, tmp_path):
    lab = any_lab
    ts = {"name": "it-ts-auth", "host": "localhost", "port": 443, "isEnabled": True,
          "sSLInfo": {"enabled": ts_flag(lab, True), "clientAuthEnabled": ts_flag(lab, False),
                      "keyStore": "ref://it-alias-ref",
                      "keyAlias": "mp-client-a", "trustStore": "ref://mp-truststore-ref"}}
    url = "%s/v1/organizations/%s/environments/%s/targetservers" % (lab["mgmt_url"], lab["org"], ENV)
    auth = lab_auth(lab)
    requests.post(url, json=ts, timeout=10, **auth).raise_for_status()
    try:
        run_play(lab, tmp_path, idempotent("apigee_target_client_auth", {"link_id": "targetserver:prod/it-ts-auth"}))
        got = api(lab, "targetservers/it-ts-auth").json()["sSLInfo"]
        assert got["clientAuthEnabled"] == ts_flag(lab, True) and got["keyAlias"] == "mp-client-a"
    finally:  # the diagnosis of the shared lab follows target servers: leave none behind
        requests.delete(url + "/it-ts-auth", timeout=10, **auth)


def test_apigee_keystore_alias_rotation_moves_the_links_that_name_the_keystore_directly(any_lab, tmp_path):
    """Apigee (update-tls-certificate-cloud / -private-cloud) documents, for a keystore named directly in SSLInfo
    (KeyStore itbynameks, not ref://): a new keystore, then update the target server. A rotation does that for the
    target server that names it with this alias, repoints the reference, and keeps the old keystore because another
    target server still names it with another alias (and says so). Run again, nothing changes; with
    update_direct_users false the target server is left alone."""
    lab = any_lab
    base = {"env": ENV, "alias": "mp-client-a", "private_key": pki(lab, "mp-client-a.key")}
    url = "%s/v1/organizations/%s/environments/%s/targetservers" % (lab["mgmt_url"], lab["org"], ENV)
    auth = lab_auth(lab)

    def ts(name, alias):
        return {"name": name, "host": "localhost", "port": 443, "isEnabled": True,
                "sSLInfo": {"enabled": ts_flag(lab, True), "clientAuthEnabled": ts_flag(lab, True),
                            "keyStore": "itbynameks",
                            "keyAlias": alias, "trustStore": "ref://mp-truststore-ref"}}

    run_play(lab, tmp_path, idempotent("apigee_keystore_alias", dict(base, keystore="itbynameks",
                                                                       cert_chain=pki(lab, "mp-client-a.pem"),
                                                                       ca_bundle=pki(lab, "int-a.pem"))))
    for name, alias in (("it-ts-byname", "mp-client-a"), ("it-ts-otheralias", "other")):
        requests.post(url, json=ts(name, alias), timeout=10, **auth).raise_for_status()
    try:
        rotate = dict(base, reference="it-byname-ref", strategy="rotate", cert_chain=pki(lab, "mp-client-a-chain.pem"),
                      ca_bundle=pki(lab, "ca-chain-a.pem"))
        _, out = run_play(lab, tmp_path, textwrap.dedent("""
        - apigee_reference: {env: prod, name: it-byname-ref, refers: itbynameks}
        - name: rotate in check mode
          apigee_keystore_alias: %(args)s
          check_mode: true
          register: dry
        - name: rotate
          apigee_keystore_alias: %(args)s
          register: rot
        - name: rotate again
          apigee_keystore_alias: %(args)s
          register: again
        - ansible.builtin.assert:
            that:
              - dry is changed and dry.previous_keystore_kept_because == ['targetserver:prod/it-ts-otheralias']
              - dry.repointed == ['targetserver:prod/it-ts-byname']
              - dry.steps[-1] is search('keep keystore itbynameks')
              - rot is changed and rot.action == 'rotate' and rot.previous_keystore == 'itbynameks'
              - rot.previous_keystore_kept_because == ['targetserver:prod/it-ts-otheralias']
              - rot.repointed == ['targetserver:prod/it-ts-byname'] and not rot.restart_required
              - again is not changed
        """) % {"args": yaml.safe_dump(rotate, default_flow_style=True).strip()})
        assert "keystore itbynameks is kept" in out and "targetserver:prod/it-ts-otheralias" in out
        new = api(lab, "references/it-byname-ref").json()["refers"]
        assert new.startswith("itbynameksrot")
        # the target server that named the keystore with this alias names the new one; the other is left alone
        assert api(lab, "targetservers/it-ts-byname").json()["sSLInfo"]["keyStore"] == new
        assert api(lab, "targetservers/it-ts-otheralias").json()["sSLInfo"]["keyStore"] == "itbynameks"
        # the old keystore, still named by the other target server, is there with its old chain (leaf + intermediate)
        old = api(lab, "keystores/itbynameks/aliases/mp-client-a/certificate").text
        assert old.count("BEGIN CERTIFICATE") == 2
        assert api(lab, "keystores/%s/aliases/mp-client-a/certificate" % new).text.count("BEGIN CERTIFICATE") == 3
        # update_direct_users: false keeps every link as it is (here: back on the leaf alone, nothing is moved)
        leave = dict(base, keystore=new, strategy="rotate", update_direct_users=False,
                     cert_chain=pki(lab, "mp-client-a.pem"), ca_bundle=pki(lab, "int-a.pem"), include_root=False)
        requests.put(url + "/it-ts-byname", json=dict(ts("it-ts-byname", "mp-client-a"),
                                                       sSLInfo=dict(ts("x", "mp-client-a")["sSLInfo"], keyStore=new)),
                     timeout=10, **auth).raise_for_status()
        _, out = run_play(lab, tmp_path, textwrap.dedent("""
        - apigee_keystore_alias: %s
          register: left
        - ansible.builtin.assert:
            that:
              - left is changed and left.repointed == []
              - left.previous_keystore_kept_because == ['targetserver:prod/it-ts-byname']
        """) % yaml.safe_dump(leave, default_flow_style=True).strip())
        assert api(lab, "targetservers/it-ts-byname").json()["sSLInfo"]["keyStore"] == new
    finally:  # the diagnosis of the shared lab follows target servers: leave none behind
        for name in ("it-ts-byname", "it-ts-otheralias"):
            requests.delete(url + "/" + name, timeout=10, **auth)


@pytest.mark.parametrize("name", ["..", "."])
def test_a_dot_name_never_reaches_the_api(any_lab, tmp_path, name):
    """apigee_keystore name=.. state=absent once sent DELETE .../environments/prod/ (only the emulator's 405 stopped
    it); name=. crashed. The name is refused before any request."""
    lab = any_lab
    for state in ("absent", "present"):
        rc, out = run_play(lab, tmp_path, """
        - apigee_keystore: {env: prod, name: "%s", state: %s}
        """ % (name, state), check=False)
        assert rc != 0 and "is not a valid Apigee name" in out and '"api_requests": 0,' in out, out
    assert api(lab, "keystores").status_code == 200


def test_a_fix_in_place_is_restart_required_until_the_mp_restarts_and_a_rotation_is_not(lab, tmp_path, labctl):
    """Apigee (docs.apigee.com update-tls-certificate-cloud / -private-cloud): the MPs keep a
    keystore they loaded until they restart. The module says so (restart_required), the lab's MP behaves so, and a
    rotation through the reference needs no restart."""
    by_short = {lk["basepath"].strip("/"): lk for lk in lab["links"]}
    in_place, rotated = by_short["chain-incomplete-nginx"], by_short["chain-incomplete-jsse"]
    mat = in_place["material"]
    rc, out = run_play(lab, tmp_path, """
    - apigee_keystore_alias: {env: test, keystore: %s, alias: %s, cert_chain: "%s", ca_bundle: "%s",
                              private_key: "%s", strategy: in_place}
      register: fixed
    - ansible.builtin.assert: {that: [fixed is changed, fixed.restart_required]}
    """ % (in_place["keystore"], in_place["alias"], mat["cert_chain"], mat["ca_chain"], mat["private_key"]))
    assert "keep the keystore they loaded until they restart" in out
    url = lab["mp_url"] + in_place["basepath"]
    stored = requests.get("%s/v1/organizations/lab/environments/test/keystores/%s/aliases/%s/certificate" % (
        lab["mgmt_url"], in_place["keystore"], in_place["alias"]), auth=(lab["username"], _password(lab)),
        timeout=10).text
    assert stored.count("BEGIN CERTIFICATE") == 3  # the API holds the complete chain ...
    assert requests.get(url, timeout=30).status_code == 400  # ... the MP still sends what it loaded: nothing
    mat = rotated["material"]
    run_play(lab, tmp_path, """
    - apigee_keystore_alias: {env: test, reference: %s, keystore: %s, alias: %s, cert_chain: "%s",
                              ca_bundle: "%s", private_key: "%s", strategy: rotate}
      register: fixed
    - ansible.builtin.assert: {that: [fixed is changed, not fixed.restart_required, fixed.action == 'rotate']}
    """ % (rotated["reference"], rotated["keystore"], rotated["alias"], mat["cert_chain"], mat["ca_chain"],
           mat["private_key"]))
    assert requests.get(lab["mp_url"] + rotated["basepath"], timeout=30).status_code == 200  # at once
    labctl("restart-mp")
    assert requests.get(url, timeout=30).status_code == 200


def test_apigee_keystore_aliases_applies_every_item_with_one_client(any_lab, tmp_path):
    """Three aliases in one run: converge -> again (not changed) -> check mode (not changed). One run reads what the
    items share once: fewer requests than one apigee_keystore_alias run per item. A bad item fails the run before
    any change, naming it."""
    lab = any_lab
    key = pki(lab, "mp-client-a.key")
    items = [{"env": ENV, "keystore": "itbatch%d" % i, "alias": "mp-client-a",
              "cert_chain": pki(lab, "mp-client-a.pem"), "ca_bundle": pki(lab, "ca-chain-a.pem"), "private_key": key}
             for i in range(3)]
    _, out = run_play(lab, tmp_path, idempotent("apigee_keystore_aliases", {"items": items}) + textwrap.dedent("""
    - name: the same items one module run each
      apigee_keystore_alias: "{{ item }}"
      loop: %s
      register: singles
      check_mode: true
    - name: one run for all reads less than a run per item
      ansible.builtin.assert:
        that:
          - second.results | length == 3 and second.results | map(attribute='action') | unique == ['none']
          - second.api_requests < (singles.results | map(attribute='api_requests') | sum)
    """) % json.dumps(items))
    for i in range(3):
        assert api(lab, "keystores/itbatch%d/aliases/mp-client-a/certificate" % i).text.count("BEGIN CERTIFICATE") == 3
    bad = dict(items[0], keystore="itbatchbad", private_key=pki(lab, "mp-client-c.key"))
    rc, out = run_play(lab, tmp_path, """
    - apigee_keystore_aliases: {items: %s}
    """ % json.dumps([dict(items[1], keystore="itbatchnew"), bad]), check=False)
    assert rc != 0 and "1 of 2 keystore item(s) cannot be used, nothing was changed" in out
    assert "prod keystore itbatchbad alias mp-client-a:" in out
    assert api(lab, "keystores/itbatchnew").status_code == 404 and api(lab, "keystores/itbatchbad").status_code == 404
