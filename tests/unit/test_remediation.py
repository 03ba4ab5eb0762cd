"""The remediation plan: a diagnosis report plus inventory material and backends -> per link fix / none / manual."""
import json

from ansible.module_utils.mtls.remediation import before_after_rows, plan_remediation, row_text, with_material

KEY_CONTENT = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-only-a-marker\n-----END PRIVATE KEY-----\n"

BACKENDS = [{"name": "nginx-b", "host": "localhost", "port": 18444, "truststore_path": "/x/ca.pem",
             "truststore_format": "pem_bundle"},
            {"name": "jsse-b", "host": "localhost", "port": 18442, "truststore_path": "/x/t.p12",
             "truststore_format": "pkcs12"}]


def _link(link_id, verdict, **rem):
    return {"id": link_id, "verdict": verdict, "remediation": rem}


def test_plan_upload_chain_uses_inventory_material_and_dedups():
    report = {"links": [
        _link("targetserver:test/ts-a", "no_client_certificate", action="upload_chain", keystore="ks-a",
              alias="mp-client-a", reference="ks-a-ref", key_required=True),
        _link("proxy:test/p/1/default", "chain_incomplete", action="upload_chain", keystore="ks-a",
              alias="mp-client-a", reference="ks-a-ref", key_required=False),
        _link("targetserver:test/ok", "ok", action="none"),
    ]}
    material = [{"keystore": "ks-a", "alias": "mp-client-a", "cert_chain": "/pki/a-chain.pem",
                 "private_key": "/pki/a.key"}]
    plan = plan_remediation(report, material, BACKENDS)
    assert [e["status"] for e in plan["links"]] == ["fix", "fix", "none"]
    assert len(plan["keystore_items"]) == 1
    item = plan["keystore_items"][0]
    assert item == {"env": "test", "keystore": "ks-a", "alias": "mp-client-a", "cert_chain": "/pki/a-chain.pem",
                    "ca_bundle": None, "key": "private_key", "material_index": 0, "reference": "ks-a-ref",
                    "strategy": "rotate", "link_ids": ["targetserver:test/ts-a", "proxy:test/p/1/default"]}
    assert with_material(plan["keystore_items"], material)[0]["private_key"] == "/pki/a.key"
    assert plan["counts"] == {"fix": 2, "none": 1}


def test_plan_upload_chain_without_material_names_the_missing_input():
    report = [_link("targetserver:test/ts-x", "no_client_certificate", action="upload_chain", keystore="ks-x",
                    alias="client", key_required=True)]
    plan = plan_remediation(report, [], BACKENDS)
    entry = plan["links"][0]
    assert entry["status"] == "manual" and "cert_chain and private_key for keystore ks-x alias client" in \
        entry["missing"]
    assert plan["keystore_items"] == []


def test_a_key_type_plan_carries_the_accepted_keys_to_the_upload_or_names_them_when_nothing_is_declared():
    report = [_link("targetserver:test/ts-e", "key_type_not_accepted", action="upload_chain", keystore="ks-e",
                    alias="client", key_required=True, accepted_keys=["RSA"])]
    plan = plan_remediation(report, [], BACKENDS)
    assert plan["links"][0]["status"] == "manual" and plan["links"][0]["missing"].endswith(", with a RSA key")
    material = [{"keystore": "ks-e", "alias": "client", "cert_chain": "/pki/e-rsa-chain.pem",
                 "private_key": "/pki/e-rsa.key"}]
    item = plan_remediation(report, material, BACKENDS)["keystore_items"][0]
    assert item["accepted_keys"] == ["RSA"] and "include_root" not in item


def test_a_legacy_root_plan_never_attaches_the_root_again():
    report = [_link("targetserver:test/ts-s", "signature_algorithm_rejected", action="upload_chain", keystore="ks-s",
                    alias="client", key_required=False, include_root=False, certificates=[{"pem": "A"}])]
    material = [{"keystore": "ks-s", "alias": "client", "cert_chain": "/pki/s-chain.pem", "private_key": "/pki/s.key",
                 "ca_chain": "/pki/ca-chain-s.pem"}]
    item = plan_remediation(report, material, BACKENDS)["keystore_items"][0]
    assert item["include_root"] is False and item["ca_bundle"] == "/pki/ca-chain-s.pem"


def test_plan_chain_incomplete_without_key_updates_certificates_only():
    report = [_link("targetserver:test/ts-y", "chain_incomplete", action="upload_chain", keystore="ks-y",
                    alias="client", key_required=False,
                    certificates=[{"pem": "-----BEGIN CERTIFICATE-----\nA\n"}, {"pem": "B"}])]
    plan = plan_remediation(report, [], BACKENDS, strategy="in_place")
    item = plan["keystore_items"][0]
    assert "private_key" not in item and item["cert_chain"].endswith("B") and item["strategy"] == "in_place"


