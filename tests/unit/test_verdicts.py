"""Diagnosis rules on constructed links, keystores and probe facts (PKI generated at run time)."""
import datetime as dt

import pytest
from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.links import Link, Resolved, SslInfo
from ansible.module_utils.mtls.verdicts import PRECEDENCE, VERDICTS, diagnose, summarize

from tests.helpers.pki import make_ca, make_leaf

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki():
    root_a = make_ca("CN=Root A,O=Lab", key_type="ec")
    int_a = make_ca("CN=Intermediate A,O=Lab", parent=root_a, key_type="ec")
    leaf_a = make_leaf("CN=mp-client-a,O=Lab", issuer=int_a, key_type="ec")
    root_c = make_ca("CN=Root C,O=Lab", key_type="ec")
    int_c = make_ca("CN=Intermediate C,O=Lab", parent=root_c, key_type="ec")
    leaf_c = make_leaf("CN=mp-client-c,O=Lab", issuer=int_c, key_type="ec")
    root_b = make_ca("CN=Root B,O=Lab", key_type="ec")
    expired = make_leaf("CN=old,O=Lab", issuer=int_a, key_type="ec", not_before=NOW - dt.timedelta(days=30),
                        not_after=NOW - dt.timedelta(days=1))
    future = make_leaf("CN=future,O=Lab", issuer=int_a, key_type="ec", not_before=NOW + dt.timedelta(days=3),
                       not_after=NOW + dt.timedelta(days=30))
    server_only = make_leaf("CN=wrong-eku,O=Lab", issuer=int_a, key_type="ec", eku=("serverAuth",))
    return {k: v for k, v in locals().items()}


def link(client_auth=True, enabled=True, keystore="ref://ks-ref", ks_name="ks", alias="client", reference_found=True,
         source="targetserver", scheme="https", present=True):
    ssl = SslInfo(enabled=enabled, client_auth_enabled=client_auth, keystore=keystore, key_alias=alias,
                  present=present)
    res = Resolved(declared=keystore)
    if keystore and keystore.startswith("ref://"):
        res.reference = keystore[6:]
        res.reference_found = reference_found
        res.name = ks_name if reference_found else None
        if not reference_found:
            res.error = "reference %r does not exist in environment 'test'" % res.reference
    elif keystore:
        res.name = keystore
    return Link(id="targetserver:test/ts1", env="test", source=source, name="ts1", host="127.0.0.1", port=18441,
                sni="127.0.0.1", scheme=scheme, ssl=ssl, keystore=res)


def keystore(*aliases, exists=True):
    out = {"name": "ks", "env": "test", "exists": exists, "aliases": {}, "certs": []}
    for name, chain, has_key in aliases:
        out["aliases"][name] = {"has_key": has_key, "chain": [c.cert for c in chain], "chain_pem": None,
                                "error": None}
    return out


# what OpenSSL 3 sends by default in a TLS 1.3 CertificateRequest (as the probe reports it)
DEFAULT_REQUEST = {"tls_version": "TLSv1.3", "certificate_types": [], "signature_algorithms_cert": None,
                   "signature_algorithms": ["ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ed25519",
                                            "rsa_pss_pss_sha256", "rsa_pss_rsae_sha256", "rsa_pkcs1_sha256"]}


def probe(acceptable=(), requested=True, reachable=True, alert="bad_certificate", request=DEFAULT_REQUEST):
    names = [a.cert.subject for a in acceptable]
    return {"host": "127.0.0.1", "port": 18441, "reachable": reachable, "error": None if reachable else "refused",
            "client_auth_requested": requested, "acceptable_ca_names": names,
            "certificate_request": dict(request, certificate_authorities=[certcore.dn_rfc4514(n) for n in names])
            if request is not None else None,
            "acceptable_client_cas": [certcore.dn_rfc4514(n) for n in names],
            "acceptable_client_cas_openssl": [certcore.dn_openssl(n) for n in names],
            # a backend that asks for no certificate completes the handshake; one that asks refuses the empty one
            "handshake_without_certificate": {"ok": not requested, "completed": True,
                                              "alert": alert if requested else None,
                                              "alert_text": "alert " + alert if requested else None}}


def test_precedence_lists_every_verdict_once():
    assert sorted(PRECEDENCE) == sorted(VERDICTS)


