"""Keystores and truststores, their aliases (``keycertfile``, ``pkcs12``, ``keycertjar`` uploads; the certificate
update) and certificates (``/certs``).
"""
from __future__ import annotations

import zipfile
from io import BytesIO

from flask import Response, jsonify, request

from ..store import split_pem
from . import x_shapes
from .certificates import alias_json, cert_infos, check_expiry, key_pem, load_certs, ordered_chain
from .common import (
    ALIAS_NAME,
    KEYSTORE_NAME,
    MAX_CERT_FILE,
    ApiError,
    Resource,
    bad,
    certcore,
    json_body,
    mtls_error,
    query_flag,
    store,
    x_mode,
)

bp = Resource('keystores', __name__)


def _keystore_or_404(org, env, name):
    ks = store.get_keystore(org, env, name)
    if ks is None:
        raise ApiError(404, "keymanagement.service.KeystoreDoesNotExist",
                       "Keystore %s does not exist in environment %s" % (name, env))
    return ks


@bp.api_route("/{env}/keystores", ["GET", "POST"])
def keystores(org, env):
    if request.method == "GET":
        return jsonify(store.list_keystores(org, env))
    # X / hybrid: the body is a Keystore; ?name= overrides its name (apigee-x.yaml, keystores create)
    name = request.args.get("name") if x_mode() and request.args.get("name") else json_body("keystore").get("name")
    if not name or not isinstance(name, str):
        raise bad("name is required", "keymanagement.service.InvalidKeystoreName")
    if not KEYSTORE_NAME.match(name):
        raise bad("Invalid keystore name %s: keystore names can contain only alphanumeric characters" % name,
                   "keymanagement.service.InvalidKeystoreName")
    if store.get_keystore(org, env, name) is not None:
        raise ApiError(409, "keymanagement.service.KeystoreAlreadyExists",
                       "Keystore %s already exists in environment %s" % (name, env))
    store.create_keystore(org, env, name)
    # 200, as keystores-and-trustores.yaml (createKeystoreTruststore) documents; not 201
    ks = store.get_keystore(org, env, name)
    return jsonify(x_shapes.keystore(ks) if x_mode() else ks), 200


@bp.api_route("/{env}/keystores/<keystore>", ["GET", "DELETE"])
def keystore(org, env, keystore):
    ks = _keystore_or_404(org, env, keystore)
    if request.method == "DELETE":
        store.delete_keystore(org, env, keystore)
    return jsonify(x_shapes.keystore(ks) if x_mode() else ks)

# ------------------------------------------------------------------ aliases
def _alias_or_404(org, env, keystore, alias):
    _keystore_or_404(org, env, keystore)
    row = store.get_alias_row(org, env, keystore, alias)
    if row is None:
        raise ApiError(404, "keymanagement.service.AliasDoesNotExist",
                       "Alias %s does not exist in keystore %s" % (alias, keystore))
    return row


def _file_field(*names):
    for n in names:
        f = request.files.get(n)
        if f is not None:
            return f.read()
    return None


def _password():
    pw = request.form.get("password")
    if pw is None:
        pw = request.args.get("password")   # deprecated by Edge, still accepted
    return pw or None


