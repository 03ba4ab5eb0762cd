"""Alias chain sync logic (plugins/module_utils/mtls_keystore_sync.py): desired complete chain, comparison, plans."""
import datetime as dt

import pytest
from ansible.module_utils import mtls_keystore_sync as ks
from ansible.module_utils.mtls_errors import MtlsError
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
    return c.fingerprint(hashes.SHA256()).hex()


def test_leaf_alone_is_completed_from_ca_bundle(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"]), ca_bundle=pem(pki["root"], pki["int"]),
                         private_key=key_pem(pki["k_leaf"]))
    assert d.fingerprints == [fp(pki["leaf"]), fp(pki["int"]), fp(pki["root"])]
    assert [s["sha256"] for s in d.summary] == d.fingerprints
    no_root = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                               include_root=False)
    assert no_root.fingerprints == [fp(pki["leaf"]), fp(pki["int"])]
    assert no_root.key is None


def test_encrypted_key_and_pkcs12_inputs(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"]),
                         private_key=key_pem(pki["k_leaf"], KEY_PASSWORD), private_key_password=KEY_PASSWORD)
    assert b"PRIVATE KEY" in d.key_pem() and b"ENCRYPTED" not in d.key_pem()
    p12 = pkcs12.serialize_key_and_certificates(b"a", pki["k_leaf"], pki["leaf"], [pki["int"]],
                                                serialization.BestAvailableEncryption(KEY_PASSWORD.encode()))
    d2 = ks.desired_chain(pkcs12=p12, pkcs12_password=KEY_PASSWORD, ca_bundle=pem(pki["root"]))
    assert d2.fingerprints == d.fingerprints


def test_key_that_does_not_match_is_refused(pki):
    with pytest.raises(MtlsError, match="private key does not match.*mp-client-a"):
        ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), private_key=key_pem(pki["k_other"]))


def test_expired_leaf_is_refused(pki):
    with pytest.raises(MtlsError, match="mp-client-old.*expired"):
        ks.desired_chain(cert_chain=pem(pki["expired"]), ca_bundle=pem(pki["int"], pki["root"]))


def test_bundle_that_cannot_complete_the_chain_is_refused(pki):
    with pytest.raises(MtlsError, match="cannot be completed.*Intermediate A"):
        ks.desired_chain(cert_chain=pem(pki["leaf"]), ca_bundle=pem(pki["root"]))


def test_no_input_is_refused():
    with pytest.raises(MtlsError, match="cert_chain"):
        ks.desired_chain()


def test_plan_none_when_stored_chain_is_the_same(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"]), private_key=key_pem(pki["k_leaf"]))
    stored = ks.stored_chain(pem(pki["leaf"], pki["int"], pki["root"]).decode())
    plan = ks.plan_alias(d, stored, "ks1", "a1", alias_exists=True)
    assert plan.action == "none" and not plan.changed and plan.steps == []


def test_plan_in_place_replace_and_diff_has_no_key_material(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    stored = ks.stored_chain(pem(pki["leaf"]))
    plan = ks.plan_alias(d, stored, "ks1", "a1", alias_exists=True)
    assert plan.action == "replace" and plan.changed
    assert "subject=CN=Intermediate A" in plan.diff["after"] and "subject=CN=Intermediate A" not in plan.diff["before"]
    assert fp(pki["int"]) in plan.diff["after"]
    text = repr(plan)
    assert "PRIVATE KEY" not in text and key_pem(pki["k_leaf"]).decode().splitlines()[1] not in text


def test_plan_create_when_alias_or_keystore_missing(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    assert ks.plan_alias(d, [], "ks1", "a1", alias_exists=False).action == "create"
    plan = ks.plan_alias(d, [], "ks1", "a1", alias_exists=False, keystore_exists=False)
    assert plan.steps[0] == "create keystore ks1"
    assert plan.diff["before"] == "(no certificate)\n"


def test_plan_certificate_only_update_warns(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"], pki["root"]))
    plan = ks.plan_alias(d, ks.stored_chain(pem(pki["leaf"])), "ks1", "a1", alias_exists=True)
    assert plan.action == "update_cert" and "restart" in plan.warnings[0]
    with pytest.raises(MtlsError, match="no private key"):
        ks.plan_alias(d, [], "ks1", "a1", alias_exists=False)


def test_plan_rotate_names_and_refs(pki):
    d = ks.desired_chain(cert_chain=pem(pki["leaf"], pki["int"]), ca_bundle=pem(pki["root"]),
                         private_key=key_pem(pki["k_leaf"]))
    plan = ks.plan_alias(d, ks.stored_chain(pem(pki["leaf"])), "ks1", "a1", alias_exists=True, strategy="rotate",
                         references=["ksref"])
    assert plan.action == "rotate"
    assert plan.new_keystore == "ks1-r" + fp(pki["leaf"])[:8]
    assert any("repoint reference ksref from ks1 to %s" % plan.new_keystore == s for s in plan.steps)
    assert plan.steps[-1] == "delete keystore ks1"
    # a later rotation starts from the base name again, and the same chain always gives the same name
    assert ks.rotation_keystore_name(plan.new_keystore, d) == plan.new_keystore
    keep = ks.plan_alias(d, [], "ks1", "a1", alias_exists=True, strategy="rotate", references=["r"],
                         keep_previous=True)
    assert keep.steps[-1] == "keep keystore ks1"
    with pytest.raises(MtlsError, match="reference"):
        ks.plan_alias(d, [], "ks1", "a1", alias_exists=True, strategy="rotate", references=[])
    with pytest.raises(MtlsError, match="strategy"):
        ks.plan_alias(d, [], "ks1", "a1", alias_exists=True, strategy="swap")


def test_same_chain_is_order_sensitive(pki):
    assert ks.same_chain([pki["leaf"], pki["int"]], [pki["leaf"], pki["int"]])
    assert not ks.same_chain([pki["leaf"], pki["int"]], [pki["int"], pki["leaf"]])
    assert not ks.same_chain([pki["leaf"]], [pki["leaf"], pki["int"]])
    assert ks.stored_chain("") == [] and ks.stored_chain(None) == []
