"""``POST .../environments/{env}/testssl``: a real TLS handshake from the management server towards a backend with a
keystore/alias and truststore of the environment.
"""
from __future__ import annotations

import socket
import struct

from flask import jsonify

from .common import (
    ApiError,
    Resource,
    bad,
    certcore,
    json_body,
    store,
    truthy,
)

bp = Resource('testssl', __name__)


def testssl_handshake(store, org: str, env: str, body: dict) -> dict:
    """POST .../environments/{env}/testssl: a real TLS handshake (OpenSSL via pyOpenSSL) towards host:port with the
    keystore/alias and truststore of ``targetEndpointConfiguration``, everything in memory.

    Edge documents the request (TestTLS) and only "200 OK" for the answer; the lab answers
    {"host", "port", "success", "protocol", "cipherSuite", "clientCertificateRequested", "acceptableClientCAs",
    "clientCertificateSent", "serverCertificates": [certInfo...], "error"}.
    """
    from cryptography import x509
    from OpenSSL import SSL, crypto

    host = body.get("host")
    if not host or not isinstance(host, str):
        raise bad("host is required")
    try:
        port = int(body.get("port"))
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raise bad("port must be an integer between 1 and 65535") from None
    try:
        timeout = int(body.get("connectionTimeout") or 3000) / 1000.0
    except (TypeError, ValueError):
        raise bad("connectionTimeout must be an integer (milliseconds)") from None
    conf = body.get("targetEndpointConfiguration") or {}
    if not isinstance(conf, dict):
        raise bad("targetEndpointConfiguration must be an object")
    client_auth = truthy(conf.get("clientAuthEnabled"), "clientAuthEnabled")

    def resolve(name, what):
        if not name:
            return None
        if name.startswith("ref://"):
            ref = store.get_reference(org, env, name[6:])
            if ref is None:
                raise ApiError(404, "messaging.config.beans.ResourceReferenceDoesNotExist",
                               "Reference %s does not exist in environment %s" % (name[6:], env))
            name = ref["refers"]
        if store.get_keystore(org, env, name) is None:
            raise ApiError(404, "keymanagement.service.KeystoreDoesNotExist",
                           "%s %s does not exist in environment %s" % (what, name, env))
        return name

    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    protocols = conf.get("protocols") or []
    versions = {"TLSv1": SSL.TLS1_VERSION, "TLSv1.1": SSL.TLS1_1_VERSION, "TLSv1.2": SSL.TLS1_2_VERSION,
                "TLSv1.3": SSL.TLS1_3_VERSION}
    if protocols:
        chosen = [versions[p] for p in protocols if p in versions]
        if not chosen:
            raise bad("protocols: none of %s is supported (TLSv1.2, TLSv1.3, ...)" % ", ".join(protocols))
        ctx.set_min_proto_version(min(chosen))
        ctx.set_max_proto_version(max(chosen))
    if conf.get("ciphers"):
        try:
            ctx.set_cipher_list(":".join(conf["ciphers"]).encode())
        except SSL.Error:
            raise bad("ciphers: none of the listed ciphers is available") from None
    keystore = resolve(conf.get("keyStore"), "Keystore")
    sent_possible = False
    if client_auth and keystore:
        alias = conf.get("keyAlias")
        rows = store.list_alias_rows(org, env, keystore)
        row = next((r for r in rows if r["alias"] == alias), None) if alias else (rows[0] if rows else None)
        if alias and row is None:
            raise ApiError(404, "keymanagement.service.AliasDoesNotExist",
                           "Alias %s does not exist in keystore %s" % (alias, keystore))
        if row is not None and row["key_pem"]:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            chain = x509.load_pem_x509_certificates(row["chain_pem"].encode("ascii"))
            ctx.use_privatekey(crypto.PKey.from_cryptography_key(
                load_pem_private_key(row["key_pem"].encode("ascii"), None)))
            ctx.use_certificate(crypto.X509.from_cryptography(chain[0]))
            for extra in chain[1:]:
                ctx.add_extra_chain_cert(crypto.X509.from_cryptography(extra))
            sent_possible = True
    truststore = resolve(conf.get("trustStore"), "Truststore")
    if truststore:
        cert_store = ctx.get_cert_store()
        for pem in store.list_truststore_certs_pem(org, env, truststore):
            cert_store.add_cert(crypto.X509.from_cryptography(x509.load_pem_x509_certificate(pem.encode())))
        ctx.set_verify(SSL.VERIFY_PEER, lambda *args: args[-1])
    else:
        ctx.set_verify(SSL.VERIFY_NONE, lambda *args: True)

    out = {"host": host, "port": port, "success": False, "protocol": None, "cipherSuite": None,
           "clientCertificateRequested": None, "acceptableClientCAs": [], "clientCertificateSent": False,
           "serverCertificates": [], "error": None}
    sock = None
    conn = None
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
        # pyOpenSSL needs a blocking socket: keep the time limit with SO_RCVTIMEO/SO_SNDTIMEO instead
        sock.settimeout(None)
        limit = struct.pack("ll", int(timeout), int((timeout % 1) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        conn = SSL.Connection(ctx, sock)
        conn.set_tlsext_host_name(host.encode("idna"))
        conn.set_connect_state()
        try:
            conn.do_handshake()
            # TLS 1.3: a server that rejects the client certificate says so after the client's Finished.
            conn.sendall(b"HEAD / HTTP/1.0\r\nHost: " + host.encode("idna") + b"\r\n\r\n")
            try:
                conn.recv(1)
            except SSL.ZeroReturnError:
                pass
            out["success"] = True
        except SSL.Error as exc:
            out["error"] = _ssl_error_text(exc)
        except OSError as exc:
            out["error"] = "connection error after the handshake: %s" % exc
        cas = conn.get_client_ca_list()
        out["acceptableClientCAs"] = [", ".join("%s=%s" % (k.decode(), v.decode("utf-8", "replace"))
                                                for k, v in reversed(n.get_components())) for n in cas or []]
        out["clientCertificateRequested"] = bool(cas) or None
        out["clientCertificateSent"] = bool(sent_possible and conn.get_certificate() is not None and out["success"])
        out["protocol"] = conn.get_protocol_version_name() if conn.get_cipher_name() else None
        out["cipherSuite"] = conn.get_cipher_name()
        chain = conn.get_peer_cert_chain(as_cryptography=True) or []
        out["serverCertificates"] = [certcore().cert_info(c) for c in chain]
    except OSError as exc:
        out["error"] = "cannot connect to %s:%d: %s" % (host, port, exc.strerror or exc)
    finally:
        if conn is not None:
            try:
                conn.shutdown()
            except (SSL.Error, OSError):
                pass
        if sock is not None:
            sock.close()
    return out


def _ssl_error_text(exc) -> str:
    parts = []
    for item in exc.args[0] if exc.args and isinstance(exc.args[0], list) else []:
        if isinstance(item, tuple) and len(item) == 3:
            parts.append(str(item[2]))
    return "; ".join(parts) or str(exc) or exc.__class__.__name__



@bp.api_route("/{env}/testssl", ["POST"])
def testssl(org, env):
    return jsonify(testssl_handshake(store, org, env, json_body()))


