"""The probe reads the server's whole CertificateRequest (certificate types, signature algorithms, CA names), TLS 1.2
and TLS 1.3, against real `openssl s_server` backends configured with chosen client signature algorithms; the same
facts are read back from `openssl s_client`'s own report of the request ("Requested Signature Algorithms",
"Client Certificate Types", "Acceptable client certificate CA names")."""
import re
import shutil
import subprocess

import pytest
from ansible.module_utils.mtls.certificate_request import parse
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.probe import probe

from tests.helpers.openssl import server_files, start_s_server, stop

pytestmark = [pytest.mark.interop, pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")]

# OpenSSL's -client_sigalgs names -> the TLS SignatureScheme names the probe reports
CASES = [
    ("TLSv1.2", "ECDSA+SHA256:RSA-PSS+SHA256", ["ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256"]),
    ("TLSv1.2", "RSA+SHA384:RSA+SHA256", ["rsa_pkcs1_sha384", "rsa_pkcs1_sha256"]),
    ("TLSv1.3", "ed25519:ECDSA+SHA384", ["ed25519", "ecdsa_secp384r1_sha384"]),
    ("TLSv1.3", "rsa_pss_pss_sha256:rsa_pss_rsae_sha512", ["rsa_pss_pss_sha256", "rsa_pss_rsae_sha512"]),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("certreq")
    _, _, ca = server_files(d, "CN=CertReq Client CA,O=Lab")  # the CA the server also names to clients
    (d / "ca.pem").write_bytes(ca.cert_pem())
    return d


def serve(files, version, sigalgs):
    return start_s_server(str(files / "server.pem"), str(files / "server.key"), "-CAfile", str(files / "ca.pem"),
                          "-client_sigalgs", sigalgs, version=version)


def s_client_view(port, version):
    flag = {"TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}[version]
    out = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, flag, "-servername", "localhost"],
                         input=b"", capture_output=True, timeout=20).stdout.decode("utf-8", "replace")
    sigalgs = re.search(r"^Requested Signature Algorithms: (.*)$", out, re.M)
    types = re.search(r"^Client Certificate Types: (.*)$", out, re.M)
    return {"sigalgs": sigalgs.group(1).split(":") if sigalgs else None,
            "types": [t.strip() for t in types.group(1).split(",")] if types else None,
            "has_ca_list": "Acceptable client certificate CA names" in out}


@pytest.mark.parametrize("version, sigalgs, expected", CASES)
def test_probe_reads_the_whole_certificate_request(files, version, sigalgs, expected):
    proc, port = serve(files, version, sigalgs)
    try:
        got = probe("127.0.0.1", port, server_name="localhost", tls_versions=[version], attempt_handshake=False,
                    timeout=5)
        view = s_client_view(port, version)
    finally:
        stop(proc)
    req = got["certificate_request"]
    assert got["client_auth_requested"] and got["certificate_request_error"] is None
    assert req["tls_version"] == version and req["signature_algorithms"] == expected
    assert req["certificate_authorities"] == got["acceptable_client_cas"] == ["CN=CertReq Client CA,O=Lab"]
    assert view["has_ca_list"]
    # OpenSSL's client names the same algorithms, in the same order (its own spelling)
    assert view["sigalgs"] is not None and len(view["sigalgs"]) == len(expected)
    if version == "TLSv1.2":
        openssl_names = {"rsa_sign": "RSA sign", "dss_sign": "DSA sign", "ecdsa_sign": "ECDSA sign"}
        assert req["certificate_types"] and [openssl_names[t] for t in req["certificate_types"]] == view["types"]
    else:
        assert req["certificate_types"] == []


def test_a_truncated_request_is_an_error_not_a_guess():
    with pytest.raises(MtlsError, match="truncated CertificateRequest"):
        parse(bytes([13, 0, 0, 9, 1, 64, 0, 4, 4, 3]), "TLSv1.2")
    with pytest.raises(MtlsError, match="not a CertificateRequest"):
        parse(bytes([11, 0, 0, 0]), "TLSv1.2")


def test_without_the_message_callback_the_request_is_unread_and_says_why(files, monkeypatch):
    """A pyOpenSSL without the message callback (or with other internals): the probe still probes, and says the
    CertificateRequest was not read, which the verdicts turn into certificate_request_unreadable, never ok."""
    from ansible.module_utils.mtls import probe as probe_module

    monkeypatch.setattr(probe_module, "HAS_MSG_CALLBACK", False)
    proc, port = serve(files, "TLSv1.2", "RSA+SHA256")
    try:
        got = probe("127.0.0.1", port, server_name="localhost", tls_versions=["TLSv1.2"], attempt_handshake=False,
                    timeout=5)
    finally:
        stop(proc)
    assert got["client_auth_requested"] and got["certificate_request"] is None
    assert "no message callback" in got["certificate_request_error"]
