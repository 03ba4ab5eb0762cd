"""The chain an alias should hold, alias plans, and the client auth XML edit (pure logic)."""
import datetime as dt
import hashlib

import pytest
from ansible.module_utils.mtls.alias_chain import desired_chain, same_chain, stored_chain
from ansible.module_utils.mtls.alias_plan import direct_keystore_users, plan_alias, rotation_keystore_name
from ansible.module_utils.mtls.client_auth import set_client_auth_in_xml
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.links import Link, SslInfo
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

KEY_PASSWORD = "Key-Pass-42"


def _cert(cn, key, issuer_cert=None, issuer_key=None, ca=False, days=365, start=-1):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=start)
    return (x509.CertificateBuilder().subject_name(name)
            .issuer_name(issuer_cert.subject if issuer_cert else name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, hashes.SHA256()))


@pytest.fixture(scope="module")
def pki():
    k_root, k_int, k_leaf, k_other = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    root = _cert("Root A", k_root, ca=True)
    inter = _cert("Intermediate A", k_int, root, k_root, ca=True)
    leaf = _cert("mp-client-a", k_leaf, inter, k_int)
    expired = _cert("mp-client-old", k_leaf, inter, k_int, days=5, start=-30)
    return {"root": root, "int": inter, "leaf": leaf, "expired": expired, "k_leaf": k_leaf, "k_other": k_other}


def pem(*certs):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key, password=None):
    enc = (serialization.BestAvailableEncryption(password.encode()) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def fp(c):
    hexed = c.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(hexed[i:i + 2] for i in range(0, len(hexed), 2))


def test_leaf_alone_is_completed_from_ca_bundle(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"]), ca_bundle=pem(pki["root"], pki["int"]),
                         private_key=key_pem(pki["k_leaf"]))
    assert d.fingerprints == [fp(pki["leaf"]), fp(pki["int"]), fp(pki["root"])]
    assert [s["sha256"] for s in d.summary] == d.fingerprints
    no_root = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                               include_root=False)
    assert no_root.fingerprints == [fp(pki["leaf"]), fp(pki["int"])]
    assert no_root.key is None


def test_encrypted_key_and_pkcs12_inputs(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"]),
                         private_key=key_pem(pki["k_leaf"], KEY_PASSWORD), private_key_password=KEY_PASSWORD)
    assert b"PRIVATE KEY" in d.key_pem() and b"ENCRYPTED" not in d.key_pem()
    p12 = pkcs12.serialize_key_and_certificates(b"a", pki["k_leaf"], pki["leaf"], [pki["int"]],
                                                serialization.BestAvailableEncryption(KEY_PASSWORD.encode()))
    d2 = desired_chain(pkcs12=p12, pkcs12_password=KEY_PASSWORD, ca_bundle=pem(pki["root"]))
    assert d2.fingerprints == d.fingerprints


def test_key_that_does_not_match_is_refused(pki):
    with pytest.raises(MtlsError, match="private key does not match.*mp-client-a"):
        desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_other"]))


def test_a_leaf_whose_key_the_backend_does_not_take_is_refused(pki):
    """accepted_keys comes from a key_type_not_accepted / no_certificate_verify_scheme plan: the P-256 leaf is
    refused for an RSA-only backend, and taken where EC on P-256 is allowed."""
    with pytest.raises(MtlsError, match="has a EC secp256r1 key, but the backend lets the MP use only RSA"):
        desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_leaf"]),
                      accepted_keys=["RSA"])
    ok = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_leaf"]),
                       accepted_keys=["RSA", "EC secp256r1"])
    assert ok.fingerprints[0] == fp(pki["leaf"])


def test_expired_leaf_is_refused(pki):
    with pytest.raises(MtlsError, match="mp-client-old.*expired"):
        desired_chain(cert_chain=pem(pki["expired"]), ca_bundle=pem(pki["int"], pki["root"]))


def test_bundle_that_cannot_complete_the_chain_is_refused(pki):
    with pytest.raises(MtlsError, match="cannot be completed.*Intermediate A"):
        desired_chain(cert_chain=pem(pki["leaf"]), ca_bundle=pem(pki["root"]))


def test_chain_without_root_is_accepted_with_a_warning(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]))
    assert d.fingerprints == [fp(pki["leaf"]), fp(pki["int"])]
    assert "Root A" in d.warnings[0]
    assert desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"])).warnings == []


def test_no_input_is_refused():
    with pytest.raises(MtlsError, match="cert_chain"):
        desired_chain()