def _parse_alias_upload(fmt, alias):
    """(key or None, [certs]) from the multipart upload of one alias."""
    cc = certcore()
    newline_validation = not query_flag("ignoreNewlineValidation", True)
    password = _password()
    if fmt == "keycertfile":
        cert_data = _file_field("certFile")
        if cert_data is None:
            raise bad("certFile is required for format keycertfile", "keymanagement.service.MissingFile")
        certs = load_certs(cert_data, "certFile", newline_validation)
        key_data = _file_field("keyFile")
        key = None
        if key_data is not None:
            if len(key_data) > MAX_CERT_FILE:
                raise bad("keyFile is larger than 50KB", "keymanagement.service.FileSizeExceeded")
            try:
                key = cc.load_private_key(key_data, password, "keyFile")
            except mtls_error() as exc:
                raise bad(getattr(exc, "msg", None) or str(exc), "keymanagement.service.InvalidKey") from None
        return key, certs
    if fmt == "pkcs12":
        data = _file_field("file")
        if data is None:
            raise bad("file is required for format pkcs12", "keymanagement.service.MissingFile")
        try:
            key, cert, extra = cc.load_pkcs12(data, password, "file")
        except mtls_error() as exc:
            raise bad(getattr(exc, "msg", None) or str(exc), "keymanagement.service.InvalidKeystoreFile") \
                from None
        if cert is None:
            raise bad("the PKCS#12 file holds no certificate", "keymanagement.service.InvalidKeystoreFile")
        return key, ordered_chain(cert, list(extra or []))
    if fmt == "keycertjar":
        data = _file_field("file")
        if data is None:
            raise bad("file is required for format keycertjar", "keymanagement.service.MissingFile")
        try:
            jar = zipfile.ZipFile(BytesIO(data))
            props = dict(line.split("=", 1) for line in
                         jar.read("META-INF/descriptor.properties").decode("utf-8").splitlines()
                         if "=" in line)
            cert_data = jar.read(props["certFile"].strip())
            key_data = jar.read(props["keyFile"].strip()) if props.get("keyFile") else None
        except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
            raise bad("the JAR needs META-INF/descriptor.properties naming certFile and keyFile, and both files",
                       "keymanagement.service.InvalidKeystoreFile") from None
        certs = load_certs(cert_data, "certFile", newline_validation)
        key = None
        if key_data is not None:
            try:
                key = cc.load_private_key(key_data, password, "keyFile")
            except mtls_error() as exc:
                raise bad(getattr(exc, "msg", None) or str(exc), "keymanagement.service.InvalidKey") from None
        return key, certs
    raise bad("format %s is not supported: use keycertfile, pkcs12 or keycertjar" % fmt,
               "keymanagement.service.InvalidFormat")


@bp.api_route("/{env}/keystores/<keystore>/aliases", ["GET", "POST"])
def aliases(org, env, keystore):
    _keystore_or_404(org, env, keystore)
    if request.method == "GET":
        return jsonify([r["alias"] for r in store.list_alias_rows(org, env, keystore)])
    fmt = request.args.get("format")
    if not fmt:
        raise bad("format is required (keycertfile, pkcs12 or keycertjar)", "keymanagement.service.InvalidFormat")
    alias = request.args.get("alias")
    if not alias:
        raise bad("alias is required", "keymanagement.service.InvalidAlias")
    if not ALIAS_NAME.match(alias):
        raise bad("Invalid alias name %r" % alias, "keymanagement.service.InvalidAlias")
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Unsupported Content-Type %r: use multipart/form-data" % (request.content_type or ""))
    if store.get_alias_row(org, env, keystore, alias) is not None:
        raise ApiError(409, "keymanagement.service.AliasAlreadyExists",
                       "Alias %s already exists in keystore %s" % (alias, keystore))
    key, certs = _parse_alias_upload(fmt, alias)
    check_expiry(certs, alias, query_flag("ignoreExpiryValidation"))
    if key is not None and not certcore().key_matches_certificate(key, certs[0]):
        raise bad("The private key does not match the certificate of alias %s (the first certificate of the "
                   "chain must be the one issued for this key)" % alias, "keymanagement.service.KeyCertMismatch")
    store.put_alias(org, env, keystore, alias, alias + "-cert", key_pem(key) if key is not None else None,
                    certcore().dump_pem(certs))
    return jsonify(_alias_answer(store.get_alias_row(org, env, keystore, alias))), 201


def _alias_answer(row):
    return x_shapes.alias(alias_json(row)) if x_mode() else alias_json(row)


