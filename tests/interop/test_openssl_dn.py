"""The DN texts that the real `openssl` prints parse back to names JSSE-equal to the originals.

* `openssl x509 -noout -subject -nameopt ...` for the forms an operator meets (compat slash form, OpenSSL 3's default
  oneline form, RFC 2253 with and without escaped UTF-8 bytes);
* `openssl s_client` against a real `openssl s_server -Verify 1 -CAfile ...` on 127.0.0.1: the printed
  "Acceptable client certificate CA names" lines, for TLS 1.2 and TLS 1.3.
"""
import shutil
import socket
import subprocess
import time

import pytest
from ansible.module_utils.mtls import certcore

from tests.helpers.lab import free_block
from tests.helpers.pki import chain_pem, make_ca, make_leaf, make_name

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")]

X509_NAMEOPTS = ["compat", "oneline", "RFC2253", "RFC2253,-esc_msb", "oneline,-esc_msb"]


@pytest.fixture(scope="module")
def cas():
    return [
        make_ca("CN=MyCompany Test SHA2 CA G2,DC=testcore,DC=test,DC=dir,DC=mycompany,DC=com", key_type="ec"),
        make_ca([("C", "AU"), ("ST", "VIC"), [("O", "Example, Inc"), ("OU", "a/b+c")], ("CN", "Tëst  CA 日本")],
                key_type="ec"),
        make_ca(make_name([("C", "AU"), ("O", "Printable Org"), ("CN", "Printable CA")], encoding="printable"),
                key_type="ec"),
        make_ca([("C", "NZ"), ("O", 'Quote " and \\ backslash'), ("CN", "#hash; semi <lt> =eq")], key_type="ec"),
    ]


def _run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, **kw)


@pytest.mark.parametrize("nameopt", X509_NAMEOPTS)
def test_openssl_x509_subject_forms_parse_back(tmp_path, cas, nameopt):
    for i, ca in enumerate(cas):
        path = tmp_path / ("ca%d.pem" % i)
        path.write_bytes(ca.cert_pem())
        proc = _run(["openssl", "x509", "-in", str(path), "-noout", "-subject", "-nameopt", nameopt])
        assert proc.returncode == 0, proc.stderr
        line = proc.stdout.strip()
        assert line.startswith("subject=")
        parsed = certcore.parse_dn(line)
        assert certcore.dn_equal(parsed, ca.cert.subject), (nameopt, line)
        if nameopt == "compat":
            # our slash rendering is exactly what `openssl x509 -subject -nameopt compat` prints
            assert certcore.dn_openssl(ca.cert.subject) == line[len("subject="):]


@pytest.fixture(scope="module")
def server(tmp_path_factory, cas):
    d = tmp_path_factory.mktemp("sserver")
    srv_ca = make_ca("CN=Server Root", key_type="ec")
    srv = make_leaf("CN=localhost", issuer=srv_ca, key_type="ec", eku=("serverAuth",), san=["localhost"])
    (d / "srv.pem").write_bytes(srv.cert_pem())
    key = d / "srv.key"
    key.write_bytes(srv.key_pem())
    key.chmod(0o600)
    (d / "cas.pem").write_bytes(chain_pem(cas))
    port = free_block()
    proc = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", str(d / "srv.pem"),
                             "-key", str(key), "-Verify", "1", "-CAfile", str(d / "cas.pem"), "-quiet"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("openssl s_server did not start")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        key.unlink()


def _acceptable_cas(output: str) -> list[str]:
    lines = output.splitlines()
    start = lines.index("Acceptable client certificate CA names") + 1
    out = []
    for line in lines[start:]:
        if line.startswith(("Client Certificate Types", "Requested Signature Algorithms", "---", "Shared ")):
            break
        out.append(line)
    return out


@pytest.mark.parametrize("tls", ["-tls1_2", "-tls1_3"])
@pytest.mark.parametrize("nameopt", [None, "RFC2253"])
def test_s_client_acceptable_ca_names_parse_back(server, cas, tls, nameopt):
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % server, tls]
    if nameopt:
        args += ["-nameopt", nameopt]
    proc = _run(args, stdin=subprocess.DEVNULL)
    assert "Acceptable client certificate CA names" in proc.stdout, proc.stdout + proc.stderr
    printed = _acceptable_cas(proc.stdout)
    assert len(printed) == len(cas)
    for line, ca in zip(printed, cas, strict=True):
        assert certcore.dn_equal(certcore.parse_dn(line), ca.cert.subject), line
    # the model's view of that server: a chain issued by one of those CAs is sent, another is not
    names = [certcore.parse_dn(line) for line in printed]
    issued = make_leaf("CN=client", issuer=cas[1], key_type="ec")
    stranger = make_leaf("CN=client", issuer=make_ca("CN=Stranger", key_type="ec"), key_type="ec")
    assert certcore.jsse_select([issued.cert], names).matched_index == 0
    assert not certcore.jsse_select([stranger.cert], names).sent