def test_plan_trust_issuer_maps_backend_and_picks_chain_for_openssl():
    common = {"action": "trust_issuer", "subject": "CN=Intermediate C", "pem": "INT-C",
              "ca_chain": [{"pem": "INT-C"}, {"pem": "ROOT-C"}]}
    report = [_link("proxy:test/a/1/default", "ca_mismatch", backend={"host": "127.0.0.1", "port": 18444}, **common),
              _link("proxy:test/b/1/default", "ca_mismatch", backend={"host": "localhost", "port": 18442}, **common),
              _link("proxy:test/c/1/default", "ca_mismatch", backend={"host": "db.example", "port": 443}, **common)]
    plan = plan_remediation(report, [], BACKENDS)
    assert plan["truststore_certs"] == {"nginx-b": ["INT-CROOT-C"], "jsse-b": ["INT-C"]}
    assert [e["status"] for e in plan["links"]] == ["fix", "fix", "manual"]
    assert "db.example:443" in plan["links"][2]["missing"] and "mtls_backends" in plan["links"][2]["missing"]


def test_plan_other_actions_are_manual_with_a_hint():
    report = [_link("targetserver:test/t", "client_auth_disabled", action="enable_client_auth", text="turn it on")]
    entry = plan_remediation(report, [], BACKENDS)["links"][0]
    assert entry["status"] == "manual" and "ClientAuthEnabled" in entry["missing"]


def test_plan_enable_client_auth_when_allowed():
    report = [_link("targetserver:test/t", "client_auth_disabled", action="enable_client_auth")]
    plan = plan_remediation(report, [], BACKENDS, enable_client_auth=True)
    assert plan["client_auth_links"] == ["targetserver:test/t"] and plan["links"][0]["status"] == "fix"


def test_the_plan_never_holds_a_secret_given_as_content():
    """A vaulted private key, a PKCS#12 and their passwords reach the plan as content; the plan (a fact Ansible prints
    at -v) names the material entry instead, and with_material() joins the secrets only for the module call."""
    report = {"links": [
        _link("targetserver:test/a", "no_client_certificate", action="upload_chain", keystore="ks-a", alias="a"),
        _link("targetserver:test/b", "no_client_certificate", action="upload_chain", keystore="ks-b", alias="b")]}
    material = [{"keystore": "ks-a", "alias": "a", "cert_chain": "CHAIN-A", "private_key": KEY_CONTENT,
                 "private_key_password": "key-Passw0rd"},
                {"keystore": "ks-b", "alias": "b", "pkcs12": "UEtDUzEyLWNvbnRlbnQ=", "pkcs12_password": "p12-Passw0rd"}]
    plan = plan_remediation(report, material, BACKENDS)
    text = json.dumps(plan)
    for secret in (KEY_CONTENT, "key-Passw0rd", "UEtDUzEyLWNvbnRlbnQ=", "p12-Passw0rd", "PRIVATE KEY"):
        assert secret not in text
    assert [e["status"] for e in plan["links"]] == ["fix", "fix"]
    full = with_material(plan["keystore_items"], material)
    assert full[0]["private_key"] == KEY_CONTENT and full[0]["private_key_password"] == "key-Passw0rd"
    assert full[1]["pkcs12"] == "UEtDUzEyLWNvbnRlbnQ=" and full[1]["pkcs12_password"] == "p12-Passw0rd"
    assert "cert_chain" not in full[1]


def test_before_after_rows_follow_a_rename():
    plan = {"links": [{"id": "proxy:test/p/1/default", "action": "enable_client_auth", "status": "fix"}]}
    before = {"links": [{"id": "proxy:test/p/1/default", "verdict": "client_auth_disabled"}]}
    after = {"links": [{"id": "proxy:test/p/2/default", "verdict": "ok"}]}
    rows = before_after_rows(plan, before, after, {"proxy:test/p/1/default": "proxy:test/p/2/default"})
    assert rows == [{"id": "proxy:test/p/1/default", "before": "client_auth_disabled", "action": "enable_client_auth",
                     "status": "fix", "after": "ok", "missing": None, "now": "proxy:test/p/2/default"}]
    assert row_text(rows[0]) == "proxy:test/p/1/default: client_auth_disabled -> ok (enable_client_auth, fix)"


def test_check_mode_lines_read_like_a_plan():
    fix = {"id": "targetserver:test/a", "before": "ca_mismatch", "after": "ca_mismatch", "action": "trust_issuer",
           "status": "fix", "missing": None}
    manual = {"id": "targetserver:test/b", "before": "client_auth_disabled", "after": "client_auth_disabled",
              "action": "enable_client_auth", "status": "manual", "missing": "apigee_mtls_remediate_enable_client_auth"}
    ok = {"id": "targetserver:test/c", "before": "ok", "after": "ok", "action": "none", "status": "none"}
    assert row_text(fix, check_mode=True) == "targetserver:test/a: ca_mismatch: would fix (trust_issuer)"
    assert row_text(manual, check_mode=True) == ("targetserver:test/b: client_auth_disabled: manual, not changed by "
                                                 "the tool (enable_client_auth); missing: "
                                                 "apigee_mtls_remediate_enable_client_auth")
    assert row_text(ok, check_mode=True) == "targetserver:test/c: ok"
    assert "->" not in row_text(fix, check_mode=True)
    assert row_text(fix) == "targetserver:test/a: ca_mismatch -> ca_mismatch (trust_issuer, fix)"


