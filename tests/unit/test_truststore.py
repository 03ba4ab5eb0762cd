"""Backend truststore files (plugins/module_utils/mtls_truststore.py): PEM bundle, PKCS#12, JKS (real keytool)."""
import datetime as dt
import os
import shutil
import stat
import subprocess

import pytest
from ansible.module_utils.mtls import backend_truststore as ts
from ansible.module_utils.mtls.errors import MtlsError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = "Truststore-Pass-1"
HAS_KEYTOOL = shutil.which("keytool") is not None


def make_ca(cn, days=365, start_offset=-1):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=start_offset)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def fp(cert):
    return cert.fingerprint(hashes.SHA256()).hex()


@pytest.fixture(scope="module")
def cas():
    return {"a": make_ca("Root A"), "b": make_ca("Root B"), "c": make_ca("Intermediate C")}


def write(path, data, mode=0o640):
    with open(path, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


def fps_in(path, fmt, password=None):
    return [e.sha256 for e in ts.read_truststore(str(path), fmt, password)]


# ------------------------------------------------------------------------------------------------------ PEM bundle

def test_pem_bundle_add_keeps_existing_bytes_mode_and_is_idempotent(tmp_path, cas):
    path = tmp_path / "client-ca.pem"
    original = b"# trusted client CAs\n" + pem(cas["b"])
    write(path, original, 0o640)
    res = ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]))
    assert res["changed"] is True
    data = path.read_bytes()
    assert data.startswith(original)
    assert fps_in(path, "pem_bundle") == [fp(cas["b"]), fp(cas["c"])]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert "Intermediate C" in res["diff"]["after"] and "Intermediate C" not in res["diff"]["before"]
    again = ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]))
    assert again["changed"] is False
    assert path.read_bytes() == data
    # no temporary file left behind; the reload marker stays until the backend is reloaded (role backend_truststore)
    assert sorted(os.listdir(tmp_path)) == [".client-ca.pem.reload-pending", "client-ca.pem"]
    assert res["reload_pending"] is again["reload_pending"] is True


def test_pem_bundle_check_mode_writes_nothing(tmp_path, cas):
    path = tmp_path / "ca.pem"
    write(path, pem(cas["b"]))
    before = path.read_bytes()
    res = ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]), check_mode=True, backup=True)
    assert res["changed"] is True and "backup_file" not in res
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ca.pem"]


def test_pem_bundle_absent_removes_block_and_comment(tmp_path, cas):
    path = tmp_path / "ca.pem"
    write(path, pem(cas["b"]))
    ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]))
    res = ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]), state="absent")
    assert res["changed"] is True and len(res["removed"]) == 1
    assert path.read_bytes() == pem(cas["b"])
    assert ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]), state="absent")["changed"] is False


def test_pem_bundle_multiple_certs_and_der_input(tmp_path, cas):
    path = tmp_path / "ca.pem"
    write(path, pem(cas["a"]))
    res = ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["b"]) + pem(cas["c"]) + pem(cas["a"]))
    assert len(res["added"]) == 2
    der = cas["b"].public_bytes(serialization.Encoding.DER)
    assert ts.apply_truststore_cert(str(path), "pem_bundle", der)["changed"] is False


def test_backup_and_validate_failure_leaves_live_file(tmp_path, cas):
    path = tmp_path / "ca.pem"
    write(path, pem(cas["b"]))
    before = path.read_bytes()
    validator = tmp_path / "validate.sh"
    validator.write_text("#!/bin/sh\necho \"bad bundle: $1\" >&2\nexit 3\n")
    validator.chmod(0o755)
    with pytest.raises(MtlsError) as err:
        ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]), validate="%s %%s" % validator, backup=True)
    assert "exit 3" in str(err.value) and "bad bundle" in str(err.value)
    assert path.read_bytes() == before
    assert set(os.listdir(tmp_path)) == {"ca.pem", "validate.sh"}


def test_validate_sees_candidate_and_backup_is_restorable(tmp_path, cas):
    path = tmp_path / "ca.pem"
    write(path, pem(cas["b"]))
    before = path.read_bytes()
    seen = tmp_path / "seen"
    validator = tmp_path / "validate.sh"
    validator.write_text("#!/bin/sh\ngrep -c 'BEGIN CERT' \"$1\" > %s\n" % seen)
    validator.chmod(0o755)
    res = ts.apply_truststore_cert(str(path), "pem_bundle", pem(cas["c"]), validate="%s %%s" % validator, backup=True)
    assert seen.read_text().strip() == "2"
    backup = res["backup_file"]
    with open(backup, "rb") as fh:
        assert fh.read() == before
    ts.restore_backup(str(path), backup)
    assert path.read_bytes() == before


def test_expired_ca_is_refused_before_any_change(tmp_path, cas):
    path = tmp_path / "ca.pem"
    write(path, pem(cas["b"]))
    old = make_ca("Old CA", days=10, start_offset=-30)
    with pytest.raises(MtlsError, match="Old CA.*expired"):
        ts.apply_truststore_cert(str(path), "pem_bundle", pem(old))
    assert path.read_bytes() == pem(cas["b"])


