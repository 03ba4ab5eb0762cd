"""Certificates as the keystore endpoints read and answer them: file limits, newline and expiry validation
(as Edge checks them on upload), the stored chain's ``certInfo``, an alias's JSON.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime

from .common import (
    MAX_CERT_FILE,
    ApiError,
    bad,
    certcore,
    mtls_error,
)


def cert_error(exc) -> ApiError:
    msg = getattr(exc, "msg", None) or str(exc)
    return bad(msg, "keymanagement.service.InvalidCertificate")


def load_certs(data: bytes, source: str, newline_validation: bool) -> list:
    if len(data) > MAX_CERT_FILE:
        raise bad("%s is larger than 50KB" % source, "keymanagement.service.FileSizeExceeded")
    text = data.decode("latin-1")
    if newline_validation and re.search(r"-----END CERTIFICATE-----[ \t]*-----BEGIN CERTIFICATE-----", text):
        raise bad("%s: the certificates of the chain must be separated by a newline "
                   "(or set ignoreNewlineValidation=true)" % source, "keymanagement.service.InvalidCertificate")
    try:
        certs = list(certcore().load_certificates(data, source))
    except mtls_error() as exc:
        raise cert_error(exc) from None
    if not certs:
        raise bad("%s holds no certificate" % source, "keymanagement.service.InvalidCertificate")
    return certs


def check_expiry(certs: list, alias: str, ignore: bool) -> None:
    if ignore:
        return
    now = datetime.now(UTC)
    for i, cert in enumerate(certs):
        if cert.not_valid_after_utc < now:
            raise bad("Certificate #%d of alias %s (%s) expired on %s; set ignoreExpiryValidation=true to upload "
                       "it anyway" % (i + 1, alias, certcore().dn_java(cert.subject),
                                      cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")),
                       "keymanagement.service.CertificateExpired")


def key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def cert_infos(chain_pem: str) -> list[dict]:
    cc = certcore()
    return [cc.cert_info(c) for c in cc.load_certificates(chain_pem.encode("ascii"), "stored chain")]


def alias_json(row) -> dict:
    out = {"alias": row["alias"],
           "certsInfo": {"certInfo": cert_infos(row["chain_pem"]), "certName": row["cert_name"]}}
    if row["key_pem"]:
        out["keyName"] = row["alias"]
    return out


def ordered_chain(leaf, extra: list) -> list:
    """leaf + extra certificates, extra ordered issuer by issuer when they form a path."""
    try:
        result = certcore().build_chain(leaf, extra)
        path = list(result.path)
        rest = [c for c in extra if all(c is not p for p in path)]
        return path + rest
    except Exception:  # noqa: BLE001  (ordering is best effort; the upload itself stays valid)
        return [leaf] + list(extra)

