"""PEM bundles read as OpenSSL reads them (nginx, Apache and HAProxy load CA files with OpenSSL): a block starts at the
beginning of a line, so a commented-out block is text between blocks. Once refused with "not valid base64"."""
import re
import shutil
import subprocess

import pytest
from ansible.module_utils.mtls import backend_truststore, certcore

from tests.helpers.pki import make_ca

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")]


def openssl_subjects(path):
    """The subjects OpenSSL itself reads from a PEM file (every certificate of it)."""
    p7 = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(path)], capture_output=True, check=True)
    out = subprocess.run(["openssl", "pkcs7", "-print_certs", "-noout"], input=p7.stdout, capture_output=True,
                         check=True).stdout.decode()
    return re.findall(r"^subject=\s*CN\s*=\s*(.+)$", out, re.M)


def test_a_commented_out_block_is_skipped_as_openssl_skips_it(tmp_path):
    old, live, other = make_ca("CN=Retired CA"), make_ca("CN=Live CA"), make_ca("CN=Other CA")
    commented = "".join("# " + line + "\n" for line in old.cert_pem().decode().splitlines())
    bundle = tmp_path / "client-ca.pem"
    bundle.write_bytes(b"# CAs nginx trusts for client certificates\n" + commented.encode() + live.cert_pem() +
                       b"#" + other.cert_pem())  # the last block's BEGIN line is commented: OpenSSL skips it all
    assert openssl_subjects(bundle) == ["Live CA"]
    assert [c.subject.rfc4514_string() for c in certcore.load_certificates(bundle.read_bytes())] == ["CN=Live CA"]
    # the truststore module reads it the same way, adds a CA, and keeps the commented block byte for byte
    before = bundle.read_bytes()
    res = backend_truststore.apply_truststore_cert(str(bundle), "pem_bundle", other.cert_pem())
    assert res["changed"] is True and len(res["added"]) == 1
    assert bundle.read_bytes().startswith(before)
    assert openssl_subjects(bundle) == ["Live CA", "Other CA"]
