"""The report pipeline on constructed Edge JSON with recorded probe facts: schema, Markdown, files, check mode."""
import functools
import json
import os

import jsonschema
import pytest
from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.diagnosis import run_diagnosis
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.mp_log import attach_mp_log_evidence, mp_log_groups_for_link, scan, summarize_mp_log
from ansible.module_utils.mtls.report import render_markdown, same_content, write_reports

from tests.helpers.fake_apigee import FakeClient, bundle
from tests.helpers.pki import make_ca, make_leaf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def world():
    return _build()


@functools.lru_cache(maxsize=1)
def _pki():
    root_a = make_ca("CN=Root A,O=Lab", key_type="ec")
    int_a = make_ca("CN=Int A,O=Lab", parent=root_a, key_type="ec")
    return root_a, int_a, make_leaf("CN=client a,O=Lab", issuer=int_a, key_type="ec"), make_ca("CN=Root B,O=Lab",
                                                                                               key_type="ec")


def _build(deployed=False, **kw):
    root_a, int_a, leaf_a, root_b = _pki()

    def ts(name, port, ks_ref):
        return {"name": name, "host": "h", "port": port, "isEnabled": True,
                "sSLInfo": {"enabled": "true", "clientAuthEnabled": "true", "keyStore": ks_ref, "keyAlias": "client"}}

    data = {
        "": {"name": "acme"},
        "/environments/test": {"name": "test"},
        "/environments/test/targetservers": ["good", "mismatch", "noref"],
        "/environments/test/targetservers/good": ts("good", 1, "ref://r"),
        "/environments/test/targetservers/mismatch": ts("mismatch", 2, "ref://r"),
        "/environments/test/targetservers/noref": ts("noref", 1, "ref://gone"),
        "/environments/test/deployments": {"aPIProxy": []},
        "/environments/test/references/r": {"name": "r", "refers": "ks"},
        "/environments/test/keystores": ["ks"],
        "/environments/test/keystores/ks": {"name": "ks", "aliases": [{"aliasName": "client", "key": "k"}]},
    }
    raw = {"/environments/test/keystores/ks/aliases/client/certificate":
           leaf_a.cert_pem() + int_a.cert_pem() + root_a.cert_pem()}

    def probes(targets, **kw):
        out = {}
        for host, port, sni, version in targets:
            ca = root_a if port == 1 else root_b
            out[(host, port, sni, version)] = {
                "host": host, "port": port, "reachable": True, "error": None, "client_auth_requested": True,
                "protocol": version, "server_hello_version": version,  # a backend that speaks both versions
                "acceptable_ca_names": [ca.cert.subject],
                "certificate_request": {"tls_version": "TLSv1.3", "certificate_types": [],
                                        "signature_algorithms": ["ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256"],
                                        "signature_algorithms_cert": None,
                                        "certificate_authorities": [certcore.dn_rfc4514(ca.cert.subject)]},
                "acceptable_client_cas": [certcore.dn_rfc4514(ca.cert.subject)],
                "acceptable_client_cas_openssl": [certcore.dn_openssl(ca.cert.subject)],
                "handshake_without_certificate": {"ok": False, "completed": True, "alert": "bad_certificate",
                                                  "alert_text": "tls alert bad certificate", "http_status": None,
                                                  "client_certificate_presented": False}}
        return out

    if deployed:  # proxy `orders` rev 3 sends its traffic to the target server `mismatch` (LoadBalancer)
        data["/environments/test/deployments"] = {"aPIProxy": [{"name": "orders", "revision": [
            {"name": "3", "state": "deployed", "configuration": {"basePath": "/orders"}}]}]}
        raw["/apis/orders/revisions/3"] = bundle({"lb": LB_MISMATCH})
    client = FakeClient(data, raw)
    client.stats = lambda: {"api_requests": len(client.seen)}
    return run_diagnosis(client, ["test"], probe_fn=probes, **kw), int_a


