"""The MP Java profiles: what each changes in the model (sources in plugins/module_utils/mtls/jsse_profile.py; the
17 and 17-sha1-off profiles are checked cell by cell against real JDKs in tests/interop/test_jsse_key_types.py)."""
import pytest
from ansible.module_utils.mtls import jsse_profile
from ansible.module_utils.mtls.certificate_request import (
    certificate_verify_scheme,
    jsse_key_types,
    jsse_permitted_cert_signatures,
)
from ansible.module_utils.mtls.errors import MtlsError

ED25519_ONLY = {"tls_version": "TLSv1.3", "certificate_types": [], "signature_algorithms": ["ed25519"],
                "signature_algorithms_cert": None, "certificate_authorities": []}
SHA1_TLS12 = {"tls_version": "TLSv1.2", "certificate_types": ["rsa_sign", "ecdsa_sign"],
              "signature_algorithms": ["ecdsa_sha1", "rsa_pkcs1_sha256"], "signature_algorithms_cert": None,
              "certificate_authorities": []}


def test_default_client_protocols_per_java():
    assert jsse_profile.profile("8").usable_protocols([]) == ["TLSv1.2"]  # JDK-8245485 (8u261)
    assert jsse_profile.profile("11").usable_protocols([]) == ["TLSv1.3", "TLSv1.2"]
    assert jsse_profile.profile("17").usable_protocols(["TLSv1.2", "TLSv1.1"]) == ["TLSv1.2"]  # 1.1 is disabled
    assert jsse_profile.profile("1.8") is jsse_profile.profile("8")


def test_eddsa_exists_from_java_15_only():
    assert jsse_key_types(ED25519_ONLY, "17") == ["EdDSA"]
    assert jsse_key_types(ED25519_ONLY, "11") == [] and jsse_key_types(ED25519_ONLY, "8") == []
    assert jsse_permitted_cert_signatures(ED25519_ONLY, "11") == []


def test_sha1_handshake_signatures_off_removes_the_key_type_they_alone_allow():
    assert jsse_key_types(SHA1_TLS12, "17") == ["EC", "RSA"]
    assert jsse_key_types(SHA1_TLS12, "17-sha1-off") == ["RSA"]
    # a SHA-1 signed certificate is still acceptable for PKIX: only the handshake signature is disabled
    assert "SHA1withECDSA" in jsse_permitted_cert_signatures(SHA1_TLS12, "17-sha1-off")


def test_rsa_keys_below_a_scheme_minimal_size_get_no_certificate_verify_scheme():
    req = {"tls_version": "TLSv1.3", "signature_algorithms": ["rsa_pss_rsae_sha512"]}
    assert certificate_verify_scheme(req, "RSA", key_size=1024) is None  # needs 1040 bits (SignatureScheme.java)
    assert certificate_verify_scheme(req, "RSA", key_size=2048) == "rsa_pss_rsae_sha512"


def test_an_unknown_profile_is_refused_by_name():
    with pytest.raises(MtlsError, match="unknown MP Java profile '9'"):
        jsse_profile.profile("9")
