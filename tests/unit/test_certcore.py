"""Unit tests of the certificate core: loading, facts, chains, the JSSE selection model, Apigee certInfo."""
import datetime as dt
import hashlib

import pytest
from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.helpers.pki import chain_pem, make_ca, make_leaf, make_name, make_pkcs12, make_pki

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki():
    return make_pki()


@pytest.fixture(scope="module")
def ecpki():
    return make_pki(key_type="ec")


# ---------------------------------------------------------------------------------------------------- errors
def test_mtls_error_carries_msg_and_details():
    e = MtlsError("bad thing in x", source="x", block=2)
    assert str(e) == "bad thing in x" and e.msg == "bad thing in x"
    assert e.details == {"source": "x", "block": 2}
    a = ApigeeApiError("GET failed", status=404, code="keystore.notfound", apigee_message="no", method="GET", url="u")
    assert isinstance(a, MtlsError) and a.status == 404 and a.details["code"] == "keystore.notfound"


# ---------------------------------------------------------------------------------------------------- loading
def test_load_pem_bundle_with_junk_between_blocks(pki):
    data = b"subject=whatever\n" + pki["leaf"].cert_pem() + b"\n# comment\nBag Attributes\n" + \
        pki["inter"].cert_pem() + b"trailing junk"
    certs = certcore.load_certificates(data)
    assert [c.subject for c in certs] == [pki["leaf"].cert.subject, pki["inter"].cert.subject]
    assert certcore.load_certificates(data.decode()) == certs  # text works too


def test_load_skips_key_blocks_and_loads_der(pki):
    data = pki["leaf"].key_pem() + pki["leaf"].cert_pem()
    assert certcore.load_certificates(data) == [pki["leaf"].cert]
    assert certcore.load_certificates(pki["root"].cert_der()) == [pki["root"].cert]
    both = pki["root"].cert_der() + pki["inter"].cert_der()
    assert certcore.load_certificates(both) == [pki["root"].cert, pki["inter"].cert]


def test_load_file_names_the_file(tmp_path, pki):
    p = tmp_path / "chain.pem"
    p.write_bytes(chain_pem([pki["leaf"], pki["inter"]]))
    assert len(certcore.load_certificates_file(p)) == 2
    with pytest.raises(MtlsError, match="cannot read certificate file .*missing.pem"):
        certcore.load_certificates_file(tmp_path / "missing.pem")


@pytest.mark.parametrize("data,pattern", [
    (b"", "empty input"),
    ("   \n", "empty input"),
    (b"hello world", "neither PEM nor DER"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no CERTIFICATE block in src.pem"),
    (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "unterminated PEM block in src.pem"),
])
def test_load_errors(data, pattern):
    with pytest.raises(MtlsError, match=pattern):
        certcore.load_certificates(data, source="src.pem")


def test_malformed_block_is_named_by_number_and_source(pki):
    bad = b"-----BEGIN CERTIFICATE-----\nMIIBIjANBgkq\n-----END CERTIFICATE-----\n"
    data = pki["leaf"].cert_pem() + pki["inter"].cert_pem() + bad
    with pytest.raises(MtlsError) as ei:
        certcore.load_certificates(data, source="bundle.pem")
    assert "certificate block #3" in ei.value.msg and "bundle.pem" in ei.value.msg
    assert ei.value.details["block"] == 3
    nob64 = b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n"
    with pytest.raises(MtlsError, match=r"certificate block #1 .* is not valid base64"):
        certcore.load_certificates(nob64, source="x.pem")
    with pytest.raises(MtlsError, match="truncated"):
        certcore.load_certificates(pki["leaf"].cert_der()[:-10], source="x.der")


@pytest.mark.parametrize("fmt", ["pkcs8", "pkcs1"])
def test_load_private_key_forms(pki, ecpki, fmt):
    for item in (pki["leaf"], ecpki["leaf"]):
        key = certcore.load_private_key(item.key_pem(fmt=fmt))
        assert certcore.key_matches_certificate(key, item.cert)
        key = certcore.load_private_key(item.key_der(fmt=fmt), source="k.der")
        assert certcore.key_matches_certificate(key, item.cert)
        enc = item.key_pem(password="s3cret", fmt=fmt)
        assert certcore.key_matches_certificate(certcore.load_private_key(enc, password="s3cret"), item.cert)
        assert certcore.key_matches_certificate(certcore.load_private_key(enc, password=b"s3cret"), item.cert)


def test_legacy_encrypted_pem_key(pki):
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat

    pem = pki["leaf"].key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL,
                                        BestAvailableEncryption(b"pw"))
    assert b"Proc-Type: 4,ENCRYPTED" in pem
    with pytest.raises(MtlsError, match="encrypted and no password"):
        certcore.load_private_key(pem)
    assert certcore.key_matches_certificate(certcore.load_private_key(pem, "pw"), pki["leaf"].cert)