def test_bad_inputs_name_the_problem(tmp_path, cas):
    with pytest.raises(MtlsError, match="format"):
        ts.apply_truststore_cert(str(tmp_path / "x"), "p7b", pem(cas["a"]))
    with pytest.raises(MtlsError, match="password"):
        ts.apply_truststore_cert(str(tmp_path / "x.p12"), "pkcs12", pem(cas["a"]))
    with pytest.raises(MtlsError):
        ts.apply_truststore_cert(str(tmp_path / "x.pem"), "pem_bundle", b"not a certificate")
    with pytest.raises(MtlsError, match="does not exist"):
        ts.apply_truststore_cert(str(tmp_path / "x.pem"), "pem_bundle", pem(cas["a"]), create=False)


# ---------------------------------------------------------------------------------------------------------- PKCS#12

def java_store(certs, password=PASSWORD):
    items = [pkcs12.PKCS12Certificate(c, ts.default_alias(c).encode()) for c in certs]
    return pkcs12.serialize_java_truststore(items, serialization.BestAvailableEncryption(password.encode()))


def test_pkcs12_add_remove_idempotent(tmp_path, cas):
    path = tmp_path / "trust.p12"
    write(path, java_store([cas["b"]]), 0o600)
    res = ts.apply_truststore_cert(str(path), "pkcs12", pem(cas["c"]), password=PASSWORD, alias="int-c")
    assert res["changed"] and res["certificates"] == 2
    entries = ts.read_truststore(str(path), "pkcs12", PASSWORD)
    assert [e.sha256 for e in entries] == [fp(cas["b"]), fp(cas["c"])]
    assert entries[1].alias == "int-c"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = path.read_bytes()
    assert ts.apply_truststore_cert(str(path), "pkcs12", pem(cas["c"]), password=PASSWORD)["changed"] is False
    assert path.read_bytes() == data
    ts.apply_truststore_cert(str(path), "pkcs12", pem(cas["c"]), password=PASSWORD, state="absent")
    assert fps_in(path, "pkcs12", PASSWORD) == [fp(cas["b"])]


def test_pkcs12_wrong_password_is_named(tmp_path, cas):
    path = tmp_path / "trust.p12"
    write(path, java_store([cas["b"]]))
    with pytest.raises(MtlsError, match="wrong password") as err:
        ts.apply_truststore_cert(str(path), "pkcs12", pem(cas["c"]), password="nope-Secret-9")
    assert "nope-Secret-9" not in str(err.value)


@pytest.mark.skipif(not HAS_KEYTOOL, reason="keytool not installed")
def test_pkcs12_written_file_is_read_by_java_keytool(tmp_path, cas, monkeypatch):
    monkeypatch.setenv("TS_PW", PASSWORD)
    path = tmp_path / "trust.p12"
    write(path, java_store([cas["b"]]))
    ts.apply_truststore_cert(str(path), "pkcs12", pem(cas["c"]), password=PASSWORD, alias="int-c",
                             validate="keytool -list -storetype PKCS12 -keystore %s -storepass:env TS_PW")
    out = subprocess.run(["keytool", "-list", "-storetype", "PKCS12", "-keystore", str(path), "-storepass:env",
                          "TS_PW"], env={**os.environ, "TS_PW": PASSWORD}, capture_output=True, text=True, check=True)
    assert "int-c" in out.stdout and out.stdout.count("trustedCertEntry") == 2


# -------------------------------------------------------------------------------------------------------------- JKS

@pytest.mark.skipif(not HAS_KEYTOOL, reason="keytool not installed")
def test_jks_through_keytool(tmp_path, cas):
    path = tmp_path / "trust.jks"
    res = ts.apply_truststore_cert(str(path), "jks", pem(cas["b"]) + pem(cas["c"]), password=PASSWORD, mode=0o600)
    assert res["changed"] and res["certificates"] == 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(fps_in(path, "jks", PASSWORD)) == sorted([fp(cas["b"]), fp(cas["c"])])
    data = path.read_bytes()
    assert ts.apply_truststore_cert(str(path), "jks", pem(cas["c"]), password=PASSWORD)["changed"] is False
    assert path.read_bytes() == data
    ts.apply_truststore_cert(str(path), "jks", pem(cas["c"]), password=PASSWORD, state="absent")
    assert fps_in(path, "jks", PASSWORD) == [fp(cas["b"])]
    out = subprocess.run(["keytool", "-list", "-storetype", "JKS", "-keystore", str(path), "-storepass:env", "P"],
                         env={**os.environ, "P": PASSWORD}, capture_output=True, text=True, check=True)
    assert out.stdout.count("trustedCertEntry") == 1
    assert sorted(os.listdir(tmp_path)) == [".trust.jks.reload-pending", "trust.jks"]


@pytest.mark.skipif(not HAS_KEYTOOL, reason="keytool not installed")
def test_jks_wrong_password_does_not_echo_it(tmp_path, cas):
    path = tmp_path / "trust.jks"
    ts.apply_truststore_cert(str(path), "jks", pem(cas["b"]), password=PASSWORD)
    with pytest.raises(MtlsError) as err:
        ts.read_truststore(str(path), "jks", "Wrong-Pass-77")
    assert "Wrong-Pass-77" not in str(err.value)


def test_read_password_file(tmp_path):
    f = tmp_path / "pw"
    f.write_text("s3cret-Pw\n")
    assert ts.read_password(None, str(f)) == "s3cret-Pw"
    assert ts.read_password("given", str(f)) == "given"
    with pytest.raises(MtlsError, match="password file"):
        ts.read_password(None, str(tmp_path / "missing"))
