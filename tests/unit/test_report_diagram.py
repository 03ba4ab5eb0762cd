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
