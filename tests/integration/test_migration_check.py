"""The migration check on a lab pair: the session's Edge lab (scenario `all`) and an X lab up with `labctl up --platform
x --pair-with` it, which shares its PKI and backends, so the two orgs differ only where this module makes them differ.
The check finds exactly those differences, with the status each means for a cutover, and nothing else."""
import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.mtls.apigee.client import ApigeeClient
from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.migration import migration_report
from apigee_lab import pki, scenarios

from tests.helpers.lab import free_block, run_labctl

pytestmark = pytest.mark.integration
MUTATES_LAB = True   # two target servers are added to the Edge lab
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "test"
MAPPING = {"target_servers": {"ts-renamed-edge": "ts-renamed-x"}, "keystores": {"kshealthynginx": "kshealthynginxx"}}


def _target_server(m, name, port, protocols=None, x=False):
    flag = (lambda on: on) if x else (lambda on: "true" if on else "false")
    m.call("POST", f"/environments/{ENV}/targetservers", json={
        "name": name, "host": "localhost", "port": port, "isEnabled": True,
        "sSLInfo": {"enabled": flag(True), "clientAuthEnabled": flag(True), "keyStore": "ref://ks-healthy-nginx-ref",
                    "keyAlias": "mp-client-a", "trustStore": f"ref://{scenarios.MP_TRUSTSTORE_REF}",
                    **({"protocols": protocols} if protocols else {})}})


@pytest.fixture(scope="module")
def pair(lab, lab_state, tmp_path_factory):
    """(Edge lab manifest, X lab manifest) after seeding the differences on both."""
    xstate = str(tmp_path_factory.mktemp("x-paired"))
    base = free_block(2)
    try:
        run_labctl(xstate, "up", "--platform", "x", "--pair-with", lab_state, "--scenario", "all", "--mgmt-port",
                   str(base), "--mp-port", str(base + 1), check=True)
        with open(os.path.join(xstate, "lab.json"), encoding="utf-8") as fh:
            xlab = json.load(fh)
        jsse_a = next(b["port"] for b in lab["backends"] if b["name"] == "jsse-a")
        p = pki.paths(lab_state)
        edge = scenarios.Mgmt(lab["mgmt_url"], open(lab["password_file"], encoding="utf-8").read().strip())
        x = scenarios.Mgmt(xlab["mgmt_url"], "", service_account_file=xlab["service_account_file"])
        # 1. X stores the leaf alone where Edge stores leaf + intermediate + root: would break at cutover
        x.call("DELETE", f"/environments/{ENV}/keystores/kshealthyjsse/aliases/mp-client-a")
        x.call("POST", f"/environments/{ENV}/keystores/kshealthyjsse/aliases",
               params={"alias": "mp-client-a", "format": "keycertfile"},
               files={"certFile": ("c.pem", pki.read_text(p["leaf_a"])),
                      "keyFile": ("k.pem", pki.read_text(p["key_a"]))})
        # 2. the healthy proxy's reference points at a keystore of another name holding the same chain and key
        x.call("POST", f"/environments/{ENV}/keystores", json={"name": "kshealthynginxx"})
        x.call("POST", f"/environments/{ENV}/keystores/kshealthynginxx/aliases",
               params={"alias": "mp-client-a", "format": "keycertfile"},
               files={"certFile": ("c.pem", pki.read_text(p["fullchain_a"])),
                      "keyFile": ("k.pem", pki.read_text(p["key_a"]))})
        x.call("PUT", f"/environments/{ENV}/references/ks-healthy-nginx-ref",
               json={"name": "ks-healthy-nginx-ref", "refers": "kshealthynginxx", "resourceType": "KeyStore"})
        # 3. a target server renamed on X, allowing TLSv1.2 only there; 4. one only on Edge; 5. one only on X
        _target_server(edge, "ts-renamed-edge", jsse_a)
        _target_server(x, "ts-renamed-x", jsse_a, protocols=["TLSv1.2"], x=True)
        _target_server(edge, "ts-edge-only", jsse_a)
        _target_server(x, "ts-x-only", jsse_a, x=True)
        yield lab, xlab
    finally:
        run_labctl(xstate, "down", timeout=120)


def _client(m):
    if m["platform"] == "edge":
        return ApigeeClient(mgmt_url=m["mgmt_url"], org=m["org"], username=m["username"],
                            password=open(m["password_file"], encoding="utf-8").read().strip(), platform="edge")
    return ApigeeClient(mgmt_url=m["mgmt_url"], org=m["org"], platform=m["platform"],
                        service_account_file=m["service_account_file"])


@pytest.fixture(scope="module")
def reports(pair):
    edge, x = pair
    return tuple(run_diagnosis(_client(m), m["envs"], key_manager=m["mp"]["key_manager"]) for m in (edge, x))


def _by_key(mig):
    return {e["key"]: e for e in mig["links"]}


