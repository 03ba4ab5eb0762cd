"""migration.py: pairing two orgs' links by what they are, the differences in what each MP would present, and the
status each pair means for a cutover (plain functions on diagnosis rows)."""
import json

import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.migration import (
    STATUSES,
    MappingError,
    check_mapping,
    differences,
    has_key,
    migration_report,
    pair_key,
    read_source_report,
    render_markdown,
)
from ansible.module_utils.mtls.report import SCHEMA_VERSION

LEAF = {"subject": "CN=mp-client", "sha256": "AA"}
INT = {"subject": "CN=Issuing CA", "sha256": "BB"}


def row(link_id, verdict="ok", chain=(LEAF, INT), keystore="ks1", alias="a1", with_key=True, **over):
    kind, _, rest = link_id.partition(":")
    parts = rest.split("/")
    out = {"id": link_id, "env": parts[0], "source": kind, "host": "b.example", "port": 443, "tls_enabled": True,
           "client_auth_enabled": True, "keystore": keystore, "reference": "ref1", "alias": alias,
           "truststore": "ts1", "chain_summary": [dict(c) for c in chain], "verdict": verdict,
           "remediation": {"action": "none" if verdict == "ok" else "upload_chain", "text": "fix " + verdict},
           "tls_versions": {"allowed": ["TLSv1.3", "TLSv1.2"]},
           "evidence": {"keystore": {"name": keystore, "aliases": [alias],
                                     "aliases_with_key_and_certificate": [alias] if with_key else []}}}
    if kind == "targetserver":
        out.update(name=parts[1], api=None, revision=None)
    else:
        out.update(api=parts[1], revision=int(parts[2]), name=parts[3])
    out.update(over)
    return out


def report(*rows):
    return {"schema_version": SCHEMA_VERSION, "org": "o", "envs": ["prod"], "links": list(rows),
            "stats": {"probes": len(rows)}}


def test_links_pair_by_what_they_are_not_by_id_and_the_highest_revision_stands_for_a_proxy():
    src = report(row("proxy:prod/orders/3/default"), row("proxy:prod/orders/4/default", verdict="ca_mismatch"))
    tgt = report(row("proxy:prod/orders/1/default", verdict="ca_mismatch"))
    mig = migration_report(src, tgt)
    assert [(e["key"], e["source_id"], e["target_id"], e["status"]) for e in mig["links"]] == [
        ("proxy:prod/orders/default", "proxy:prod/orders/4/default", "proxy:prod/orders/1/default", "broken_on_both")]
    assert pair_key(row("callout:prod/orders/2/Call")) == ("callout", "prod", "orders", "Call")
    assert pair_key(row("targetserver:prod/ts"), check_mapping({"envs": {"prod": "prod-x"},
                                                                 "target_servers": {"ts": "ts-x"}})) == \
        ("targetserver", "prod-x", "ts-x")


def test_each_status_from_the_two_verdicts():
    src = report(row("targetserver:prod/works"), row("targetserver:prod/broken", verdict="ca_mismatch"),
                 row("targetserver:prod/gone"), row("targetserver:prod/fine"))
    tgt = report(row("targetserver:prod/works", verdict="chain_incomplete", chain=(LEAF,)),
                 row("targetserver:prod/broken", verdict="ca_mismatch"), row("targetserver:prod/fine"),
                 row("targetserver:prod/new", verdict="backend_unreachable"))
    mig = migration_report(src, tgt)
    status = {e["key"]: e["status"] for e in mig["links"]}
    assert status == {"targetserver:prod/works": "would_break", "targetserver:prod/broken": "broken_on_both",
                      "targetserver:prod/gone": "missing_on_target", "targetserver:prod/fine": "ok",
                      "targetserver:prod/new": "only_on_target"}
    assert [e["status"] for e in mig["links"]] == sorted(status.values(), key=STATUSES.index)
    assert mig["summary"]["ready"] is False
    assert sorted(mig["summary"]["blocking"]) == ["targetserver:prod/gone", "targetserver:prod/works"]
    new = next(e for e in mig["links"] if e["status"] == "only_on_target")
    assert new["fix"]["text"] == "fix backend_unreachable"
    gone = next(e for e in mig["links"] if e["status"] == "missing_on_target")
    assert "target server gone" in gone["fix"]["text"] and "ks1" in gone["fix"]["text"]