def test_healthy_link_is_ok(pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"], pki["root_a"]], True))
    r = diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "ok" and r["remediation"]["action"] == "none"
    assert r["evidence"]["jsse_selection"]["sent"] is True
    assert r["evidence"]["jsse_selection"]["matched_issuer"] == "CN=Root A,O=Lab"


def test_tls_disabled_wins_over_everything(pki):
    r = diagnose(link(enabled=False, reference_found=False), None, None, at=NOW)
    assert r["verdict"] == "tls_disabled" and r["remediation"]["action"] == "manual"


def test_reference_missing(pki):
    r = diagnose(link(reference_found=False), None, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "reference_missing"
    assert r["evidence"]["reference"]["name"] == "ks-ref"
    assert "ks-ref" in r["remediation"]["text"]


def test_keystore_missing(pki):
    assert diagnose(link(), keystore(exists=False), probe(), at=NOW)["verdict"] == "keystore_missing"
    assert diagnose(link(keystore=None), None, probe(), at=NOW)["verdict"] == "keystore_missing"


def test_empty_keystore_is_no_client_certificate(pki):
    r = diagnose(link(), keystore(), probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "no_client_certificate"
    assert r["remediation"]["action"] == "upload_chain" and r["remediation"]["keystore"] == "ks"
    assert r["remediation"]["alias"] == "client"


def test_alias_missing(pki):
    ks = keystore(("other", [pki["leaf_a"], pki["int_a"]], True))
    r = diagnose(link(alias="client"), ks, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "alias_missing"
    assert r["remediation"]["existing_aliases"] == ["other"]


def test_alias_without_key_is_no_client_certificate(pki):
    ks = keystore(("client", [pki["leaf_a"]], False), ("other", [pki["leaf_a"], pki["int_a"]], True))
    assert diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)["verdict"] == "no_client_certificate"


def test_an_alias_whose_key_apigee_did_not_report_is_never_ok(pki):
    """An X / hybrid keystore lists its aliases by name; when the alias's type (KEY_CERT or CERT) was not read,
    has_key is None: the chain alone would be sent and accepted, but a CERT alias gives the MP nothing to send."""
    chain = [pki["leaf_a"], pki["int_a"], pki["root_a"]]
    r = diagnose(link(), keystore(("client", chain, None)), probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "alias_key_unknown" and r["remediation"]["action"] == "manual"
    assert r["evidence"]["alias"]["has_key"] is None and "KEY_CERT" in r["remediation"]["text"]
    # the other aliases with a known key do not make the named one known
    ks = keystore(("client", chain, None), ("other", chain, True))
    assert diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)["verdict"] == "alias_key_unknown"
    # a real cause found on the way is still that cause
    assert diagnose(link(), keystore(("client", chain, None)), probe([pki["root_b"]]), at=NOW)["verdict"] \
        == "ca_mismatch"
    # client auth off: the MP sends no certificate whatever the alias holds
    assert diagnose(link(client_auth=False), keystore(("client", chain, None)), probe(requested=False),
                    at=NOW)["verdict"] == "ok"


def test_client_auth_disabled_only_when_backend_asks(pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    r = diagnose(link(client_auth=False), ks, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "client_auth_disabled" and r["remediation"]["action"] == "enable_client_auth"
    assert diagnose(link(client_auth=False), ks, probe(requested=False), at=NOW)["verdict"] == "ok"
    assert diagnose(link(client_auth=False), ks, probe(reachable=False), at=NOW)["verdict"] == "backend_unreachable"


def test_backend_unreachable_and_no_client_auth(pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    assert diagnose(link(), ks, probe(reachable=False), at=NOW)["verdict"] == "backend_unreachable"
    assert diagnose(link(), ks, None, at=NOW)["verdict"] == "backend_unreachable"
    assert diagnose(link(), ks, probe(requested=False), at=NOW)["verdict"] == "backend_no_client_auth"


def test_expired_and_not_yet_valid(pki):
    ks = keystore(("client", [pki["expired"], pki["int_a"]], True))
    r = diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "certificate_expired" and r["remediation"]["action"] == "renew_certificate"
    ks = keystore(("client", [pki["future"], pki["int_a"]], True))
    assert diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)["verdict"] == "certificate_not_yet_valid"


def test_an_expired_intermediate_below_the_trusted_ca_is_never_ok(pki):
    """The backend validates the intermediate it gets (PKIX, OpenSSL): an expired one makes it refuse the chain, so
    a leaf that is still valid is not enough. The same intermediate as the CA the backend trusts is an anchor."""
    old_int = make_ca("CN=Intermediate A,O=Lab", parent=pki["root_a"], key=pki["int_a"].key,
                      not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=2))
    ks = keystore(("client", [pki["leaf_a"], old_int], True))
    r = diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "certificate_expired", r["remediation"]
    assert "CN=Intermediate A,O=Lab, which expired on" in r["remediation"]["text"]
    assert r["evidence"]["invalid_chain_certificate"]["subject"] == "CN=Intermediate A,O=Lab"
    # the backend trusts the intermediate itself: it is the anchor, not a certificate of the path it validates
    assert diagnose(link(), ks, probe([pki["int_a"]]), at=NOW)["verdict"] == "ok"
    # a valid intermediate: ok
    ks_ok = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    assert diagnose(link(), ks_ok, probe([pki["root_a"]]), at=NOW)["verdict"] == "ok"


def test_chain_incomplete_when_completion_from_known_cas_helps(pki):
    ks = keystore(("client", [pki["leaf_a"]], True))
    bag = [pki["int_a"].cert, pki["root_a"].cert, pki["root_b"].cert]
    r = diagnose(link(), ks, probe([pki["root_a"]]), bag, at=NOW)
    assert r["verdict"] == "chain_incomplete"
    rem = r["remediation"]
    assert rem["action"] == "upload_chain"
    fps = [c["sha256"] for c in rem["certificates"]]
    assert fps[0] == certcore.fingerprint_sha256(pki["leaf_a"].cert)
    assert certcore.fingerprint_sha256(pki["int_a"].cert) in fps
    assert [m["subject"] for m in rem["missing"]][0] == "CN=Intermediate A,O=Lab"
    assert all(c["pem"].startswith("-----BEGIN CERTIFICATE-----") for c in rem["certificates"])
    assert r["evidence"]["jsse_selection"]["sent"] is False
    assert r["evidence"]["jsse_selection_with_completed_chain"]["sent"] is True


def test_chain_incomplete_needs_the_missing_ca_somewhere(pki):
    # Without Intermediate A known anywhere the completion cannot help: the leaf's issuer is named for the backend.
    ks = keystore(("client", [pki["leaf_a"]], True))
    r = diagnose(link(), ks, probe([pki["root_a"]]), [], at=NOW)
    assert r["verdict"] == "ca_mismatch"
    assert r["remediation"]["subject"] == "CN=Intermediate A,O=Lab"
    assert r["remediation"]["sha256"] is None


def test_ca_mismatch_names_the_issuing_ca_and_its_path(pki):
    ks = keystore(("client", [pki["leaf_c"], pki["int_c"], pki["root_c"]], True))
    r = diagnose(link(), ks, probe([pki["root_b"]]), [pki["root_a"].cert], at=NOW)
    assert r["verdict"] == "ca_mismatch"
    rem = r["remediation"]
    assert rem["action"] == "trust_issuer"
    assert rem["subject"] == "CN=Intermediate C,O=Lab"
    assert rem["subject_openssl"] == certcore.dn_openssl(pki["int_c"].cert.subject)
    assert rem["sha256"] == certcore.fingerprint_sha256(pki["int_c"].cert)
    assert [c["subject"] for c in rem["ca_chain"]] == ["CN=Intermediate C,O=Lab", "CN=Root C,O=Lab"]
    assert r["evidence"]["probe"]["acceptable_client_cas"] == ["CN=Root B,O=Lab"]


def test_chain_with_a_gap_is_sent_but_incomplete(pki):
    # leaf + Root A: JSSE sends it (Root A's issuer is acceptable) but the backend cannot connect leaf -> Root A.
    ks = keystore(("client", [pki["leaf_a"], pki["root_a"]], True))
    r = diagnose(link(), ks, probe([pki["root_a"]]), [pki["int_a"].cert], at=NOW)
    assert r["evidence"]["jsse_selection"]["sent"] is True
    assert r["verdict"] == "chain_incomplete"
    assert "gap" in r["remediation"]["text"]


def test_rejected_by_backend_from_a_real_handshake_result(pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    pr = probe([pki["root_a"]])
    pr["handshake"] = {"ok": False, "completed": False, "alert": "certificate_unknown",
                       "alert_text": "tls alert certificate unknown", "client_certificate_presented": True}
    r = diagnose(link(), ks, pr, at=NOW)
    assert r["verdict"] == "rejected_by_backend"
    assert "certificate unknown" in r["remediation"]["text"]


def test_rejected_by_backend_without_client_auth_eku(pki):
    ks = keystore(("client", [pki["server_only"], pki["int_a"]], True))
    r = diagnose(link(), ks, probe([pki["root_a"]]), at=NOW)
    assert r["verdict"] == "rejected_by_backend" and r["remediation"]["action"] == "renew_certificate"


def test_proxy_http_url_with_sslinfo_is_tls_disabled(pki):
    lk = link(source="proxy", scheme="http", enabled=False)
    assert diagnose(lk, None, None, at=NOW)["verdict"] == "tls_disabled"
    lk = link(source="proxy", scheme="https", enabled=False)  # https URL turns TLS on
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    assert diagnose(lk, ks, probe([pki["root_a"]]), at=NOW)["verdict"] == "ok"


def test_summary_counts():
    s = summarize([{"verdict": "ok"}, {"verdict": "ca_mismatch"}, {"verdict": "ca_mismatch"}])
    assert s["total"] == 3 and s["ok"] == 1 and s["broken"] == 2
    assert s["by_verdict"]["ca_mismatch"] == 2 and s["by_verdict"]["tls_disabled"] == 0



def test_a_key_type_the_certificate_request_does_not_allow_is_never_ok(pki):
    """An EC client certificate against a backend whose CertificateRequest allows only RSA signatures: JSSE asks its
    key manager for RSA keys only and sends an empty Certificate message (tests/interop/test_jsse_key_types.py)."""
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"], pki["root_a"]], True))
    rsa_only = {"tls_version": "TLSv1.2", "certificate_types": ["rsa_sign"], "signature_algorithms_cert": None,
                "signature_algorithms": ["rsa_pkcs1_sha256", "rsa_pss_rsae_sha256"]}
    for km in ("SunX509", "PKIX"):
        out = diagnose(link(), ks, probe([pki["root_a"]], request=rsa_only), at=NOW, key_manager=km)
        assert out["verdict"] == "key_type_not_accepted", out
        rem = out["remediation"]
        assert rem["key_type"] == "EC secp256r1" and rem["accepted_key_types"] == ["RSA"]
        # the fix uploads declared material with a key the backend takes (checked before any change), else manual
        assert rem["action"] == "upload_chain" and rem["accepted_keys"] == ["RSA"] and rem["key_required"] is True


def test_pkix_refuses_a_chain_signed_with_an_algorithm_the_backend_does_not_list(pki):
    """PKIX checks every certificate of the chain against the signature algorithms the backend lists; SunX509 does
    not. The EC chain is signed with SHA256withECDSA; a backend that lists only ecdsa_secp384r1_sha384 (and so
    SHA384withECDSA) makes PKIX skip it, while SunX509 sends it and fails later on CertificateVerify (P-256 key)."""
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"], pki["root_a"]], True))
    p384_only = {"tls_version": "TLSv1.3", "certificate_types": [], "signature_algorithms_cert": None,
                 "signature_algorithms": ["ecdsa_secp384r1_sha384"]}
    out = diagnose(link(), ks, probe([pki["root_a"]], request=p384_only), at=NOW, key_manager="PKIX")
    assert out["verdict"] == "signature_algorithm_rejected" and "SHA256withECDSA" in out["remediation"]["text"]
    out = diagnose(link(), ks, probe([pki["root_a"]], request=p384_only), at=NOW, key_manager="SunX509")
    assert out["verdict"] == "no_certificate_verify_scheme" and "secp256r1" in out["remediation"]["text"]
    assert out["remediation"]["accepted_keys"] == ["EC secp384r1"]  # the one curve the backend's ECDSA scheme signs


def test_a_certificate_request_that_could_not_be_read_is_never_ok(pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"], pki["root_a"]], True))
    out = diagnose(link(), ks, probe([pki["root_a"]], request=None), at=NOW)
    assert out["verdict"] == "certificate_request_unreadable"


def test_an_ok_link_on_a_keystore_changed_in_place_is_restart_pending_until_a_restart():
    """Apigee (update-tls-certificate-cloud / -private-cloud): MPs keep a keystore they loaded until they restart, so
    a keystore changed in place can be right in the management API and still wrong on the wire: never ok."""
    from ansible.module_utils.mtls.verdicts import restart_pending

    ok = {"verdict": "ok", "evidence": {"sent": True}, "remediation": {"action": "none", "text": "nothing"}}
    pending = {"test/ks1": "2026-12-01T10:00:00+00:00"}
    got = restart_pending(ok, "test", "ks1", pending)
    assert got["verdict"] == "mp_restart_pending" and got["remediation"]["action"] == "manual"
    assert got["evidence"]["changed_in_place"] == "test/ks1" and got["evidence"]["sent"] is True
    assert "mtls_mp_restart=true" in got["remediation"]["text"] and "2026-12-01T10:00" in got["remediation"]["text"]
    # another env's keystore of the same name, another keystore, nothing pending: unchanged
    assert restart_pending(ok, "prod", "ks1", pending) is ok
    assert restart_pending(ok, "test", "ks2", pending) is ok
    assert restart_pending(ok, "test", "ks1", {}) is ok
    # a link that is broken anyway keeps its own verdict (the cause to fix first)
    broken = dict(ok, verdict="ca_mismatch")
    assert restart_pending(broken, "test", "ks1", pending) is broken


# --------------------------------------------------------------------- the MP's own validation of the backend


@pytest.fixture(scope="module")
def server_pki():
    root = make_ca("CN=Server Root,O=Lab", key_type="ec")
    inter = make_ca("CN=Server CA,O=Lab", parent=root, key_type="ec")
    server = make_leaf("CN=localhost,O=Lab", issuer=inter, key_type="ec", eku=("serverAuth",), san=["localhost"])
    other = make_ca("CN=Other Root,O=Lab", key_type="ec")
    return {"root": root, "inter": inter, "server": server, "other": other}


def trusting_link(truststore="ts", ignore=False, found=True, **kw):
    lk = link(**kw)
    lk.ssl.truststore = truststore
    lk.ssl.ignore_validation_errors = ignore
    res = Resolved(declared=truststore)
    if truststore and truststore.startswith("ref://"):
        res.reference, res.reference_found = truststore[6:], found
        res.name = "ts" if found else None
        res.error = None if found else "reference %r does not exist in environment 'test'" % truststore[6:]
    else:
        res.name = truststore
    lk.truststore = res
    return lk


def truststore(*certs, exists=True):
    return {"name": "ts", "env": "test", "exists": exists, "certs": [],
            "aliases": {"ca%d" % i: {"has_key": False, "chain": [c.cert], "chain_pem": None, "error": None}
                        for i, c in enumerate(certs)}}


def sending(pr, *certs, protocol="TLSv1.3"):
    return dict(pr, server_certificates=[c.cert for c in certs], protocol=protocol, cipher="TLS_AES_128_GCM_SHA256")


def test_a_truststore_that_does_not_trust_the_backend_is_server_not_trusted_whatever_the_client_side(pki, server_pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    pr = sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"])
    r = diagnose(trusting_link(), ks, pr, at=NOW, truststore=truststore(server_pki["other"]))
    assert r["verdict"] == "server_not_trusted" and r["remediation"]["action"] == "manual"
    assert r["evidence"]["server_trust"]["trusted"] is False
    assert "PKIX path building failed" in r["remediation"]["text"] and "CN=Server Root,O=Lab" in r["remediation"][
        "text"]
    # one-way TLS too: the MP aborts before anything about client certificates matters
    one_way = diagnose(trusting_link(client_auth=False), None, sending(probe(requested=False), server_pki["server"],
                                                                       server_pki["inter"]),
                       at=NOW, truststore=truststore(server_pki["other"]))
    assert one_way["verdict"] == "server_not_trusted"


def test_a_truststore_that_trusts_the_backend_leaves_the_verdict_to_the_client_side(pki, server_pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    pr = sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"])
    r = diagnose(trusting_link(), ks, pr, at=NOW, truststore=truststore(server_pki["root"]))
    assert r["verdict"] == "ok" and r["evidence"]["server_trust"]["anchor"] == "CN=Server Root,O=Lab"
    wrong = diagnose(trusting_link(), keystore(("client", [pki["leaf_c"], pki["int_c"]], True)), pr, at=NOW,
                     truststore=truststore(server_pki["root"]))
    assert wrong["verdict"] == "ca_mismatch"


def test_no_truststore_or_ignored_validation_errors_leave_the_backend_unchecked(pki, server_pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    pr = sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"])
    for lk in (trusting_link(truststore=None), trusting_link(ignore=True)):
        r = diagnose(lk, ks, pr, at=NOW, truststore=truststore(server_pki["other"]))
        assert r["verdict"] == "ok" and r["evidence"]["server_trust"]["checked"] is False


def test_a_truststore_that_is_missing_or_a_reference_that_resolves_nowhere_is_server_not_trusted(pki, server_pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    pr = sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"])
    missing = diagnose(trusting_link(), ks, pr, at=NOW, truststore=truststore(exists=False))
    assert missing["verdict"] == "server_not_trusted" and "does not exist" in missing["remediation"]["text"]
    dangling = diagnose(trusting_link(truststore="ref://ts-ref", found=False), ks, pr, at=NOW, truststore=None)
    assert dangling["verdict"] == "server_not_trusted" and "ref://ts-ref" in dangling["remediation"]["text"]


def test_what_the_trust_model_cannot_decide_is_never_ok(pki, server_pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    unseen = diagnose(trusting_link(), ks, sending(probe([pki["root_a"]])), at=NOW,
                      truststore=truststore(server_pki["root"]))
    assert unseen["verdict"] == "server_trust_unknown"
    assert "the backend's certificate was not seen" in unseen["remediation"]["text"]
    # a TLS 1.2 suite the key usage check does not know: not decided, so not ok
    ku_leaf = make_leaf("CN=localhost,OU=ku,O=Lab", issuer=server_pki["inter"], key_type="ec",
                        eku=("serverAuth",), key_usage=("digital_signature",))
    odd = dict(sending(probe([pki["root_a"]]), ku_leaf, server_pki["inter"], protocol="TLSv1.2"),
               cipher="PSK-AES128-CBC-SHA")
    r = diagnose(trusting_link(), ks, odd, at=NOW, truststore=truststore(server_pki["root"]))
    assert r["verdict"] == "server_trust_unknown" and r["evidence"]["server_trust"]["trusted"] is None


def test_a_backend_reached_with_sni_whose_certificate_does_not_name_it_is_never_ok(pki, server_pki):
    from ansible.module_utils.mtls.server_trust import host_matches

    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    lk = trusting_link(truststore=None)
    lk.sni = lk.host = "api.example.org"
    r = diagnose(lk, ks, sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"]), at=NOW)
    assert r["verdict"] == "server_trust_unknown" and r["evidence"]["host_name"]["matches"] is False
    assert "there is no way to ignore the error" in r["remediation"]["text"]
    lk.sni = lk.host = "localhost"
    assert diagnose(lk, ks, sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"]),
                    at=NOW)["verdict"] == "ok"
    wildcard = make_leaf("CN=ignored,O=Lab", issuer=server_pki["inter"], key_type="ec", eku=("serverAuth",),
                         san=["*.example.org", "ip:10.0.0.7"])
    assert host_matches(wildcard.cert, "api.example.org") and not host_matches(wildcard.cert, "a.b.example.org")
    assert host_matches(wildcard.cert, "10.0.0.7") and not host_matches(wildcard.cert, "10.0.0.8")
    assert host_matches(server_pki["other"].cert, "Other Root") and not host_matches(server_pki["other"].cert, "root")


def test_a_truststore_set_from_undeclared_flow_variables_is_not_decided_never_missing(pki, server_pki):
    ks = keystore(("client", [pki["leaf_a"], pki["int_a"]], True))
    lk = trusting_link()
    lk.truststore = Resolved(declared="{ssl.truststore}", variables=["ssl.truststore"], dynamic=True)
    r = diagnose(lk, ks, sending(probe([pki["root_a"]]), server_pki["server"], server_pki["inter"]), at=NOW,
                 truststore=None)
    assert r["verdict"] == "server_trust_unknown" and "flow variables" in r["remediation"]["text"]