LB_MISMATCH = """<TargetEndpoint name="lb"><HTTPTargetConnection><LoadBalancer><Server name="mismatch"/>
  </LoadBalancer></HTTPTargetConnection></TargetEndpoint>"""


def test_report_validates_against_the_schema(world):
    report, _ = world
    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        jsonschema.validate(report, json.load(fh))
    verdicts = {r["id"]: r["verdict"] for r in report["links"]}
    assert verdicts == {"targetserver:test/good": "ok", "targetserver:test/mismatch": "ca_mismatch",
                        "targetserver:test/noref": "reference_missing"}
    assert report["summary"]["broken"] == 2 and report["summary"]["by_verdict"]["ca_mismatch"] == 1
    assert report["stats"]["probes"] == 4  # two backends, each probed in TLS 1.3 and 1.2 (Java 17 enables both)


def test_schema_rejects_a_bad_verdict(world):
    report, _ = world
    bad = json.loads(json.dumps(report))
    bad["links"][0]["verdict"] = "maybe"
    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, json.load(fh))


def test_markdown_explains_broken_links(world):
    report, int_a = world
    md = render_markdown(report)
    assert "| `targetserver:test/good` |" in md
    assert "### `targetserver:test/mismatch`: ca_mismatch" in md
    assert certcore.fingerprint_sha256(int_a.cert) in md
    assert "runbook cause 2" in md and "### `targetserver:test/good`" not in md
    # each broken link says which TLS versions the MP may use and what each gives
    assert "- TLS versions (MP Java 17): allowed TLSv1.3, TLSv1.2; the MP negotiates TLSv1.3; per version: " \
        "TLSv1.3 ca_mismatch; TLSv1.2 ca_mismatch" in md


def test_write_reports_is_idempotent_and_check_mode_writes_nothing(world, tmp_path):
    report, _ = world
    paths, changed = write_reports(report, str(tmp_path / "r"), check_mode=True)
    assert changed and not os.path.exists(paths["json"])
    paths, changed = write_reports(report, str(tmp_path / "r"))
    assert changed and os.path.exists(paths["json"]) and os.path.exists(paths["markdown"])
    again = dict(report, generated_at="2099-01-01T00:00:00+00:00")
    assert write_reports(again, str(tmp_path / "r"))[1] is False


def test_a_report_file_is_the_same_whatever_its_stamp_timings_or_layout_and_differs_on_any_link(world):
    report, _ = world
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    later = dict(report, generated_at="2099-01-01T00:00:00+00:00",
                 stats=dict(report.get("stats") or {}, wall_seconds=99.5, api_requests=12345))
    assert same_content(text, json.dumps(later, indent=2, sort_keys=True) + "\n", "json")
    # another layout of the same data (Ansible's to_nice_json indents by 4) is the same report
    assert same_content(json.dumps(report, indent=4, sort_keys=True), text, "json")
    changed = json.loads(text)
    changed["links"][0]["verdict"] = "ca_mismatch" if changed["links"][0]["verdict"] != "ca_mismatch" else "ok"
    assert not same_content(text, json.dumps(changed, indent=2, sort_keys=True) + "\n", "json")
    # a generated_at or stats key inside a link is data, not the report's stamp
    nested = json.loads(text)
    nested["links"][0]["generated_at"] = "x"
    assert not same_content(text, json.dumps(nested, indent=2, sort_keys=True) + "\n", "json")


# ---------------------------------------------------------------------------------------------- MP system.log evidence
def _group(env="test", api="orders", rev="3", host="10.0.0.5", port=8443, alert="bad_certificate", count=2,
           first="2024-05-01 10:00:00,000", last="2024-05-01 10:05:00,000", ids=("m1", "m2"), org="acme"):
    return {"org": org, "env": env, "api": api, "rev": rev, "remote": "%s:%s" % (host, port), "remote_host": host,
            "remote_port": port, "alert": alert, "message": "Received fatal alert: %s" % alert if alert else None,
            "count": count, "first": first, "last": last, "message_ids": list(ids)}