def test_private_key_errors_never_echo_the_key(pki):
    enc = pki["leaf"].key_pem(password="right")
    body = enc.decode().splitlines()[1]
    for password, pattern in ((None, "encrypted and no password was given"), ("wrong", "wrong password")):
        with pytest.raises(MtlsError, match=pattern) as ei:
            certcore.load_private_key(enc, password=password, source="client.key")
        assert "client.key" in ei.value.msg and body not in ei.value.msg and "right" not in ei.value.msg
        assert body not in repr(ei.value.details)
    clear = pki["leaf"].key_pem()
    broken = clear.replace(clear.splitlines()[2], b"A" * 64)
    with pytest.raises(MtlsError, match="not a valid private key") as ei:
        certcore.load_private_key(broken, source="k.pem")
    assert clear.splitlines()[3].decode() not in str(ei.value)
    with pytest.raises(MtlsError, match="no PRIVATE KEY block"):
        certcore.load_private_key(pki["leaf"].cert_pem())
    with pytest.raises(MtlsError, match="empty input"):
        certcore.load_private_key(b"")
    with pytest.raises(MtlsError, match="holds 2 private keys"):
        certcore.load_private_key(clear + clear)


def test_key_mismatch_detected(pki, ecpki):
    assert not certcore.key_matches_certificate(pki["inter"].key, pki["leaf"].cert)
    assert not certcore.key_matches_certificate(ecpki["leaf"].key, pki["leaf"].cert)
    assert certcore.key_matches_certificate(pki["leaf"].key, pki["leaf"].cert)


def test_pkcs12_round_trip_and_wrong_password(pki):
    p12 = make_pkcs12(pki["leaf"], [pki["inter"], pki["root"]], password="changeit")
    key, cert, extra = certcore.load_pkcs12(p12, "changeit", source="ks.p12")
    assert cert == pki["leaf"].cert and extra == [pki["inter"].cert, pki["root"].cert]
    assert certcore.key_matches_certificate(key, cert)
    with pytest.raises(MtlsError, match="ks.p12: wrong password"):
        certcore.load_pkcs12(p12, "nope", source="ks.p12")
    with pytest.raises(MtlsError, match="not a PKCS#12 file"):
        certcore.load_pkcs12(b"garbage", "x", source="ks.p12")


def test_dump_pem_round_trip(pki):
    certs = [pki["leaf"].cert, pki["inter"].cert]
    text = certcore.dump_pem(certs)
    assert text.count("-----BEGIN CERTIFICATE-----") == 2
    assert certcore.load_certificates(text) == certs


# ---------------------------------------------------------------------------------------------------- facts
def test_fingerprints(pki):
    cert = pki["leaf"].cert
    der = pki["leaf"].cert_der()
    fp = certcore.fingerprint_sha256(cert)
    assert fp == ":".join("%02X" % b for b in hashlib.sha256(der).digest())
    assert certcore.fingerprint_sha1(cert) == ":".join("%02X" % b for b in hashlib.sha1(der).digest())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert certcore.spki_sha256(cert) == ":".join("%02X" % b for b in hashlib.sha256(spki).digest())
    # same key re-issued -> same SPKI pin, different certificate fingerprint
    again = make_leaf("CN=again", issuer=pki["inter"], key=pki["leaf"].key)
    assert certcore.spki_sha256(again.cert) == certcore.spki_sha256(cert)
    assert certcore.fingerprint_sha256(again.cert) != fp


