"""Faults: 429/5xx in the middle of a run are retried and the run ends in the right state; a rotation interrupted
before the reference swap leaves traffic on the old keystore working (and a re-run finishes it); a failed backend
validation restores the backup and fails with the validator's message. Uses its own lab (scenario `healthy`), once with
its management API as Apigee Edge and once as Apigee X (Google-style error bodies on the injected 429/5xx)."""
import hashlib
import os
import subprocess
import sys
import textwrap

import pytest
import requests
import yaml
from ansible.module_utils.mtls.alias_chain import desired_chain, same_chain
from ansible.module_utils.mtls.apigee_stores import read_alias_chain, sync_alias
from ansible.module_utils.mtls.errors import ApigeeApiError

from tests.helpers.lab import lab_client, running_lab

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module", params=["edge", "x"])
def hlab(request, tmp_path_factory):
    with running_lab(str(tmp_path_factory.mktemp("faults-lab-" + request.param)), "healthy", request.param) as lab:
        yield lab


def client(lab, retries=4):
    return lab_client(lab, retries=retries, backoff=0.01)


def faults(lab, *rules):
    url = lab["mgmt_url"] + "/_lab/faults"
    requests.delete(url, timeout=10).raise_for_status()
    if rules:
        requests.post(url, json=list(rules), timeout=10).raise_for_status()


def material(lab, link, full=True):
    m = link["material"]
    with open(m["cert_chain"], "rb") as fh:
        chain = fh.read()
    with open(m["private_key"], "rb") as fh:
        key = fh.read()
    bundle = None
    if full:
        with open(m["ca_chain"], "rb") as fh:
            bundle = fh.read()
    return desired_chain(cert_chain=chain, private_key=key, ca_bundle=bundle)


def call(lab, link):
    return requests.get(lab["mp_url"] + link["basepath"], timeout=30)


def test_429_and_5xx_mid_run_are_retried_and_the_run_ends_right(hlab):
    link = next(x for x in hlab["links"] if x["backend"].startswith("jsse"))
    desired = material(hlab, link, full=False)  # leaf + intermediate: differs from the stored full chain
    c = client(hlab)
    faults(hlab,
           {"method": "GET", "path_regex": "/keystores/", "status": 429, "retry_after": 0, "count": 2},
           {"method": "PUT", "path_regex": "/references/", "status": 503, "count": 1},
           {"method": "DELETE", "path_regex": "/keystores/", "status": 502, "count": 1})
    try:
        result = sync_alias(c, "test", None, link["alias"], desired, strategy="rotate", reference=link["reference"])
        stats = requests.get(hlab["mgmt_url"] + "/_lab/requests", timeout=10).json()
    finally:
        faults(hlab)
    assert result["action"] == "rotate" and c.retry_count >= 4
    assert stats["injected"] >= 4
    fresh = client(hlab)
    ref = fresh.get("/environments/test/references/%s" % link["reference"])
    assert ref["refers"] == result["keystore"]
    _, exists, stored = read_alias_chain(fresh, "test", result["keystore"], link["alias"])
    assert exists and same_chain(desired.chain, stored)
    with pytest.raises(ApigeeApiError) as err:
        fresh.get("/environments/test/keystores/%s" % result["previous_keystore"])
    assert err.value.status == 404
    assert call(hlab, link).status_code == 200
    again = sync_alias(client(hlab), "test", None, link["alias"], desired, strategy="rotate",
                       reference=link["reference"])
    assert again["changed"] is False


def test_rotation_interrupted_before_the_reference_swap_keeps_traffic_on_the_old_keystore(hlab):
    link = next(x for x in hlab["links"] if x["backend"].startswith("nginx"))
    c = client(hlab, retries=1)
    old = c.get("/environments/test/references/%s" % link["reference"])["refers"]
    desired = material(hlab, link, full=False)
    faults(hlab, {"method": "PUT", "path_regex": "/references/", "status": 500, "count": 50})
    try:
        with pytest.raises(ApigeeApiError):
            sync_alias(c, "test", None, link["alias"], desired, strategy="rotate", reference=link["reference"])
    finally:
        faults(hlab)
    fresh = client(hlab)
    assert fresh.get("/environments/test/references/%s" % link["reference"])["refers"] == old
    assert fresh.get("/environments/test/keystores/%s" % old)["name"] == old
    resp = call(hlab, link)
    assert resp.status_code == 200, resp.text
    # the re-run reuses the half-made keystore and finishes the swap
    done = sync_alias(fresh, "test", None, link["alias"], desired, strategy="rotate", reference=link["reference"])
    assert done["action"] == "rotate" and done["keystore"] != old
    assert client(hlab).get("/environments/test/references/%s" % link["reference"])["refers"] == done["keystore"]
    assert call(hlab, link).status_code == 200