def test_plan_none_when_stored_chain_is_the_same(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"]), private_key=key_pem(pki["k_leaf"]))
    stored = stored_chain(pem(pki["leaf"], pki["int"], pki["root"]).decode())
    plan = plan_alias(d, stored, "ks1", "a1", alias_exists=True)
    assert plan.action == "none" and not plan.changed and plan.steps == []


def test_plan_in_place_replace_and_diff_has_no_key_material(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    stored = stored_chain(pem(pki["leaf"]))
    plan = plan_alias(d, stored, "ks1", "a1", alias_exists=True)
    assert plan.action == "replace" and plan.changed
    assert "] CN=Intermediate A" in plan.diff["after"] and "] CN=Intermediate A" not in plan.diff["before"]
    assert fp(pki["int"]) in plan.diff["after"]
    text = repr(plan)
    assert "PRIVATE KEY" not in text and key_pem(pki["k_leaf"]).decode().splitlines()[1] not in text


def test_plan_create_when_alias_or_keystore_missing(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    assert plan_alias(d, [], "ks1", "a1", alias_exists=False).action == "create"
    plan = plan_alias(d, [], "ks1", "a1", alias_exists=False, keystore_exists=False)
    assert plan.steps[0] == "create keystore ks1"
    assert plan.diff["before"] == "(no certificate)\n"


def test_plan_certificate_only_update_warns(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"]))
    plan = plan_alias(d, stored_chain(pem(pki["leaf"])), "ks1", "a1", alias_exists=True)
    assert plan.action == "update_cert" and plan.restart_required and "restart" in plan.warnings[1]
    with pytest.raises(MtlsError, match="no private key"):
        plan_alias(d, [], "ks1", "a1", alias_exists=False)


def test_only_a_change_under_the_same_keystore_name_needs_an_mp_restart(pki):
    """Apigee (update-tls-certificate-cloud / -private-cloud): MPs keep a keystore they loaded until they restart;
    a reference repointed to a new keystore is picked up without one."""
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_leaf"]))
    stored = stored_chain(pem(pki["leaf"]))
    assert plan_alias(d, stored, "ks1", "a1", alias_exists=True).restart_required  # in_place replace
    assert plan_alias(d, [], "ks1", "a1", alias_exists=False).restart_required  # an alias added to ks1
    # ... which a rotation does through a new keystore instead (the runbook's "missing client certificate")
    added = plan_alias(d, [], "ks1", "a1", alias_exists=False, strategy="rotate", references=["r"])
    assert added.action == "rotate" and not added.restart_required and added.new_keystore.startswith("ks1rot")
    assert not plan_alias(d, [], "ks1", "a1", alias_exists=False, keystore_exists=False).restart_required
    rotate = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", references=["r"])
    assert rotate.action == "rotate" and not rotate.restart_required
    assert not plan_alias(d, stored_chain(pem(pki["leaf"], pki["int"])), "ks1", "a1",
                          alias_exists=True).restart_required  # nothing to do


def test_a_keystore_name_apigee_refuses_fails_before_any_change(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_leaf"]))
    with pytest.raises(MtlsError, match="only alphanumeric characters.*'ksone'"):
        plan_alias(d, [], "ks-one", "a1", alias_exists=False, keystore_exists=False)
    # an existing keystore is used under whatever name it has
    assert plan_alias(d, [], "ks-one", "a1", alias_exists=False).action == "create"


def test_plan_rotate_names_and_refs(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    plan = plan_alias(d, stored_chain(pem(pki["leaf"])), "ks1", "a1", alias_exists=True, strategy="rotate",
                         references=["ksref"])
    assert plan.action == "rotate"
    # alphanumeric only, as Apigee keystore names must be (keystores-and-trustores.yaml)
    assert plan.new_keystore == "ks1rot" + hashlib.sha256("/".join(d.fingerprints).encode()).hexdigest()[:8]
    # the same leaf with another chain (here without its root) rotates to another keystore, never onto itself
    no_root = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_leaf"]))
    assert rotation_keystore_name(plan.new_keystore, no_root) not in (plan.new_keystore, "ks1")
    assert any("repoint reference ksref from ks1 to %s" % plan.new_keystore == s for s in plan.steps)
    assert plan.steps[-1] == "delete keystore ks1"
    # a later rotation starts from the base name again, and the same chain always gives the same name
    assert rotation_keystore_name(plan.new_keystore, d) == plan.new_keystore
    # a keystore named by an earlier version of the tool ("-r" + hex) rotates to an alphanumeric name of its base
    assert rotation_keystore_name("ks-one-r0123abcd", d).startswith("ksonerot")
    keep = plan_alias(d, [], "ks1", "a1", alias_exists=True, strategy="rotate", references=["r"],
                         keep_previous=True)
    assert keep.steps[-1] == "keep keystore ks1"
    # nothing names ks1 (no reference, no link by name): nothing to move, so it is changed in place and says so
    alone = plan_alias(d, [], "ks1", "a1", alias_exists=True, strategy="rotate", references=[])
    assert alone.action == "replace" and alone.restart_required
    assert "no reference and no link of the environment names keystore ks1" in alone.warnings[0]
    with pytest.raises(MtlsError, match="strategy"):
        plan_alias(d, [], "ks1", "a1", alias_exists=True, strategy="swap")


def _links():
    return [Link(id="targetserver:prod/ts-by-name", env="prod", source="targetserver", name="ts-by-name",
                 host="b.example", port=443, sni="b.example", ssl=SslInfo(enabled=True, keystore="ks1", present=True)),
            Link(id="targetserver:prod/ts-by-ref", env="prod", source="targetserver", name="ts-by-ref",
                 host="b.example", port=443, sni="b.example",
                 ssl=SslInfo(enabled=True, keystore="ref://ksref", present=True)),
            Link(id="targetserver:prod/ts-other", env="prod", source="targetserver", name="ts-other", host="c",
                 port=443, sni="c", ssl=SslInfo(enabled=True, keystore="ks1-old", present=True)),
            Link(id="proxy:prod/api/3/default", env="prod", source="proxy", name="default", host="d", port=443,
                 sni="d", ssl=SslInfo(enabled=True, keystore="ks1", present=True), api="api", revision=3,
                 target="default")]


def test_direct_keystore_users_are_links_naming_it_not_through_a_reference():
    links = _links()
    assert direct_keystore_users(links, "ks1") == ["proxy:prod/api/3/default", "targetserver:prod/ts-by-name"]
    # the link model's dicts (report shape) give the same answer; a reference named like the keystore is no user
    assert direct_keystore_users([lk.to_dict() for lk in links], "ks1") == direct_keystore_users(links, "ks1")
    assert direct_keystore_users(links, "ksref") == []
    assert direct_keystore_users(links, "ks1-r0123abcd") == []
    assert direct_keystore_users([], "ks1") == []


def test_rotation_keeps_a_keystore_named_directly_and_says_why(pki):
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    stored = stored_chain(pem(pki["leaf"]))
    users = direct_keystore_users(_links(), "ks1")
    plan = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", references=["ksref"],
                         direct_users=users)
    assert plan.action == "rotate" and plan.kept_because == users
    assert not any(s.startswith("delete keystore") for s in plan.steps)
    assert plan.steps[-1] == ("keep keystore ks1 (named directly by proxy:prod/api/3/default, "
                              "targetserver:prod/ts-by-name)")
    assert len(plan.warnings) == 1
    warning = plan.warnings[0]
    for text in ("keystore ks1 is kept", "proxy:prod/api/3/default", "targetserver:prod/ts-by-name",
                 "not moved", "ref://ksref"):
        assert text in warning
    # no direct user: the previous keystore is deleted as before, nothing to warn about
    free = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", references=["ksref"],
                         direct_users=direct_keystore_users(_links(), "ks9"))
    assert free.steps[-1] == "delete keystore ks1" and free.warnings == [] and free.kept_because == []
    # keep_previous keeps it anyway, without a warning
    keep = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", references=["ksref"],
                         keep_previous=True, direct_users=users)
    assert keep.steps[-1] == "keep keystore ks1" and keep.warnings == []
    # direct users do not matter when nothing is rotated
    same = plan_alias(d, d.chain, "ks1", "a1", alias_exists=True, strategy="rotate", references=["ksref"],
                         direct_users=users)
    assert same.action == "none" and same.kept_because == []


def test_same_chain_is_order_sensitive(pki):
    assert same_chain([pki["leaf"], pki["int"]], [pki["leaf"], pki["int"]])
    assert not same_chain([pki["leaf"], pki["int"]], [pki["int"], pki["leaf"]])
    assert not same_chain([pki["leaf"]], [pki["leaf"], pki["int"]])
    assert stored_chain("") == [] and stored_chain(None) == []


def test_client_auth_xml_edit_keeps_the_rest():
    xml = "<TargetEndpoint>\n <HTTPTargetConnection>\n  <SSLInfo>\n   <Enabled>true</Enabled>\n" \
          "   <ClientAuthEnabled>false</ClientAuthEnabled>\n  </SSLInfo>\n </HTTPTargetConnection>\n</TargetEndpoint>\n"
    new, changed = set_client_auth_in_xml(xml)
    assert changed and new == xml.replace("<ClientAuthEnabled>false<", "<ClientAuthEnabled>true<")
    assert set_client_auth_in_xml(new) == (new, False)
    added, changed = set_client_auth_in_xml("<SSLInfo><Enabled>true</Enabled></SSLInfo>")
    assert changed and "<ClientAuthEnabled>true</ClientAuthEnabled>" in added
    with pytest.raises(MtlsError, match="no <SSLInfo>"):
        set_client_auth_in_xml("<TargetEndpoint/>")


def test_a_rotation_moves_the_links_that_name_the_keystore_directly(pki):
    """Apigee (update-tls-certificate-cloud / -private-cloud): for a keystore named directly in SSLInfo the documented
    path is a new keystore and the target server updated / the proxy redeployed; the MPs pick that up at once."""
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                      private_key=key_pem(pki["k_leaf"]))
    stored = stored_chain(pem(pki["leaf"]))
    movers = ["proxy:prod/api/3/default", "targetserver:prod/ts-by-name"]
    plan = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", repoint=movers)
    assert plan.action == "rotate" and not plan.restart_required and plan.repointed == movers
    assert plan.new_keystore.startswith("ks1rot") and plan.kept_because == []
    assert "point targetserver:prod/ts-by-name at keystore %s instead of ks1 (update the target server)" % (
        plan.new_keystore) in plan.steps
    assert "point proxy:prod/api/3/default at keystore %s instead of ks1 (import a new proxy revision and deploy " \
           "it)" % plan.new_keystore in plan.steps
    assert plan.steps[-1] == "delete keystore ks1"
    # a link that names ks1 with another alias stays on ks1, so ks1 is kept
    mixed = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", repoint=movers[:1],
                       direct_users=["targetserver:prod/ts-other-alias"])
    assert mixed.kept_because == ["targetserver:prod/ts-other-alias"] and mixed.repointed == movers[:1]
    assert mixed.steps[-1].startswith("keep keystore ks1")
    # an alias missing from a keystore used by name is added through a new keystore too (no restart)
    added = plan_alias(d, [], "ks1", "a1", alias_exists=False, strategy="rotate", repoint=movers)
    assert added.action == "rotate" and not added.restart_required


def test_the_links_a_rotation_moves_name_the_keystore_and_the_alias():
    from ansible.module_utils.mtls.alias_plan import direct_keystore_links, key_alias_of

    links = _links() + [Link(id="targetserver:prod/ts-alias-b", env="prod", source="targetserver", name="ts-alias-b",
                             host="e", port=443, sni="e",
                             ssl=SslInfo(enabled=True, keystore="ks1", key_alias="b1", present=True))]
    found = direct_keystore_links(links, "ks1")
    assert [lk.id for lk in found] == ["proxy:prod/api/3/default", "targetserver:prod/ts-alias-b",
                                       "targetserver:prod/ts-by-name"]
    assert [key_alias_of(lk) for lk in found] == [None, "b1", None]
    assert [key_alias_of(lk.to_dict()) for lk in found] == [None, "b1", None]


def test_a_keystore_with_other_aliases_is_never_rotated_away_from_them(pki):
    """A rotation makes a new keystore with one alias and moves the reference's users to it; the keystore's other
    aliases cannot follow (Apigee never exports a private key), so their users would lose them: in place instead."""
    d = desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_leaf"]))
    stored = stored_chain(pem(pki["leaf"]))
    plan = plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", references=["r"],
                      other_aliases=["b2"])
    assert plan.action == "replace" and plan.restart_required and plan.new_keystore is None
    assert "also holds alias(es) b2, which a rotation cannot carry over" in plan.warnings[0]
    added = plan_alias(d, [], "ks1", "a1", alias_exists=False, strategy="rotate", references=["r"],
                       other_aliases=["b2"])
    assert added.action == "create" and added.restart_required
    # alone in its keystore, the alias rotates as before
    assert plan_alias(d, stored, "ks1", "a1", alias_exists=True, strategy="rotate", references=["r"]).action == "rotate"