@pytest.mark.parametrize("verdict", ["backend_unreachable", "alias_key_unknown", "certificate_request_unreadable",
                                     "mp_restart_pending", "dynamic_keystore"])
def test_a_target_link_the_tool_could_not_check_is_never_ok(verdict):
    mig = migration_report(report(row("targetserver:prod/t")), report(row("targetserver:prod/t", verdict=verdict)))
    assert mig["links"][0]["status"] == "would_break" and mig["summary"]["ready"] is False


def test_differences_compare_chains_by_fingerprint_and_renamed_names_by_the_mapping():
    src = row("targetserver:prod/t", keystore="old", alias="a1")
    assert differences(src, row("targetserver:prod/t", keystore="old")) == []
    same_subject = row("targetserver:prod/t", keystore="old", chain=(dict(LEAF, sha256="CC"), INT))
    assert [d["field"] for d in differences(src, same_subject)] == ["stored_chain"]
    renamed = row("targetserver:prod/t", keystore="new", alias="a2")
    assert [d["field"] for d in differences(src, renamed)] == ["keystore", "alias"]
    mapping = check_mapping({"keystores": {"old": "new"}, "aliases": {"a1": "a2"}})
    assert differences(src, renamed, mapping) == []
    other = row("targetserver:prod/t", keystore="old", host="b2.example", client_auth_enabled=False)
    assert [(d["field"], d["source"], d["target"]) for d in differences(src, other)] == [
        ("host", "b.example", "b2.example"), ("client_auth_enabled", True, False)]


def test_an_alias_without_its_key_on_the_target_is_a_difference_and_unknown_is_none():
    src = row("targetserver:prod/t")
    cert_only = row("targetserver:prod/t", with_key=False, verdict="no_client_certificate")
    assert has_key(src) is True and has_key(cert_only) is False
    assert differences(src, cert_only) == [{"field": "has_key", "source": True, "target": False}]
    unknown = row("targetserver:prod/t")
    unknown["evidence"] = {}
    assert has_key(unknown) is None and differences(src, unknown) == []


def test_a_would_break_fix_names_what_the_source_presents():
    src = report(row("targetserver:prod/t"))
    tgt = report(row("targetserver:prod/t", verdict="chain_incomplete", chain=(LEAF,)))
    e = migration_report(src, tgt)["links"][0]
    assert e["fix"]["action"] == "upload_chain"
    assert "CN=mp-client (SHA-256 AA) with 2 certificate(s)" in e["fix"]["text"]
    md = render_markdown(migration_report(src, tgt))
    assert "**Not ready for cutover**" in md and "| would_break | `targetserver:prod/t` |" in md


@pytest.mark.parametrize("mapping, words", [
    ([], "must be a dict"), ({"servers": {}}, "unknown key(s) servers"),
    ({"apis": ["a"]}, "mapping.apis must map"), ({"apis": {"a": 1}}, "mapping.apis must map")])
def test_a_bad_mapping_is_named(mapping, words):
    with pytest.raises(MappingError) as err:
        check_mapping(mapping)
    assert words in str(err.value) and isinstance(err.value, MtlsError)


def test_a_source_report_that_is_not_a_whole_diagnosis_is_refused_in_plain_words(tmp_path):
    cases = {"missing.json": None, "text.json": "not json", "other.json": json.dumps({"links": []}),
             "rows.json": json.dumps({"schema_version": SCHEMA_VERSION, "links": [{"id": "x", "verdict": "ok"}]})}
    words = {"missing.json": "cannot be read", "text.json": "is not JSON", "other.json": "is not a diagnosis report",
             "rows.json": "rows only"}
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(MtlsError) as err:
            read_source_report(str(tmp_path / name))
        assert words[name] in str(err.value), name
    good = tmp_path / "good.json"
    good.write_text(json.dumps(report(row("targetserver:prod/t"))), encoding="utf-8")
    assert read_source_report(str(good))["links"][0]["id"] == "targetserver:prod/t"