def test_validity_status():
    ca = make_ca("CN=v", key_type="ec")
    nb = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    leaf = make_leaf("CN=l", issuer=ca, key_type="ec", not_before=nb, not_after=nb + dt.timedelta(days=10))
    assert certcore.validity_status(leaf.cert, nb - dt.timedelta(seconds=1)) == "not_yet_valid"
    assert certcore.validity_status(leaf.cert, nb) == "valid"
    assert certcore.validity_status(leaf.cert, dt.datetime(2030, 1, 5)) == "valid"  # naive = UTC
    assert certcore.validity_status(leaf.cert, nb + dt.timedelta(days=10, seconds=1)) == "expired"
    assert certcore.validity_status(leaf.cert) == "not_yet_valid"


@pytest.mark.parametrize("eku,expected", [
    (None, True), (("clientAuth",), True), (("serverAuth",), False), (("serverAuth", "clientAuth"), True),
    (("anyExtendedKeyUsage",), True), (("codeSigning",), False),
])
def test_client_auth_eku(ecpki, eku, expected):
    leaf = make_leaf("CN=e", issuer=ecpki["inter"], key_type="ec", eku=eku)
    assert certcore.has_client_auth_eku(leaf.cert) is expected


def test_is_ca(ecpki):
    assert certcore.is_ca(ecpki["root"].cert) and certcore.is_ca(ecpki["inter"].cert)
    assert not certcore.is_ca(ecpki["leaf"].cert)
    nobc = make_leaf("CN=nobc", issuer=ecpki["inter"], key_type="ec", basic_constraints=False)
    assert not certcore.is_ca(nobc.cert)


# ---------------------------------------------------------------------------------------------------- chains
def test_build_chain_orders_an_unordered_bag(pki):
    leaf, inter, root, other = pki["leaf"], pki["inter"], pki["root"], pki["other"]
    bag = [other.cert, root.cert, inter.cert, inter.cert, leaf.cert, root.cert]
    r = certcore.build_chain(leaf.cert, bag)
    assert r.path == [leaf.cert, inter.cert, root.cert]
    assert r.complete and r.missing_issuer is None
    assert r.unused == [other.cert]


def test_build_chain_reports_missing_issuer(pki):
    r = certcore.build_chain(pki["leaf"].cert, [pki["root"].cert, pki["other"].cert])
    assert r.path == [pki["leaf"].cert] and not r.complete
    assert r.missing_issuer == "CN=Test Issuing CA G2,DC=testcore,DC=test"
    r = certcore.build_chain(pki["leaf"].cert, [pki["inter"].cert])
    assert r.path == [pki["leaf"].cert, pki["inter"].cert] and not r.complete
    assert r.missing_issuer == "CN=Test Root CA,O=Example Corp,C=AU"


def test_build_chain_needs_the_signature_not_only_the_name(pki):
    # an impostor CA with the same subject DN but another key must not be chosen
    impostor = make_ca(pki["inter"].cert.subject, parent=pki["other"])
    r = certcore.build_chain(pki["leaf"].cert, [impostor.cert, pki["root"].cert])
    assert r.path == [pki["leaf"].cert] and r.missing_issuer is not None
    r = certcore.build_chain(pki["leaf"].cert, [impostor.cert, pki["inter"].cert, pki["root"].cert])
    assert r.path == [pki["leaf"].cert, pki["inter"].cert, pki["root"].cert]
    assert r.unused == [impostor.cert]