def test_the_check_finds_every_seeded_difference_and_nothing_else(pair, reports):
    edge, _x = pair
    mig = migration_report(*reports, MAPPING, source_platform="edge", target_platform="x")
    got = _by_key(mig)
    seeded = {
        "targetserver:test/ts-healthy-jsse": ("would_break", ["stored_chain"]),
        "targetserver:test/ts-edge-only": ("missing_on_target", []),
        "targetserver:test/ts-x-only": ("only_on_target", []),
        "targetserver:test/ts-renamed-x": ("ok", ["protocols"]),
        "proxy:test/mtls-healthy-nginx/default": ("ok", []),   # renamed keystore, mapped: no difference
    }
    for key, (status, fields) in seeded.items():
        assert got[key]["status"] == status, got[key]
        assert [d["field"] for d in got[key]["differences"]] == fields, got[key]
    # every other link: the scenario's own verdict on both sides, no difference
    others = {k: e for k, e in got.items() if k not in seeded}
    assert len(others) == len(edge["links"]) - 2
    expected = {lk["id"]: lk["expected_verdict"] for lk in edge["links"]}
    for e in others.values():
        assert e["differences"] == [], e
        assert e["source_verdict"] == e["target_verdict"] == expected[e["source_id"]]
        assert e["status"] == "broken_on_both" and e["fix"]["action"] == (
            next(r for r in reports[1]["links"] if r["id"] == e["target_id"])["remediation"]["action"])
    assert mig["summary"]["ready"] is False
    assert sorted(mig["summary"]["blocking"]) == ["targetserver:test/ts-edge-only", "targetserver:test/ts-healthy-jsse"]


def test_a_chain_the_target_stores_short_would_break_with_the_targets_fix_and_what_the_source_presents(reports):
    mig = migration_report(*reports, MAPPING)
    e = _by_key(mig)["targetserver:test/ts-healthy-jsse"]
    assert (e["source_verdict"], e["target_verdict"]) == ("ok", "chain_incomplete")
    diff = e["differences"][0]
    assert len(diff["source"]) == 3 and len(diff["target"]) == 1
    assert diff["source"][0]["sha256"] == diff["target"][0]["sha256"]   # the same leaf, without its issuers
    assert e["fix"]["action"] == "upload_chain" and diff["source"][0]["sha256"] in e["fix"]["text"]
    assert e["fix"]["source_presents"] == diff["source"]
    renamed = _by_key(mig)["targetserver:test/ts-renamed-x"]["differences"][0]
    assert renamed == {"field": "protocols", "source": ["TLSv1.3", "TLSv1.2"], "target": ["TLSv1.2"]}


def test_without_the_mapping_renamed_things_are_differences(reports):
    got = _by_key(migration_report(*reports))
    assert got["targetserver:test/ts-renamed-edge"]["status"] == "missing_on_target"
    assert got["targetserver:test/ts-renamed-x"]["status"] == "only_on_target"
    proxy = got["proxy:test/mtls-healthy-nginx/default"]
    assert proxy["status"] == "ok"
    assert proxy["differences"] == [{"field": "keystore", "source": "kshealthynginx", "target": "kshealthynginxx"}]


def _playbook(xlab, *args):
    env = dict(os.environ, MTLS_LAB_STATE=xlab["state"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           os.path.join(ROOT, "inventory", "lab"),
                           os.path.join(ROOT, "playbooks", "migration_check.yml"),
                           "-e", json.dumps({"mtls_migration_mapping": MAPPING}), *args],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False)


def test_the_playbook_writes_the_check_changes_nothing_and_fails_when_asked_to(pair, reports, tmp_path):
    _edge, xlab = pair
    res = _playbook(xlab, "-e", "mtls_report_dir=%s" % tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "changed=0" in res.stdout and "NOT ready: " in res.stdout
    written = json.load(open(tmp_path / "migration-check.json", encoding="utf-8"))
    assert written["summary"]["by_status"] == migration_report(*reports, MAPPING)["summary"]["by_status"]
    assert (tmp_path / "migration-check.md").read_text(encoding="utf-8").count("| would_break |") == 1
    # no secret of either org in what the run printed or wrote
    password = open(pair[0]["password_file"], encoding="utf-8").read().strip()
    key = json.load(open(xlab["service_account_file"], encoding="utf-8"))["private_key"]
    for text in (res.stdout, res.stderr, json.dumps(written)):
        assert password not in text and key.splitlines()[1] not in text
    # check mode writes nothing
    fresh = tmp_path / "check"
    res = _playbook(xlab, "--check", "-e", "mtls_report_dir=%s" % fresh)
    assert res.returncode == 0 and not fresh.exists(), res.stdout[-2000:]
    # a pipeline gate: the play fails, naming the links that would break
    res = _playbook(xlab, "-e", "mtls_report_dir=%s" % tmp_path, "-e", "mtls_migration_fail_on_blocking=true")
    assert res.returncode == 2 and "ts-healthy-jsse" in res.stdout, res.stdout[-2000:]


def test_an_earlier_edge_report_stands_in_for_the_edge_org(pair, reports, tmp_path):
    _edge, xlab = pair
    source = tmp_path / "edge-report.json"
    source.write_text(json.dumps(reports[0]), encoding="utf-8")
    res = _playbook(xlab, "-e", "mtls_report_dir=%s" % tmp_path, "-e", "mtls_migration_source_report=%s" % source)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    written = json.load(open(tmp_path / "migration-check.json", encoding="utf-8"))
    assert written["summary"]["blocking"] == migration_report(*reports, MAPPING)["summary"]["blocking"]
    # the rows of a later play are no report: said in plain words, nothing written
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"schema_version": reports[0]["schema_version"],
                                "links": [{"id": r["id"], "verdict": r["verdict"]} for r in reports[0]["links"]]}),
                    encoding="utf-8")
    res = _playbook(xlab, "-e", "mtls_report_dir=%s" % (tmp_path / "none"), "-e",
                    "mtls_migration_source_report=%s" % rows)
    assert res.returncode == 2 and "holds the report's rows only" in res.stdout
    assert not (tmp_path / "none").exists()