TS_ROW = {"id": "targetserver:test/backend", "env": "test", "source": "targetserver", "host": "backend.internal",
          "port": 8443, "api": None, "revision": None, "verdict": "ca_mismatch", "evidence": {},
          "used_by": [{"api": "orders", "revision": 3, "basepaths": ["/orders"]}]}
PROXY_ROW = {"id": "proxy:test/orders/3/default", "env": "test", "source": "proxy", "host": "10.0.0.5",
             "port": 8443, "api": "orders", "revision": 3, "verdict": "no_client_certificate", "evidence": {},
             "used_by": []}
ADDRESSES = {"backend.internal": ["10.0.0.5"]}


def test_target_server_link_takes_only_its_own_env_host_port_and_apis():
    mine = _group(rev="1")  # a target server applies to every revision of a proxy that uses it
    others = [_group(port=9443), _group(host="10.0.0.6"), _group(env="prod"), _group(api="billing"),
              _group(org="other-org")]
    got = mp_log_groups_for_link(TS_ROW, [mine, *others], org="acme", host_addresses=ADDRESSES)
    assert got == [mine]
    # without the host's addresses, an IP in the log does not name the link's host
    assert mp_log_groups_for_link(TS_ROW, [mine], org="acme") == []
    by_name = _group(host="Backend.Internal")
    assert mp_log_groups_for_link(TS_ROW, [by_name], org="acme") == [by_name]


def test_proxy_link_takes_only_its_own_api_and_revision():
    mine, old_rev, other_api = _group(), _group(rev="2"), _group(api="billing")
    assert mp_log_groups_for_link(PROXY_ROW, [mine, old_rev, other_api], org="acme") == [mine]
    # a target server link with no proxy using it takes nothing
    assert mp_log_groups_for_link(dict(TS_ROW, used_by=[]), [mine], host_addresses=ADDRESSES) == []


def test_summary_counts_alerts_times_and_caps_message_ids():
    a = _group(count=3, ids=("a1", "a2", "a3"), first="2024-05-01 09:00:00,000", last="2024-05-01 09:30:00,000")
    b = _group(rev="1", alert="handshake_failure", count=1, ids=("b1",), first="2024-05-01 11:00:00,000",
               last="2024-05-01 11:00:00,000")
    ev = summarize_mp_log([a, b], max_ids=3)
    assert ev["count"] == 4 and ev["alerts"] == ["bad_certificate", "handshake_failure"]
    assert ev["first"] == "2024-05-01 09:00:00,000" and ev["last"] == "2024-05-01 11:00:00,000"
    assert ev["message_ids"] == ["b1", "a3", "a2"]  # the most recent first, at most max_ids
    assert [g["count"] for g in ev["groups"]] == [3, 1]


def test_attach_is_evidence_only_and_rejects_bad_groups():
    rows = [json.loads(json.dumps(TS_ROW)), json.loads(json.dumps(PROXY_ROW))]
    before = [(r["verdict"], dict(r, evidence=None)) for r in rows]
    attach_mp_log_evidence(rows, [_group(env="prod"), _group(api="billing", rev="3")], org="acme",
                           host_addresses=ADDRESSES)
    assert all("mp_log" not in r["evidence"] for r in rows)
    attach_mp_log_evidence(rows, [_group()], org="acme", host_addresses=ADDRESSES)
    assert rows[0]["evidence"]["mp_log"]["count"] == 2 and rows[1]["evidence"]["mp_log"]["message_ids"] == ["m2", "m1"]
    assert [(r["verdict"], dict(r, evidence=None)) for r in rows] == before
    with pytest.raises(MtlsError, match=r"mp_log_groups\[0\] lacks remote_host"):
        attach_mp_log_evidence(rows, [{"env": "test", "remote_port": 1, "count": 1}])
    with pytest.raises(MtlsError, match=r"mp_log_groups\[1\]: remote_port"):
        attach_mp_log_evidence(rows, [_group(), _group(port="https")])
    with pytest.raises(MtlsError, match="mp_log_max_ids"):
        attach_mp_log_evidence(rows, [_group()], max_ids=0)