def test_build_chain_uses_dn_equality_and_key_ids():
    # the issuer field is written as PrintableString while the CA subject is UTF8String: JSSE-equal
    root = make_ca("CN=Enc Root,O=Enc", key_type="ec", encoding="utf8")
    leaf = make_leaf("CN=enc leaf", issuer=root, key_type="ec",
                     issuer_name=make_name("CN=Enc Root,O=Enc", encoding="printable"))
    r = certcore.build_chain(leaf.cert, [root.cert])
    assert r.complete and r.path == [leaf.cert, root.cert]
    # two CAs with the same name and key-id preference: the one whose SKI matches the AKI and verifies wins
    root2 = make_ca("CN=Enc Root,O=Enc", key_type="ec")
    r = certcore.build_chain(leaf.cert, [root2.cert, root.cert])
    assert r.path[1] == root.cert


def test_self_signed_leaf_is_complete():
    ss = make_leaf("CN=selfie", key_type="ec")
    r = certcore.build_chain(ss.cert, [])
    assert r.complete and r.path == [ss.cert]


# ---------------------------------------------------------------------------------------------------- JSSE model
@pytest.mark.parametrize("km", ["SunX509", "PKIX"])
def test_jsse_select_any_chain_issuer_matches(pki, km):
    leaf, inter, root, other = (pki[k].cert for k in ("leaf", "inter", "root", "other"))
    # empty CA list: always sent
    s = certcore.jsse_select([leaf], [], key_manager=km)
    assert s.sent and s.matched_index is None
    # leaf's issuer accepted
    s = certcore.jsse_select([leaf], [inter.subject], key_manager=km)
    assert s.sent and s.matched_index == 0 and s.matched_issuer == certcore.dn_rfc4514(inter.subject)
    # only the root accepted: leaf alone is not sent, leaf + intermediate is (the intermediate's issuer matches)
    s = certcore.jsse_select([leaf], [root.subject], key_manager=km)
    assert not s.sent and "empty Certificate message" in s.reason
    s = certcore.jsse_select([leaf, inter], [root.subject], key_manager=km)
    assert s.sent and s.matched_index == 1
    # unrelated CA only
    assert not certcore.jsse_select([leaf, inter, root], [other.subject], key_manager=km).sent
    # the root's own issuer is itself: a stored root matches a server accepting the root
    assert certcore.jsse_select([leaf, inter, root], [other.subject, root.subject], key_manager=km).sent
    # nothing stored
    s = certcore.jsse_select([], [], key_manager=km)
    assert not s.sent and "no certificate" in s.reason


def test_jsse_select_accepts_text_and_der_and_encoding_variants(pki):
    leaf, inter = pki["leaf"].cert, pki["inter"].cert
    texts = ["CN=test issuing ca  g2, DC=testcore, DC=test", "/DC=test/DC=testcore/CN=Test Issuing CA G2",
             inter.subject.public_bytes()]
    for t in texts:
        assert certcore.jsse_select([leaf], [t]).sent, t
    # RDN order is significant
    assert not certcore.jsse_select([leaf], ["DC=test,DC=testcore,CN=Test Issuing CA G2"]).sent


def test_jsse_select_order_of_match_differs_between_key_managers(pki):
    leaf, inter, root = pki["leaf"].cert, pki["inter"].cert, pki["root"].cert
    cas = [root.subject, inter.subject]
    # SunX509 walks the server's list first; PKIX walks the chain first
    s = certcore.jsse_select([leaf, inter], cas, key_manager="SunX509")
    assert s.matched_index == 1 and s.matched_issuer == certcore.dn_rfc4514(root.subject)
    p = certcore.jsse_select([leaf, inter], cas, key_manager="PKIX")
    assert p.matched_index == 0 and p.matched_issuer == certcore.dn_rfc4514(inter.subject)


