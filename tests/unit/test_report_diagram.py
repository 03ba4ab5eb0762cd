"""The chain picture of a broken link: the stored chain against the CAs the backend accepts (Mermaid)."""
from ansible.module_utils.mtls.report_diagram import chain_diagram

LEAF = {"subject": "CN=mp-client-c,O=Lab", "issuer": "CN=Intermediate C,O=Lab"}
INTER = {"subject": "CN=Intermediate C,O=Lab", "issuer": "CN=Root C,O=Lab"}


def _row(verdict, chain, accepted, **rem):
    return {"verdict": verdict, "chain_summary": chain, "acceptable_cas": accepted, "keystore": "ks", "alias": "a",
            "host": "backend", "port": 443, "remediation": dict(rem)}


def test_a_ca_mismatch_shows_the_issuer_the_backend_does_not_accept():
    text = chain_diagram(_row("ca_mismatch", [LEAF, INTER], ["CN=Root B,O=Lab"]))
    assert text.startswith("flowchart LR\n")
    assert 'c0["leaf: CN=mp-client-c"]' in text and 'c1["CA: CN=Intermediate C"]' in text
    assert "c0 -->|issued by| c1" in text and 'a0["CN=Root B"]' in text
    assert 'c1 -. "issuer CN=Root C: not accepted" .-x a0' in text
    assert 'subgraph backend["CAs backend:443 accepts"]' in text


def test_an_incomplete_chain_shows_the_missing_intermediate_dashed_up_to_the_accepted_ca():
    missing = [{"subject": "CN=Intermediate A,O=Lab", "sha256": "AB"}]
    text = chain_diagram(_row("chain_incomplete", [{"subject": "CN=mp-client-a,O=Lab",
                                                    "issuer": "CN=Intermediate A,O=Lab"}], ["CN=Root A,O=Lab"],
                              missing=missing))
    assert 'm0["missing: CN=Intermediate A"]' in text and "c0 -.->|issued by| m0" in text
    assert "m0 -.->|issued by| a0" in text and "class m0 missing" in text


def test_only_the_verdicts_a_picture_explains_are_drawn():
    assert chain_diagram(_row("ok", [LEAF], ["CN=Intermediate C,O=Lab"])) is None
    assert chain_diagram(_row("no_client_certificate", [], ["CN=Root A,O=Lab"])) is None
    assert chain_diagram(_row("ca_mismatch", [LEAF], [])) is None
    key = chain_diagram(_row("key_type_not_accepted", [LEAF, INTER], ["CN=Root C,O=Lab"], key_type="EC P-256"))
    assert "c1 -->|accepted| a0" in key and 'note0["EC P-256"]' in key


def test_a_quote_in_a_name_cannot_break_the_diagram():
    odd = {"subject": 'CN=a "quoted" name', "issuer": "CN=x"}
    assert '"' not in chain_diagram(_row("ca_mismatch", [odd], ["CN=y"])).split('leaf: ')[1].split('"]')[0]


def test_the_svg_draws_the_same_picture_for_mail():
    import xml.etree.ElementTree as ET

    from ansible.module_utils.mtls.report_diagram import chain_svg
    missing = [{"subject": "CN=Intermediate A,O=Lab", "sha256": "AB"}]
    row = _row("chain_incomplete", [{"subject": "CN=mp-client-a,O=Lab", "issuer": "CN=Intermediate A,O=Lab"}],
               ["CN=Root A,O=Lab"], missing=missing)
    root = ET.fromstring(chain_svg(row))
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(ns + "text")]
    assert "leaf: CN=mp-client-a" in texts and "missing: CN=Intermediate A" in texts and "CN=Root A" in texts
    assert "stored chain: ks / a" in texts and "CAs backend:443 accepts" in texts
    boxes = {g.get("id"): g.find(ns + "rect") for g in root.iter(ns + "g")}
    assert boxes["m0"].get("stroke-dasharray") == "5 5" and boxes["c0"].get("stroke-dasharray") is None
    assert [ln.get("class") for ln in root.iter(ns + "line")] == ["dashed", "dashed"]
    refused = ET.fromstring(chain_svg(_row("ca_mismatch", [LEAF, INTER], ["CN=Root B,O=Lab"])))
    assert [ln.get("class") for ln in refused.iter(ns + "line")] == ["solid", "refused"]
    assert "issuer CN=Root C: not accepted" in [t.text for t in refused.iter(ns + "text")]
    # names are text, never markup
    odd = ET.fromstring(chain_svg(_row("ca_mismatch", [{"subject": "CN=<b>&x", "issuer": "CN=y"}], ["CN=z"])))
    assert "leaf: CN=<b>&x" in [t.text for t in odd.iter(ns + "text")]
    assert chain_svg(_row("ok", [LEAF], ["CN=Intermediate C,O=Lab"])) is None


def test_the_reports_keep_one_svg_per_drawn_broken_link_and_drop_old_ones(tmp_path):
    from ansible.module_utils.mtls.report import write_reports
    row = dict(_row("ca_mismatch", [LEAF, INTER], ["CN=Root B,O=Lab"]), id="targetserver:prod/orders",
               reference=None, acceptable_cas_openssl=[], used_by=[], evidence={}, remediation={
                   "action": "manual", "text": "x"}, sni=None)
    report = {"org": "o", "envs": ["prod"], "generated_at": "t", "summary": {"total": 1, "ok": 0, "broken": 1,
                                                                              "by_verdict": {"ca_mismatch": 1}},
              "stats": {}, "links": [row]}
    paths, changed = write_reports(report, str(tmp_path))
    assert changed and paths["diagrams"] == [str(tmp_path / "diagrams" / "targetserver_prod_orders.svg")]
    assert "diagrams/targetserver_prod_orders.svg" in (tmp_path / "mtls-report.md").read_text()
    assert write_reports(report, str(tmp_path))[1] is False
    report["links"][0]["verdict"] = "ok"
    report["summary"].update(ok=1, broken=0, by_verdict={"ok": 1})
    paths, changed = write_reports(report, str(tmp_path))
    assert changed and "diagrams" not in paths and not list((tmp_path / "diagrams").iterdir())