def test_diagnosis_carries_a_scanned_system_log_without_changing_verdicts(tmp_path):
    """A real system.log (wrapped record, a record for another port and one for another env) through the scanner
    into the diagnosis: the evidence lands on the one link it belongs to; verdicts are those of a run without it."""
    head = "org:acme env:%s api:orders rev:3 messageid:%s NIOThread@0 ERROR HTTP.CLIENT - "
    rec = ("2024-05-01 10:00:0%d,000 " + head + "HTTPClient$Context.handshakeFailed() : SSLClientChannel[C:1.2.3.4:5 "
           "# Remote host:%s:%d #]@1 useCount=1\n  bytesRead=0 handshake failed, message: Received fatal alert: "
           "bad_certificate\n")
    log = tmp_path / "system.log"
    log.write_text(rec % (1, "test", "mid-1", "10.9.9.9", 2) + rec % (2, "test", "mid-2", "10.9.9.9", 2)
                   + rec % (3, "test", "mid-other-port", "10.9.9.9", 1) + rec % (4, "prod", "mid-prod", "10.9.9.9", 2))
    groups = scan([str(log)])["groups"]
    plain, _ = _build(deployed=True)
    report, _ = _build(deployed=True, mp_log_groups=groups, resolve_fn=lambda host: ["10.9.9.9"])
    assert {r["id"]: r["verdict"] for r in report["links"]} == {r["id"]: r["verdict"] for r in plain["links"]}
    assert {r["id"]: r["remediation"] for r in report["links"]} == {r["id"]: r["remediation"] for r in plain["links"]}
    rows = {r["id"]: r for r in report["links"]}
    ev = rows["targetserver:test/mismatch"]["evidence"]["mp_log"]
    assert ev["count"] == 2 and ev["message_ids"] == ["mid-2", "mid-1"] and ev["alerts"] == ["bad_certificate"]
    assert ev["messages"] == ["Received fatal alert: bad_certificate"]
    assert all("mp_log" not in r["evidence"] for i, r in rows.items() if i != "targetserver:test/mismatch")
    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        jsonschema.validate(report, json.load(fh))
    md = render_markdown(report)
    assert ("- MP system.log: 2 handshake failure(s), Received fatal alert: bad_certificate, "
            "X-Apigee.Message-ID `mid-2`, `mid-1` (first 2024-05-01 10:00:01,000, last 2024-05-01 10:00:02,000)") in md
    assert "MP system.log" not in render_markdown(plain)


def test_one_invalid_host_name_gets_its_own_verdict_and_the_rest_is_diagnosed():
    """A target server whose host has a 64-character DNS label once stopped the whole diagnosis ("encoding with 'idna'
    codec failed") without naming it. It is backend_unreachable with the reason; the other links are diagnosed."""
    bad = "a" * 64 + ".example.com"
    data = {
        "": {"name": "acme"},
        "/environments/test": {"name": "test"},
        "/environments/test/targetservers": ["bad", "refused"],
        "/environments/test/targetservers/bad": {"name": "bad", "host": bad, "port": 443, "isEnabled": True,
                                                 "sSLInfo": {"enabled": "true"}},
        "/environments/test/targetservers/refused": {"name": "refused", "host": "127.0.0.1", "port": 1,
                                                     "isEnabled": True, "sSLInfo": {"enabled": "true"}},
        "/environments/test/deployments": {"aPIProxy": []},
        "/environments/test/keystores": [],
    }
    report = run_diagnosis(FakeClient(data, {}), ["test"], probe_timeout=2)
    rows = {r["id"]: r for r in report["links"]}
    assert rows["targetserver:test/bad"]["verdict"] == "backend_unreachable"
    assert "not a valid host name" in json.dumps(rows["targetserver:test/bad"]["evidence"])
    assert rows["targetserver:test/refused"]["verdict"] == "backend_unreachable"