def test_jsse_select_pkix_ranks_but_still_sends(ecpki):
    inter = ecpki["inter"]
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    expired = make_leaf("CN=old", issuer=inter, key_type="ec", not_before=past, not_after=past + dt.timedelta(1))
    wrong_eku = make_leaf("CN=srv", issuer=inter, key_type="ec", eku=("serverAuth",))
    both = make_leaf("CN=both", issuer=inter, key_type="ec", eku=("serverAuth",), not_before=past,
                     not_after=past + dt.timedelta(1))
    cas = [inter.cert.subject]
    assert certcore.jsse_select([ecpki["leaf"].cert], cas, key_manager="PKIX").rank == "ok"
    for item, rank in ((expired, "expired"), (wrong_eku, "extension_mismatch"), (both, "extension_mismatch")):
        s = certcore.jsse_select([item.cert], cas, key_manager="PKIX")
        assert s.sent and s.rank == rank
        s = certcore.jsse_select([item.cert], cas, key_manager="SunX509")
        assert s.sent and s.rank is None
    # at= moves the clock
    assert certcore.jsse_select([expired.cert], cas, key_manager="PKIX", at=past + dt.timedelta(hours=1)).rank == "ok"


def test_jsse_select_key_types(pki, ecpki):
    rsa_leaf, ec_leaf = pki["leaf"].cert, ecpki["leaf"].cert
    assert certcore.jsse_select([rsa_leaf], [], key_types=["RSA"]).sent
    s = certcore.jsse_select([rsa_leaf], [], key_types=["EC"])
    assert not s.sent and "RSA key" in s.reason
    assert certcore.jsse_select([ec_leaf], [], key_types=["RSA", "EC"], key_manager="PKIX").sent
    # "EC_EC": the issuer's key (chain[1]) must be EC too; for a lone cert, its signature algorithm
    assert certcore.jsse_select([ec_leaf, ecpki["inter"].cert], [], key_types=["EC_EC"]).sent
    mixed = make_leaf("CN=mixed", issuer=pki["inter"], key_type="ec")
    assert not certcore.jsse_select([mixed.cert, pki["inter"].cert], [], key_types=["EC_EC"]).sent
    assert certcore.jsse_select([mixed.cert], [], key_types=["EC_RSA"]).sent
    assert certcore.java_key_algorithm(mixed.cert) == "EC"
    with pytest.raises(MtlsError, match="unknown key manager"):
        certcore.jsse_select([rsa_leaf], [], key_manager="Foo")


def test_jsse_select_bad_dn_text_is_a_clear_error(pki):
    with pytest.raises(MtlsError, match="unknown attribute type 'XYZ'"):
        certcore.jsse_select([pki["leaf"].cert], ["XYZ=1"])


# ---------------------------------------------------------------------------------------------------- Apigee shapes
def test_cert_info_shape_rsa(pki):
    info = certcore.cert_info(pki["leaf"].cert)
    assert set(info) == {"basicConstraints", "expiryDate", "isValid", "issuer", "publicKey", "serialNumber",
                         "sigAlgName", "subject", "subjectAlternativeNames", "validFrom", "version"}
    assert info["basicConstraints"] == "CA:FALSE"
    assert info["issuer"] == "CN=Test Issuing CA G2, DC=testcore, DC=test"
    assert info["subject"] == "CN=client.example.test, O=Example Corp"
    assert info["publicKey"] == "RSA Public Key, 2048 bits"
    assert info["sigAlgName"] == "SHA256withRSA"
    assert info["isValid"] == "Yes" and info["version"] == 3
    assert info["subjectAlternativeNames"] == ["client.example.test"]
    nva = pki["leaf"].cert.not_valid_after_utc
    assert info["expiryDate"] == int(nva.timestamp()) * 1000 and isinstance(info["validFrom"], int)
    serial = pki["leaf"].cert.serial_number
    assert int(info["serialNumber"].replace(":", ""), 16) == serial
    assert info["serialNumber"] == info["serialNumber"].lower()
    assert certcore.cert_info(pki["inter"].cert)["basicConstraints"] == "CA:TRUE, pathlen:0"
    assert certcore.cert_info(pki["root"].cert)["basicConstraints"] == "CA:TRUE"