# the backend side only (the lab's PKI files): the same on both platforms, so run once
@pytest.mark.parametrize("hlab", ["edge"], indirect=True)
def test_failed_backend_validation_restores_the_backup(hlab, tmp_path):
    live = tmp_path / "client-ca.pem"
    with open(os.path.join(hlab["state"], "pki", "root-a.pem"), "rb") as fh:
        live.write_bytes(fh.read())
    os.chmod(live, 0o640)
    before = hashlib.sha256(live.read_bytes()).hexdigest()
    # accepts the candidate, rejects the live configuration (as `nginx -t` would when something else is wrong)
    validator = "sh -c 'case \"$1\" in */client-ca.pem) echo live configuration rejected >&2; exit 1;; esac' _ %s"
    play = [{"name": "backend", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable}, "tasks": yaml.safe_load(textwrap.dedent("""
             - ansible.builtin.include_role:
                 name: backend_truststore
               vars:
                 backend_truststore_path: "%s"
                 backend_truststore_certs: ["%s"]
                 backend_truststore_validate_cmd: "%s"
                 backend_truststore_reload_cmd: "true"
             """ % (live, os.path.join(hlab["state"], "pki", "int-c.pem"),
                    validator.replace('"', '\\"'))))}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          str(tmp_path / "play.yml"), "-i", "localhost,"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    assert "live configuration rejected" in out and "restored" in out
    assert hashlib.sha256(live.read_bytes()).hexdigest() == before
    assert oct(os.stat(live).st_mode & 0o777) == "0o640"


def _fresh(lab):
    from tests.helpers.lab import run_labctl

    run_labctl(lab["state"], "reset", check=True)


def _exists(lab, keystore):
    try:
        client(lab).get("/environments/test/keystores/%s" % keystore, cache=False)
        return True
    except ApigeeApiError as exc:
        assert exc.status == 404
        return False


def test_a_rotation_whose_upload_keeps_failing_leaves_no_empty_keystore(hlab):
    """A 503 on the alias POST once left an empty half-created keystore. Now the upload is retried (a create is safe
    to repeat), and when it keeps failing the keystore this run created is deleted again; traffic never moved."""
    _fresh(hlab)
    link = next(x for x in hlab["links"] if x["backend"].startswith("jsse"))
    old = client(hlab).get("/environments/test/references/%s" % link["reference"])["refers"]
    desired = material(hlab, link, full=False)
    faults(hlab, {"method": "POST", "path_regex": "/aliases", "status": 503, "count": 50})
    try:
        with pytest.raises(ApigeeApiError) as err:
            sync_alias(client(hlab, retries=2), "test", None, link["alias"], desired, strategy="rotate",
                       reference=link["reference"])
    finally:
        faults(hlab)
    assert err.value.status == 503 and "created by this run was deleted again" in str(err.value)
    listing = client(hlab).get("/environments/test/keystores", cache=False)
    assert [k for k in listing if k.startswith(old + "rot")] == []
    assert client(hlab).get("/environments/test/references/%s" % link["reference"])["refers"] == old
    assert call(hlab, link).status_code == 200
    # one 503 only: retried, and the rotation completes
    faults(hlab, {"method": "POST", "path_regex": "/aliases", "status": 503, "count": 1})
    try:
        done = sync_alias(client(hlab), "test", None, link["alias"], desired, strategy="rotate",
                          reference=link["reference"])
    finally:
        faults(hlab)
    assert done["action"] == "rotate" and not _exists(hlab, old)


def test_a_rerun_deletes_the_previous_keystore_an_interrupted_rotation_left(hlab):
    """The rotation's final DELETE failed: the reference was already on the new keystore, so the rerun planned
    `none` and never deleted the old one. Now the rerun finishes it (unless keep_previous) and says so."""
    _fresh(hlab)
    link = next(x for x in hlab["links"] if x["backend"].startswith("nginx"))
    old = client(hlab).get("/environments/test/references/%s" % link["reference"])["refers"]
    desired = material(hlab, link, full=False)
    faults(hlab, {"method": "DELETE", "path_regex": "/keystores/", "status": 500, "count": 50})
    try:
        with pytest.raises(ApigeeApiError):
            sync_alias(client(hlab, retries=1), "test", None, link["alias"], desired, strategy="rotate",
                       reference=link["reference"])
    finally:
        faults(hlab)
    assert _exists(hlab, old)
    kept = sync_alias(client(hlab), "test", None, link["alias"], desired, strategy="rotate",
                      reference=link["reference"], keep_previous=True)
    assert kept["changed"] is False and _exists(hlab, old)
    check = sync_alias(client(hlab), "test", None, link["alias"], desired, strategy="rotate",
                       reference=link["reference"], check_mode=True)
    assert check["changed"] is True and check["leftovers_deleted"] == [old] and _exists(hlab, old)
    again = sync_alias(client(hlab), "test", None, link["alias"], desired, strategy="rotate",
                       reference=link["reference"])
    assert again["action"] == "none" and again["changed"] is True and again["leftovers_deleted"] == [old]
    assert not _exists(hlab, old) and call(hlab, link).status_code == 200
    third = sync_alias(client(hlab), "test", None, link["alias"], desired, strategy="rotate",
                       reference=link["reference"])
    assert third["changed"] is False and third["leftovers_deleted"] == []