def test_the_verdict_list_is_one_list():
    """VERDICTS (the rules), the schema's enum and the explanations of the Markdown report name the same verdicts;
    PRECEDENCE orders every one of them."""
    from ansible.module_utils.mtls.report import EXPLAIN
    from ansible.module_utils.mtls.verdicts import PRECEDENCE, VERDICTS

    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        schema = json.load(fh)
    assert set(schema["$defs"]["verdict"]["enum"]) == set(VERDICTS) == set(EXPLAIN) == set(PRECEDENCE)
    assert len(PRECEDENCE) == len(set(PRECEDENCE))


def test_every_verdict_action_and_label_has_both_languages():
    from ansible.module_utils.mtls.report_text import ACTIONS, EXPLAIN, LANGUAGES, TEXT
    from ansible.module_utils.mtls.verdicts import VERDICTS

    actions = {"none", "upload_chain", "trust_issuer", "enable_client_auth", "renew_certificate", "manual"}
    for lang in LANGUAGES:
        assert set(EXPLAIN[lang]) == set(VERDICTS), lang
        assert set(ACTIONS[lang]) == actions, lang
        assert set(TEXT[lang]) == set(TEXT["en"]), lang
        for key, text in TEXT[lang].items():   # the same placeholders in both languages
            assert text.count("%s") + text.count("%d") == TEXT["en"][key].count("%s") + TEXT["en"][key].count("%d"), key
    assert "認証局不一致" in EXPLAIN["ja"]["ca_mismatch"]
    assert "クライアント証明書がない" in EXPLAIN["ja"]["no_client_certificate"]


def test_trace_mp_log_record_and_capture_render_in_both_languages_and_validate(world):
    from ansible.module_utils.mtls.capture import read_capture
    from ansible.module_utils.mtls.evidence import attach_evidence

    report = json.loads(json.dumps(world[0]))
    data = os.path.join(ROOT, "tests", "data", "captures")
    conns = read_capture(os.path.join(data, "lab-missing-client-cert.pcapng"), quiet=0)
    with open(os.path.join(data, "lab-missing-client-cert.system.log"), encoding="utf-8") as fh:
        records = [r for r in fh.read().split("\n2026-") if r.strip()]
    mid = records[0].split("messageid:")[1].split()[0]
    row = next(r for r in report["links"] if r["id"] == "targetserver:test/mismatch")
    row.update(host="127.0.0.1", port=25082)   # where the lab's capture was taken
    row["evidence"]["mp_log"] = {"count": 1, "alerts": ["bad_certificate"], "messages": [], "first": None,
                                 "last": None, "message_ids": [mid], "record": None,
                                 "groups": [{"api": "x", "rev": "1", "remote": "127.0.0.1:25082",
                                             "alert": "bad_certificate", "count": 1, "first": None, "last": None}]}
    trace = {"api": "orders", "revision": "3", "session": "s", "session_deleted": True, "transactions": 1,
             "phase": "target_request_flow", "error_cause": "Received fatal alert: bad_certificate", "status": 503,
             "message_id": mid, "target_url": "https://127.0.0.1:25082/",
             "call": {"started": conns[0]["first_seen"] - 1, "ended": conns[0]["first_seen"] + 1}}
    attach_evidence(report, {row["id"]: trace}, records, [{"file": "lab.pcapng", "connections": conns}])
    with open(os.path.join(ROOT, "docs", "mtls-report.schema.json"), encoding="utf-8") as fh:
        jsonschema.validate(json.loads(json.dumps(report)), json.load(fh))
    en, ja = render_markdown(report), render_markdown(report, "ja")
    for text in (en, ja):
        assert "error.cause `Received fatal alert: bad_certificate`" in text
        assert "X-Apigee.Message-ID `%s`" % mid in text
        assert "Certificate Length: 0" in text and "Distinguished Names: `id-at-commonName=Lab Root CA A" in text
        assert "HTTPClient$Context.handshakeFailed()" in text   # the MP's record, verbatim, in a code block
    assert "Trace (debug session on orders rev 3)" in en and "トレース (orders リビジョン 3 のデバッグセッション)" in ja