def test_cert_info_ec_and_expired(ecpki):
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    old = make_leaf("CN=old,O=x", issuer=ecpki["inter"], key_type="ec", not_before=past,
                    not_after=past + dt.timedelta(days=1), san=["ip:127.0.0.1", "email:a@b.test", "dns:x.test"])
    info = certcore.cert_info(old.cert)
    assert info["publicKey"] == "EC Public Key, 256 bits" and info["sigAlgName"] == "SHA256withECDSA"
    assert info["isValid"] == "No" and info["validFrom"] == int(past.timestamp() * 1000)
    assert info["subjectAlternativeNames"] == ["127.0.0.1", "a@b.test", "x.test"]
    assert certcore.cert_info(old.cert, at=past + dt.timedelta(hours=1))["isValid"] == "Yes"
    p384 = make_leaf("CN=p384", issuer=ecpki["inter"], key=ec.generate_private_key(ec.SECP384R1()))
    assert certcore.cert_info(p384.cert)["publicKey"] == "EC Public Key, 384 bits"


def test_serial_number_colon_hex_like_apigee():
    ca = make_ca("CN=s", key_type="ec")
    high = make_leaf("CN=h", issuer=ca, key_type="ec", serial=0x9285F7E53BC53026)
    assert certcore.cert_info(high.cert)["serialNumber"] == "00:92:85:f7:e5:3b:c5:30:26"
    low = make_leaf("CN=l", issuer=ca, key_type="ec", serial=0x07BCA7)
    assert certcore.cert_info(low.cert)["serialNumber"] == "07:bc:a7"


def test_chain_summary_is_secret_free(pki):
    summary = certcore.chain_summary([pki["leaf"].cert, pki["inter"].cert], at=NOW)
    assert [s["subject"] for s in summary] == ["CN=client.example.test,O=Example Corp",
                                               "CN=Test Issuing CA G2,DC=testcore,DC=test"]
    assert summary[0]["issuer"] == summary[1]["subject"]
    assert summary[0]["not_after"].endswith("Z") and summary[0]["validity"] == "valid"
    assert summary[1]["is_ca"] and not summary[0]["is_ca"]
    assert summary[0]["sha256"] == certcore.fingerprint_sha256(pki["leaf"].cert)
    text = repr(summary)
    assert "PRIVATE" not in text and "BEGIN" not in text


def test_a_secret_option_says_what_its_value_looked_like(tmp_path):
    """Ansible masks a no_log value wherever it appears: "private_key: ******** is neither PEM ..." said nothing.
    For a secret the error describes the value instead of echoing it; other options still name the path."""
    from ansible.module_utils.mtls.material import read_material

    missing = str(tmp_path / "no-such.key")
    with pytest.raises(MtlsError) as err:
        read_material(missing, "private_key", secret=True)
    assert "private_key: the value looks like a path, but no readable file is there" in str(err.value)
    assert missing not in str(err.value)
    with pytest.raises(MtlsError, match="cert_chain: %s is neither PEM content nor a readable file" % missing):
        read_material(missing, "cert_chain")
    assert read_material("-----BEGIN X-----\n", "private_key", secret=True) == b"-----BEGIN X-----\n"


def test_a_diff_shows_each_certificate_as_a_short_block(pki):
    text = certcore.describe_certificates([pki["leaf"].cert, pki["inter"].cert], labels=["mp-client", None])
    blocks = text.strip("\n").split("\n[")
    assert len(blocks) == 2 and text.startswith("[mp-client] CN=") and "\n[1] CN=" in text
    first = blocks[0].splitlines()
    assert len(first) == 4
    assert first[1].startswith("    issued by ") and first[2].startswith("    serial ") and "(valid)" in first[2]
    assert first[3] == "    SHA-256 " + certcore.fingerprint_sha256(pki["leaf"].cert)
    assert "PRIVATE" not in text
    assert certcore.describe_certificates([]) == "(no certificate)\n"
