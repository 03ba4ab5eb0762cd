"""Backend truststore files: make a CA certificate present in (or absent from) the file a TLS server trusts.

Formats:
- ``pem_bundle``: concatenated PEM certificates (nginx ``ssl_client_certificate``, Apache ``SSLCACertificateFile``,
  HAProxy ``ca-file``, Envoy ``trusted_ca``). Everything else in the file (comments, other blocks) is kept as it is.
- ``pkcs12``: a Java PKCS#12 truststore (trusted certificate entries), read and written with ``cryptography``.
- ``jks``: a Java JKS truststore, changed with ``keytool`` (the password goes through the environment, never argv).

Writes are atomic (a temporary file in the same folder, fsync, ``os.replace``), keep the owner and mode of the file they
replace, can leave a timestamped backup, and can run a validation command on the candidate file (``%s`` in the command
is the candidate's path) before it replaces the live one. Idempotency is by SHA-256 fingerprint: a certificate that is
already there (whatever its alias) is not added again.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

from ansible.module_utils.mtls.certcore import chain_summary, describe_certificates, load_certificates, validity_status
from ansible.module_utils.mtls.errors import MtlsError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

FORMATS = ("pem_bundle", "pkcs12", "jks")
# A block starts at the beginning of a line, as OpenSSL (nginx, Apache, HAProxy) reads it; a commented block is text.
PEM_BLOCK = re.compile(rb"^-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----\r?\n?", re.S | re.M)
KEYTOOL_PASSWORD_ENV = "MTLS_TRUSTSTORE_PASSWORD"


@dataclass
class TrustEntry:
    """One trusted certificate of a truststore file."""
    cert: x509.Certificate
    alias: str | None = None
    span: tuple[int, int] | None = None  # pem_bundle: where the block sits in the file

    @property
    def sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def _fp(cert) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def default_alias(cert: x509.Certificate) -> str:
    """A stable alias for a CA certificate: its CN in lower case (letters, digits, '-') and 8 hex of its SHA-256."""
    cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    base = cns[0].value if cns else "ca"
    slug = re.sub(r"[^a-z0-9]+", "-", str(base).lower()).strip("-") or "ca"
    return "%s-%s" % (slug[:48], _fp(cert)[:8])


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise MtlsError("truststore format %r is not supported; use one of %s" % (fmt, ", ".join(FORMATS)))
    return fmt


# ----------------------------------------------------------------------------------------------------------- reading

def parse_pem_bundle(data: bytes, source: str = "truststore") -> list[TrustEntry]:
    entries = []
    for match in PEM_BLOCK.finditer(data):
        try:
            cert = x509.load_pem_x509_certificate(match.group(0))
        except ValueError:
            raise MtlsError("%s: the PEM block at byte %d is not a readable certificate" % (source, match.start())) \
                from None
        entries.append(TrustEntry(cert=cert, span=(match.start(), match.end())))
    return entries


def parse_pkcs12(data: bytes, password: str | None, source: str = "truststore") -> list[TrustEntry]:
    if not password:
        raise MtlsError("%s: a PKCS#12 truststore needs its password (password or password_file)" % source)
    try:
        p12 = pkcs12.load_pkcs12(data, password.encode())
    except ValueError:
        raise MtlsError("%s: cannot open the PKCS#12 truststore: wrong password or not a PKCS#12 file" % source) \
            from None
    entries = []
    if p12.cert is not None:
        entries.append(TrustEntry(cert=p12.cert.certificate, alias=_name(p12.cert.friendly_name)))
    for item in p12.additional_certs:
        entries.append(TrustEntry(cert=item.certificate, alias=_name(item.friendly_name)))
    return entries


def _name(raw) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _keytool_env(password: str) -> dict:
    env = dict(os.environ)
    env[KEYTOOL_PASSWORD_ENV] = password
    return env


def _run_keytool(keytool: str, args: list[str], password: str, what: str) -> str:
    try:
        res = subprocess.run([keytool, *args], capture_output=True, text=True, env=_keytool_env(password),
                             timeout=120, check=False)
    except FileNotFoundError:
        raise MtlsError("keytool not found (%s): a JKS truststore needs a Java runtime's keytool on the host"
                        % keytool) from None
    if res.returncode != 0:
        text = (res.stdout + res.stderr).strip().replace(password, "********") if password else res.stderr
        raise MtlsError("keytool failed to %s: %s" % (what, text.strip().splitlines()[-1] if text.strip() else
                                                      "exit code %d" % res.returncode))
    return res.stdout


def parse_jks(path: str, password: str | None, keytool: str = "keytool") -> list[TrustEntry]:
    if not password:
        raise MtlsError("%s: a JKS truststore needs its password (password or password_file)" % path)
    out = _run_keytool(keytool, ["-list", "-rfc", "-keystore", path, "-storetype", "JKS",
                                 "-storepass:env", KEYTOOL_PASSWORD_ENV], password, "read %s" % path)
    entries = []
    alias = None
    pos = 0
    text = out.encode()
    alias_re = re.compile(rb"^Alias name: (.*)$", re.M)
    for match in PEM_BLOCK.finditer(text):
        names = list(alias_re.finditer(text, pos, match.start()))
        if names:
            alias = names[-1].group(1).decode().strip()
        entries.append(TrustEntry(cert=x509.load_pem_x509_certificate(match.group(0)), alias=alias))
        pos = match.end()
    return entries


def read_truststore(path: str, fmt: str, password: str | None = None, keytool: str = "keytool") -> list[TrustEntry]:
    """The trusted certificates of a truststore file ([] when the file does not exist)."""
    check_format(fmt)
    if not os.path.exists(path):
        return []
    if fmt == "jks":
        return parse_jks(path, password, keytool)
    with open(path, "rb") as fh:
        data = fh.read()
    if fmt == "pem_bundle":
        return parse_pem_bundle(data, path)
    return parse_pkcs12(data, password, path)


# ---------------------------------------------------------------------------------------------------------- planning

@dataclass
class TruststorePlan:
    changed: bool
    add: list[x509.Certificate]
    remove: list[TrustEntry]
    before: list[TrustEntry]


def load_wanted(data, source: str = "certificate", state: str = "present", at=None) -> list[x509.Certificate]:
    """The CA certificate(s) to add or remove: PEM or DER, one or more; expired ones are refused for state=present."""
    certs = load_certificates(data, source)
    if not certs:
        raise MtlsError("%s holds no certificate" % source)
    if state == "present":
        for cert in certs:
            status = validity_status(cert, at) if at is not None else validity_status(cert)
            if status != "valid":
                summary = chain_summary([cert])[0]
                raise MtlsError("%s: certificate %s is %s (not after %s); refusing to add it to a truststore"
                                % (source, summary["subject"], status.replace("_", " "), summary["not_after"]))
    return certs


def plan_truststore(entries: list[TrustEntry], wanted: list[x509.Certificate], state: str) -> TruststorePlan:
    """What has to change so that every wanted certificate is present (or absent), compared by SHA-256."""
    if state not in ("present", "absent"):
        raise MtlsError("state must be present or absent (got %r)" % state)
    have = {e.sha256 for e in entries}
    want = {_fp(c) for c in wanted}
    if state == "present":
        add, seen = [], set()
        for cert in wanted:
            fp = _fp(cert)
            if fp not in have and fp not in seen:
                add.append(cert)
                seen.add(fp)
        return TruststorePlan(changed=bool(add), add=add, remove=[], before=entries)
    remove = [e for e in entries if e.sha256 in want]
    return TruststorePlan(changed=bool(remove), add=[], remove=remove, before=entries)


def describe(entries_or_certs) -> str:
    """A block per certificate (alias, subject, issuer, serial, validity, SHA-256): what a diff shows."""
    items = list(entries_or_certs)
    certs = [item.cert if isinstance(item, TrustEntry) else item for item in items]
    labels = [item.alias if isinstance(item, TrustEntry) and item.alias else str(i) for i, item in enumerate(items)]
    return describe_certificates(certs, labels, empty="")


def after_entries(plan: TruststorePlan, alias: str | None = None) -> list[TrustEntry]:
    gone = {id(e) for e in plan.remove}
    kept = [e for e in plan.before if id(e) not in gone]
    used = {e.alias for e in kept if e.alias}
    for i, cert in enumerate(plan.add):
        name = alias if (alias and len(plan.add) == 1) else ("%s-%d" % (alias, i + 1) if alias else default_alias(cert))
        while name in used:
            name += "-x"
        used.add(name)
        kept.append(TrustEntry(cert=cert, alias=name))
    return kept


# ----------------------------------------------------------------------------------------------------------- writing

def render_pem_bundle(original: bytes, plan: TruststorePlan) -> bytes:
    """The new bundle: removed blocks cut out, added ones appended with a comment line; the rest byte for byte."""
    out = original
    for entry in sorted(plan.remove, key=lambda e: e.span[0], reverse=True):
        start, end = entry.span
        # drop a comment line written right above the block by this module
        head = out[:start]
        prev = head.rstrip(b"\n").rsplit(b"\n", 1)
        if len(prev) == 2 and prev[1].startswith(b"# ") and b"sha256=" in prev[1]:
            start = len(prev[0]) + 1 if prev[0] else 0
        elif len(prev) == 1 and prev[0].startswith(b"# ") and b"sha256=" in prev[0]:
            start = 0
        out = out[:start] + out[end:]
    if plan.add and out and not out.endswith(b"\n"):
        out += b"\n"
    for cert in plan.add:
        s = chain_summary([cert])[0]
        out += ("# %s sha256=%s\n" % (s["subject"], s["sha256"])).encode("utf-8")
        out += cert.public_bytes(serialization.Encoding.PEM)
    return out


def render_pkcs12(entries: list[TrustEntry], password: str) -> bytes:
    items = [pkcs12.PKCS12Certificate(e.cert, (e.alias or default_alias(e.cert)).encode()) for e in entries]
    enc = serialization.BestAvailableEncryption(password.encode())
    return pkcs12.serialize_java_truststore(items, enc)


def _copy_owner_mode(src_stat, path: str) -> None:
    os.chmod(path, src_stat.st_mode & 0o7777)
    try:
        os.chown(path, src_stat.st_uid, src_stat.st_gid)
    except PermissionError:
        if (src_stat.st_uid, src_stat.st_gid) != (os.stat(path).st_uid, os.stat(path).st_gid):
            raise MtlsError("cannot keep the owner %d:%d of %s: not allowed (run with become)"
                            % (src_stat.st_uid, src_stat.st_gid, path)) from None


def run_validate(command: str, candidate: str, what: str = "validate") -> None:
    """Run a validation command; %s is replaced by the candidate file (else it is appended). Raises on failure."""
    if "%s" in command:
        argv = [a.replace("%s", candidate) for a in shlex.split(command)]
    else:
        argv = shlex.split(command) + [candidate]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        raise MtlsError("%s command not found: %s" % (what, argv[0])) from None
    except subprocess.TimeoutExpired:
        raise MtlsError("%s command timed out: %s" % (what, argv[0])) from None
    if res.returncode != 0:
        message = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()
        raise MtlsError("%s command failed (exit %d): %s" % (what, res.returncode, " / ".join(message[-3:])),
                        details={"rc": res.returncode, "command": argv[0]})


def backup_name(path: str) -> str:
    return "%s.%d.%s~" % (path, os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S"))


def make_backup(path: str) -> str:
    dest = backup_name(path)
    shutil.copy2(path, dest)
    st = os.stat(path)
    try:
        os.chown(dest, st.st_uid, st.st_gid)
    except PermissionError:
        pass
    return dest


def reload_marker(path: str) -> str:
    """The file that says "this truststore changed and the backend has not been reloaded since" (beside the real file).

    Written before the new truststore replaces the live one and removed by the role once the reload succeeded, so a
    run killed between the write and the reload still reloads on the next run."""
    real = os.path.realpath(path)
    return os.path.join(os.path.dirname(real), ".%s.reload-pending" % os.path.basename(real))


def mark_reload_pending(path: str) -> str:
    marker = reload_marker(path)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("truststore %s changed at %s; reload the backend\n" % (path, time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                            time.gmtime())))
    return marker


def restore_backup(path: str, backup: str) -> dict:
    """Put a backup back in place atomically, through a symlink, keeping the owner, group and mode the live file has
    (the backup's when there is no live file)."""
    if not backup or not os.path.exists(backup):
        raise MtlsError("backup %s does not exist; cannot restore %s" % (backup, path))
    real = os.path.realpath(path)
    directory = os.path.dirname(real)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(real))
    os.close(fd)
    try:
        shutil.copyfile(backup, tmp)
        _copy_owner_mode(os.stat(real) if os.path.exists(real) else os.stat(backup), tmp)
        os.replace(tmp, real)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"changed": True, "path": path, "restored_from": backup}