def test_the_plan_file_lists_each_change_and_what_needs_a_person():
    from ansible.module_utils.mtls.remediation import plan_markdown

    plan = {"links": [{"id": "targetserver:test/a", "verdict": "chain_incomplete", "action": "upload_chain",
                       "status": "fix", "detail": "upload the complete chain to ks alias a (rotate)"},
                      {"id": "targetserver:test/b", "verdict": "ca_mismatch", "action": "trust_issuer",
                       "status": "manual", "missing": "a host of group mtls_backends for b:443"},
                      {"id": "targetserver:test/c", "verdict": "ok", "action": "none", "status": "none"}],
            "counts": {"fix": 1, "manual": 1, "none": 1}, "truststore_certs": {"nginx-b": ["-----BEGIN CERT"]}}
    text = plan_markdown(plan, "lab", ["test"], "2026-12-01T10:00:00+00:00")
    assert text.startswith("# Remediation plan for lab test\n")
    assert "Nothing has been changed yet." in text
    assert "3 link(s): 1 to fix, 1 manual, 1 with nothing to do." in text
    assert "| `targetserver:test/a` | chain_incomplete | upload the complete chain to ks alias a (rotate) |" in text
    assert "| `targetserver:test/b` | ca_mismatch | a host of group mtls_backends for b:443 |" in text
    assert "- nginx-b: 1 CA certificate(s)" in text and "BEGIN" not in text
    assert "targetserver:test/c" not in text


def test_an_expired_certificate_is_fixed_from_declared_material_and_manual_without():
    report = {"links": [{"id": "targetserver:test/a", "env": "test", "keystore": "ks", "alias": "client",
                         "reference": "ks-ref", "verdict": "certificate_expired",
                         "remediation": {"action": "renew_certificate", "keystore": "ks", "alias": "client",
                                         "reference": "ks-ref"}}]}
    material = [{"env": "test", "reference": "ks-ref", "alias": "client", "cert_chain": "/m/chain.pem",
                 "private_key": "/m/key.pem"}]
    plan = plan_remediation(report, material, [])
    assert plan["links"][0]["status"] == "fix" and plan["links"][0]["action"] == "renew_certificate"
    item = plan["keystore_items"][0]
    assert item["cert_chain"] == "/m/chain.pem" and item["key"] == "private_key"
    manual = plan_remediation(report, [], [])
    assert manual["links"][0]["status"] == "manual" and "renewed client certificate" in manual["links"][0]["missing"]


def test_each_change_is_named_with_its_rollback():
    from ansible.module_utils.mtls.remediation import change_records

    rotation = {"changed": True, "action": "rotate", "env": "test", "alias": "client", "keystore": "ksrot1a2b3c4d",
                "previous_keystore": "ks", "references": ["ks-ref"], "repointed": ["proxy:test/p/1/default"],
                "renamed": {"proxy:test/p/1/default": "proxy:test/p/2/default"}, "previous_keystore_kept_because": [],
                "chain": [{"subject": "CN=mp-client,O=Lab"}], "leftovers_deleted": []}
    in_place = {"changed": True, "action": "replace", "env": "test", "alias": "a", "keystore": "k2",
                "restart_required": True, "chain": [{"subject": "CN=x"}]}
    unchanged = {"changed": False, "action": "none", "env": "test", "alias": "b", "keystore": "k3"}
    client_auth = [{"changed": True, "client_auth_link": "targetserver:test/ts1", "new_id": "targetserver:test/ts1"}]
    trust = [{"host": "nginx-b", "path": "/etc/nginx/ca.pem", "format": "pem_bundle", "backup": "/etc/nginx/ca.pem.1~",
              "added": ["CN=Issuing CA C"], "reload": "systemctl reload nginx"}]
    got = change_records([rotation, in_place, unchanged], client_auth, trust)
    by = {c["object"]: c for c in got}
    assert "keystore test/ksrot1a2b3c4d" in by and "was deleted" in by["keystore test/ksrot1a2b3c4d"]["rollback"]
    assert by["reference test/ks-ref"]["change"] == "refers to ksrot1a2b3c4d (was ks)"
    proxy = by["proxy p (proxy:test/p/1/default)"]
    assert "new revision 2 deployed" in proxy["change"] and "revisions/1/deployments?override=true" in proxy["rollback"]
    assert "the MPs use it only after a restart" in by["keystore test/k2 alias a"]["change"]
    assert by["target server test/ts1"]["change"] == "SSLInfo ClientAuthEnabled true (was false)"
    assert by["truststore nginx-b:/etc/nginx/ca.pem (pem_bundle)"]["rollback"] == (
        "cp -p /etc/nginx/ca.pem.1~ /etc/nginx/ca.pem, then systemctl reload nginx")
    assert not any("k3" in c["object"] for c in got) and len(got) == 6