@bp.api_route("/{env}/keystores/<keystore>/aliases/<alias>", ["GET", "PUT", "DELETE"])
def alias_item(org, env, keystore, alias):
    row = _alias_or_404(org, env, keystore, alias)
    if request.method == "GET":
        return jsonify(_alias_answer(row))
    if request.method == "DELETE":
        body = _alias_answer(row)
        store.delete_alias(org, env, keystore, alias)
        return jsonify(body)
    # PUT: update the certificate (chain) of the alias
    if request.mimetype == "multipart/form-data":
        data = _file_field("file", "certFile")
    elif request.mimetype in ("application/octet-stream", "application/x-pem-file", "text/plain"):
        data = request.get_data()
    else:
        raise ApiError(415, "messaging.config.beans.UnsupportedMediaType",
                       "Unsupported Content-Type %r: use multipart/form-data" % (request.content_type or ""))
    if not data:
        raise bad("a certificate file is required (multipart field file)", "keymanagement.service.MissingFile")
    if x_mode() and "ignoreExpiryValidation" not in request.args:
        # Apigee X / hybrid refuse an alias update that does not say it (APIGEE-FACTS.md)
        raise bad("ignoreExpiryValidation is required to update the certificate of alias %s" % alias)
    certs = load_certs(data, "file", not query_flag("ignoreNewlineValidation", True))
    check_expiry(certs, alias, query_flag("ignoreExpiryValidation"))
    if row["key_pem"]:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(row["key_pem"].encode("ascii"), None)
        if not certcore().key_matches_certificate(key, certs[0]):
            raise bad("The new certificate does not match the private key of alias %s" % alias,
                       "keymanagement.service.KeyCertMismatch")
    store.update_alias_chain(org, env, keystore, alias, certcore().dump_pem(certs))
    return jsonify(_alias_answer(store.get_alias_row(org, env, keystore, alias)))


@bp.api_route("/{env}/keystores/<keystore>/aliases/<alias>/certificate", ["GET"])
def alias_certificate(org, env, keystore, alias):
    row = _alias_or_404(org, env, keystore, alias)
    return Response("".join(split_pem(row["chain_pem"])), mimetype="application/x-pem-file")

# ------------------------------------------------------------------ certs
def _cert_or_404(org, env, keystore, cert_name):
    _keystore_or_404(org, env, keystore)
    row = store.get_alias_by_cert_name(org, env, keystore, cert_name)
    if row is None:
        raise ApiError(404, "keymanagement.service.CertificateDoesNotExist",
                       "Certificate %s does not exist in keystore %s" % (cert_name, keystore))
    return row


@bp.api_route("/{env}/keystores/<keystore>/certs", ["GET", "POST"])
def certs(org, env, keystore):
    _keystore_or_404(org, env, keystore)
    if request.method == "GET":
        return jsonify([r["cert_name"] for r in store.list_alias_rows(org, env, keystore)])
    alias = request.args.get("alias")
    if not alias:
        raise bad("alias is required", "keymanagement.service.InvalidAlias")
    if not ALIAS_NAME.match(alias):
        raise bad("Invalid alias name %r" % alias, "keymanagement.service.InvalidAlias")
    if request.mimetype == "multipart/form-data":
        data = _file_field("file", "certFile")
    else:
        data = request.get_data()
    if not data:
        raise bad("a certificate file is required (multipart field file)", "keymanagement.service.MissingFile")
    if store.get_alias_row(org, env, keystore, alias) is not None or \
            store.get_alias_by_cert_name(org, env, keystore, alias) is not None:
        raise ApiError(409, "keymanagement.service.CertificateAlreadyExists",
                       "Certificate %s already exists in keystore %s" % (alias, keystore))
    certs_ = load_certs(data, "file", not query_flag("ignoreNewlineValidation", True))
    check_expiry(certs_, alias, query_flag("ignoreExpiryValidation"))
    store.put_alias(org, env, keystore, alias, alias, None, certcore().dump_pem(certs_))
    return Response(status=204)


@bp.api_route("/{env}/keystores/<keystore>/certs/<cert_name>", ["GET", "DELETE"])
def cert_item(org, env, keystore, cert_name):
    row = _cert_or_404(org, env, keystore, cert_name)
    body = {"certInfo": cert_infos(row["chain_pem"]), "certName": row["cert_name"]}
    if request.method == "DELETE":
        store.delete_alias(org, env, keystore, row["alias"])
    return jsonify(body)


@bp.api_route("/{env}/keystores/<keystore>/certs/<cert_name>/export", ["GET"])
def cert_export(org, env, keystore, cert_name):
    row = _cert_or_404(org, env, keystore, cert_name)
    return Response("".join(split_pem(row["chain_pem"])), mimetype="application/x-pem-file")