def apply_truststore_cert(path: str, fmt: str, certificate, state: str = "present", password: str | None = None,
                          alias: str | None = None, validate: str | None = None, backup: bool = False,
                          check_mode: bool = False, create: bool = True, mode: int | None = None,
                          keytool: str = "keytool", source: str = "certificate") -> dict:
    """Make the certificate(s) present in / absent from the truststore file. Returns a result dict (no secrets).

    A path that is a symlink is written through (the real file is changed, the link stays). ``reload_pending`` says
    that the file changed (now or in an earlier run) and the backend has not been reloaded since."""
    check_format(fmt)
    wanted = load_wanted(certificate, source, state)
    given, path = path, os.path.realpath(path)
    exists = os.path.exists(path)
    if not exists and state == "present" and not create:
        raise MtlsError("truststore %s does not exist (create: false)" % path)
    if fmt in ("pkcs12", "jks") and not password:
        raise MtlsError("truststore %s (%s) needs its password (password or password_file)" % (path, fmt))
    entries = read_truststore(path, fmt, password, keytool)
    plan = plan_truststore(entries, wanted, state)
    after = after_entries(plan, alias)
    marker = reload_marker(path)
    result = {
        "changed": plan.changed, "path": given, "format": fmt, "reload_marker": marker,
        "reload_pending": os.path.exists(marker) or (plan.changed and check_mode),
        "added": chain_summary(plan.add) if plan.add else [],
        "removed": chain_summary([e.cert for e in plan.remove]) if plan.remove else [],
        "certificates": len(after),
        "diff": {"before": describe(entries), "after": describe(after),
                 "before_header": "%s (%s)" % (given, fmt), "after_header": "%s (%s)" % (given, fmt)},
    }
    if given != path:
        result["real_path"] = path
    if not plan.changed or check_mode:
        return result

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise MtlsError("folder %s of truststore %s does not exist" % (directory, path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    os.close(fd)
    try:
        if fmt == "jks":
            _write_jks(path if exists else None, tmp, plan, after, password, keytool)
        else:
            if fmt == "pem_bundle":
                original = b""
                if exists:
                    with open(path, "rb") as fh:
                        original = fh.read()
                data = render_pem_bundle(original, plan)
            else:
                data = render_pkcs12(after, password)
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        if exists:
            _copy_owner_mode(os.stat(path), tmp)
        else:
            os.chmod(tmp, mode if mode is not None else 0o644)
        if validate:
            run_validate(validate, tmp)
        if backup and exists:
            result["backup_file"] = make_backup(path)
        mark_reload_pending(path)
        os.replace(tmp, path)
        result["reload_pending"] = True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return result


def _write_jks(live: str | None, tmp: str, plan: TruststorePlan, after: list[TrustEntry], password: str,
               keytool: str) -> None:
    if live:
        shutil.copyfile(live, tmp)
    else:
        os.unlink(tmp)  # keytool creates the store itself
    for entry in plan.remove:
        if not entry.alias:
            raise MtlsError("cannot remove a JKS entry without an alias")
        _run_keytool(keytool, ["-delete", "-alias", entry.alias, "-keystore", tmp, "-storetype", "JKS",
                               "-storepass:env", KEYTOOL_PASSWORD_ENV], password, "remove %s" % entry.alias)
    added = {_fp(c) for c in plan.add}
    for entry in after:
        if entry.sha256 not in added:
            continue
        with tempfile.NamedTemporaryFile("wb", suffix=".pem", dir=os.path.dirname(tmp), delete=False) as fh:
            fh.write(entry.cert.public_bytes(serialization.Encoding.PEM))
            cert_file = fh.name
        try:
            _run_keytool(keytool, ["-importcert", "-noprompt", "-trustcacerts", "-alias", entry.alias, "-file",
                                   cert_file, "-keystore", tmp, "-storetype", "JKS", "-storepass:env",
                                   KEYTOOL_PASSWORD_ENV], password, "add %s" % entry.alias)
        finally:
            os.unlink(cert_file)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())


def read_password(password: str | None, password_file: str | None) -> str | None:
    """The truststore password from the option or from a file (first line, stripped)."""
    if password:
        return password
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise MtlsError("cannot read the truststore password file %s: %s" % (password_file, exc.strerror)) \
                from None
    return None
