"""TLS probe of a backend, from wherever it runs (pyOpenSSL, real handshakes).

What it learns, as the MP would see it:
- whether the server asks for a client certificate (a CertificateRequest was read: OpenSSL's handshake state),
- the acceptable client CA names from that request (TLS 1.2 ``certificate_authorities`` list, TLS 1.3 extension),
  in the server's order, as RFC 4514 and OpenSSL one-line strings,
- the server's chain, the protocol and cipher,
- the handshake outcome: completed or not, the TLS alert received (OpenSSL's text and the alert name), and the HTTP
  status when an HTTP request could be sent.

With a client chain and key, a second handshake presents them, but only when the JSSE model (certificate core's
``jsse_select``) says the MP would send them; otherwise the outcome without a certificate is what the MP gets.
"""
from __future__ import annotations

import re
import select
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.mtls.cipher_suites import cipher_plan, no_handshake_reason
from ansible.module_utils.mtls.errors import MtlsError

try:
    from OpenSSL import SSL
    HAS_PYOPENSSL = True
except ImportError:  # pragma: no cover
    SSL = None
    HAS_PYOPENSSL = False

try:  # OpenSSL's message callback, through the binding pyOpenSSL itself loads: handshake messages in clear
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib
    HAS_MSG_CALLBACK = hasattr(_lib, "SSL_CTX_set_msg_callback")
except ImportError:  # pragma: no cover
    _ffi = _lib = None
    HAS_MSG_CALLBACK = False
MSG_CALLBACK = "void(int, int, int, const void *, size_t, SSL *, void *)"
CONTENT_HANDSHAKE = 22
RECORD_VERSIONS = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1"}

CERT_REQUEST_STATES = ("read server certificate request", "TRCR")
POST_HANDSHAKE_WAIT = 0.5
PROTOCOLS = {"TLSv1.2": "TLS1_2_VERSION", "TLSv1.3": "TLS1_3_VERSION", "TLSv1.1": "TLS1_1_VERSION",
             "TLSv1": "TLS1_VERSION"}
_ALERT_RE = re.compile(r"alert ([a-z0-9 _]+?)\s*$", re.I)


def alert_name(text):
    """'sslv3 alert bad certificate' -> 'bad_certificate'; None when the text is not an alert."""
    if not text:
        return None
    m = _ALERT_RE.search(text)
    if not m:
        return None
    return m.group(1).strip().lower().replace(" ", "_")


def _ssl_error_text(exc):
    args = exc.args[0] if exc.args else None
    if isinstance(args, list) and args:
        return "; ".join(str(item[-1]) for item in args if item)
    if isinstance(exc, SSL.SysCallError):
        if exc.args and exc.args[0] == -1:
            return "connection closed by the server (unexpected EOF)"
        return "connection error: %s" % (exc.args[1] if len(exc.args) > 1 else exc)
    if isinstance(exc, SSL.ZeroReturnError):
        return "connection closed by the server (close_notify)"
    return str(exc) or exc.__class__.__name__


# --------------------------------------------------------------------------- one probe
class _Deadline:
    def __init__(self, timeout):
        self.end = time.monotonic() + timeout

    def left(self):
        return max(0.0, self.end - time.monotonic())


def _retry(conn, sock, fn, deadline):
    while True:
        try:
            return fn()
        except SSL.WantReadError:
            if not select.select([sock], [], [], deadline.left())[0]:
                raise TimeoutError("timed out waiting for the server") from None
        except SSL.WantWriteError:
            if not select.select([], [sock], [], deadline.left())[1]:
                raise TimeoutError("timed out writing to the server") from None


def _record_certificate_request(ctx, seen):
    """Keep every CertificateRequest the server sends (bytes and TLS version) in `seen`; returns the callback, which
    the caller keeps alive for as long as the context is used. None when this pyOpenSSL has no message callback."""
    if not HAS_MSG_CALLBACK:
        return None

    def on_message(write_p, version, content_type, buf, length, ssl, arg):
        if write_p or content_type != CONTENT_HANDSHAKE or length < 4:
            return
        data = bytes(_ffi.buffer(buf, length))
        if data[0] == 13:  # CertificateRequest
            seen.append((RECORD_VERSIONS.get(version, "0x%04x" % version), data))

    try:
        callback = _ffi.callback(MSG_CALLBACK)(on_message)
        _lib.SSL_CTX_set_msg_callback(ctx._context, callback)  # pyOpenSSL's SSL_CTX pointer
    except (AttributeError, TypeError):  # a pyOpenSSL whose internals differ: the request is then "not captured"
        return None
    return callback


def _certificate_request(seen):
    """The parsed CertificateRequest (DNs as x509.Name, internal) or None, and why it could not be read."""
    from ansible.module_utils.mtls import certcore, certificate_request

    if not seen:
        return None, None
    version, data = seen[-1]
    try:
        parsed = certificate_request.parse(data, version)
    except MtlsError as exc:
        return None, "the CertificateRequest could not be read: %s" % exc
    parsed["certificate_authorities"] = [certcore.name_from_der(der) for der in parsed["certificate_authorities"]]
    return parsed, None


def _context(tls_versions, chain=None, key=None, ciphers=None):
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    if tls_versions:
        versions = [getattr(SSL, PROTOCOLS[v]) for v in tls_versions]
        ctx.set_min_proto_version(min(versions))
        ctx.set_max_proto_version(max(versions))
    if ciphers:
        _offer_suites(ctx, ciphers)
    if chain:
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
        from OpenSSL import crypto

        ctx.use_certificate(crypto.X509.from_cryptography(chain[0]))
        for extra in chain[1:]:
            ctx.add_extra_chain_cert(crypto.X509.from_cryptography(extra))
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        ctx.use_privatekey(crypto.load_privatekey(crypto.FILETYPE_PEM, pem))
        del pem
    return ctx


def _offer_suites(ctx, ciphers):
    """Offer exactly the suites a JSSE client with SSLInfo <Ciphers> ``ciphers`` offers (cipher_suites.cipher_plan):
    its TLS 1.2 suites by OpenSSL's names, its TLS 1.3 suites; a version left without a suite is not offered."""
    plan = cipher_plan(ciphers)   # probe() refused a list with no suite to offer
    if plan["openssl12"]:
        ctx.set_cipher_list(":".join(plan["openssl12"]).encode())
    else:
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    if _lib.SSL_CTX_set_ciphersuites(ctx._context, ":".join(plan["tls13"]).encode()) != 1:
        raise MtlsError("OpenSSL refused the TLS 1.3 suites %s" % ", ".join(plan["tls13"]))
    if not plan["tls13"]:
        ctx.set_max_proto_version(SSL.TLS1_2_VERSION)


def handshake(host, port, server_name=None, timeout=10.0, tls_versions=None, chain=None, key=None,
              http_request=True, ciphers=None):
    """One real TLS connection. Returns a dict (never raises for network/TLS failures)."""
    out = {"reachable": False, "error": None, "protocol": None, "cipher": None, "client_auth_requested": False,
           "acceptable_ca_names": [], "server_chain": [], "completed": False, "alert": None, "alert_text": None,
           "http_status": None, "client_certificate_presented": bool(chain), "certificate_request": None,
           "certificate_request_error": None, "server_hello_version": None}
    deadline = _Deadline(timeout)
    try:
        sni = server_name.encode("idna") if server_name else None
        sock = socket.create_connection((host, port), timeout=timeout)
    except UnicodeError as exc:  # e.g. a DNS label longer than 63 characters
        out["error"] = "%s is not a valid host name: %s" % (host if not server_name else server_name, exc)
        return out
    except (OSError, ValueError, TypeError) as exc:
        out["error"] = "cannot connect to %s:%s: %s" % (host, port, getattr(exc, "strerror", None) or exc)
        return out
    out["reachable"] = True
    states = []
    try:
        ctx = _context(tls_versions, chain, key, ciphers)
        ctx.set_info_callback(lambda c, where, ret: states.append(c.get_state_string()))
        requests_seen = []
        keep_alive = _record_certificate_request(ctx, requests_seen)  # noqa: F841  (the callback must outlive ctx use)
        sock.setblocking(False)
        conn = SSL.Connection(ctx, sock)
        if sni:
            conn.set_tlsext_host_name(sni)
        conn.set_connect_state()
        failure = None
        try:
            _retry(conn, sock, conn.do_handshake, deadline)
            out["completed"] = True
        except (SSL.Error, TimeoutError) as exc:
            failure = exc
        _collect(conn, out, states)
        if failure is None and out["client_auth_requested"] and out["protocol"] == "TLSv1.3":
            # TLS 1.3: the server judges the client certificate after the client's Finished, so its alert comes
            # after our handshake "completes". Read first, briefly, so the alert is not lost to a reset when the
            # server closes with our request unread.
            failure = _early_alert(conn, sock, min(POST_HANDSHAKE_WAIT, deadline.left()))
            _collect(conn, out, states)
        if failure is None and http_request:
            try:
                request = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: apigee-mtls-doctor\r\nConnection: close\r\n\r\n"
                           % (server_name or host)).encode()
                _retry(conn, sock, lambda: conn.sendall(request), deadline)
                data = b""
                while b"\r\n" not in data and len(data) < 65536:
                    chunk = _retry(conn, sock, lambda: conn.recv(4096), deadline)
                    if not chunk:
                        break
                    data += chunk
                m = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", data)
                if m:
                    out["http_status"] = int(m.group(1))
            except SSL.ZeroReturnError:
                pass
            except (SSL.Error, TimeoutError) as exc:
                failure = exc
            _collect(conn, out, states)
        if failure is not None:
            text = _ssl_error_text(failure) if not isinstance(failure, TimeoutError) else str(failure)
            out["alert_text"] = text
            out["alert"] = alert_name(text)
            if out["alert"] is None:
                out["error"] = text
        try:
            conn.shutdown()
        except (SSL.Error, OSError):
            pass
        out["certificate_request"], out["certificate_request_error"] = _certificate_request(requests_seen)
        if out["client_auth_requested"] and out["certificate_request"] is None and not out["certificate_request_error"]:
            out["certificate_request_error"] = ("the server asked for a client certificate but its CertificateRequest "
                                                "was not captured" if HAS_MSG_CALLBACK else
                                                "this pyOpenSSL has no message callback to read the CertificateRequest")
    finally:
        sock.close()
    return out


def _early_alert(conn, sock, wait):
    """An SSL error (alert) that arrives within `wait` seconds after the handshake, else None."""
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return None
        try:
            conn.recv(1, socket.MSG_PEEK)
            return None
        except SSL.WantReadError:
            continue  # a post-handshake message (session ticket) was processed; keep waiting
        except SSL.ZeroReturnError:
            return None
        except SSL.Error as exc:
            return exc


def _collect(conn, out, states):
    answered = any("read server hello" in (st or b"").decode("ascii", "replace") for st in states)
    if any(any(s in (st or b"").decode("ascii", "replace") for s in CERT_REQUEST_STATES) for st in states):
        out["client_auth_requested"] = True
    names = conn.get_client_ca_list() or []
    if names:
        out["client_auth_requested"] = True
        from ansible.module_utils.mtls import certcore

        out["acceptable_ca_names"] = [certcore.name_from_der(n.der()) for n in names]
    try:
        out["protocol"] = conn.get_protocol_version_name() or out["protocol"]
        out["cipher"] = conn.get_cipher_name() or out["cipher"]
    except SSL.Error:
        pass
    if answered and out["protocol"]:
        out["server_hello_version"] = out["protocol"]
    chain = conn.get_peer_cert_chain(as_cryptography=True)
    if chain:
        out["server_chain"] = list(chain)


# --------------------------------------------------------------------------- the probe as modules return it
def _dn_forms(names):
    from ansible.module_utils.mtls import certcore

    return ([n.rfc4514_string() for n in names], [certcore.dn_openssl(n) for n in names])


def probe(host, port, server_name=None, timeout=10.0, tls_versions=None, client_chain=None, client_key=None,
          attempt_handshake=True, key_manager="SunX509", at=None, ciphers=None):
    """Probe a backend; with client_chain/client_key also predict (JSSE model) and test what the MP would send.
    ciphers: the link's SSLInfo <Ciphers> (Java's names): only the suites a JSSE client offers with it are offered."""
    from ansible.module_utils.mtls import certcore

    if not host or not port:
        raise MtlsError("probe needs a host and a port (got host=%r port=%r)" % (host, port))
    for v in tls_versions or []:
        if v not in PROTOCOLS:
            raise MtlsError("unknown TLS version %r (use one of %s)" % (v, ", ".join(sorted(PROTOCOLS))))
    refused = no_handshake_reason(cipher_plan(ciphers)) if ciphers else None
    if refused:
        raise MtlsError(refused)
    if client_chain and client_key is None and attempt_handshake:
        raise MtlsError("client_chain was given without client_key: a handshake with a certificate needs its key")
    first = handshake(host, port, server_name, timeout, tls_versions, http_request=attempt_handshake,
                      ciphers=ciphers)
    rfc, ossl = _dn_forms(first["acceptable_ca_names"])
    result = {
        "host": host, "port": int(port), "server_name": server_name, "reachable": first["reachable"],
        "error": first["error"],
        "protocol": first["protocol"], "cipher": first["cipher"],
        "server_hello_version": first["server_hello_version"],
        "client_auth_requested": first["client_auth_requested"],
        "acceptable_client_cas": rfc, "acceptable_client_cas_openssl": ossl,
        "acceptable_ca_names": list(first["acceptable_ca_names"]),  # internal (x509.Name), stripped for output
        "server_chain": certcore.chain_summary(first["server_chain"], at) if first["server_chain"] else [],
        "server_certificates": list(first["server_chain"]),  # internal (x509.Certificate, as sent), stripped for output
        "handshake_without_certificate": _outcome(first),
        "certificate_request": _public_request(first["certificate_request"]),
        "certificate_request_error": first["certificate_request_error"],
    }
    if not first["reachable"]:
        result["error"] = first["error"]
        return result
    if client_chain:
        sel = certcore.jsse_select(client_chain, first["acceptable_ca_names"], key_manager=key_manager, at=at)
        result["will_send_client_certificate"] = bool(sel.sent)
        result["matched_issuer"] = _dn_text(sel.matched_issuer)
        result["matched_index"] = sel.matched_index
        result["selection_reason"] = sel.reason
        if attempt_handshake:
            if sel.sent and first["client_auth_requested"]:
                second = handshake(host, port, server_name, timeout, tls_versions, chain=list(client_chain),
                                   key=client_key, ciphers=ciphers)
                result["handshake"] = _outcome(second)
            else:
                result["handshake"] = dict(result["handshake_without_certificate"])
    elif attempt_handshake:
        result["handshake"] = dict(result["handshake_without_certificate"])
    return result


def _public_request(req):
    """The CertificateRequest as the report shows it (CA names as RFC 4514 and OpenSSL one-line strings)."""
    if req is None:
        return None
    rfc, ossl = _dn_forms(req["certificate_authorities"])
    return dict(req, certificate_authorities=rfc, certificate_authorities_openssl=ossl)


def _dn_text(name):
    if name is None:
        return None
    if isinstance(name, str):
        return name
    return name.rfc4514_string()


def _outcome(h):
    ok = bool(h["completed"] and not h["alert"] and (h["http_status"] is None or h["http_status"] < 400))
    return {"ok": ok, "completed": h["completed"], "alert": h["alert"], "alert_text": h["alert_text"],
            "http_status": h["http_status"], "protocol": h["protocol"], "error": h["error"],
            "client_certificate_presented": h["client_certificate_presented"]}


def probe_many(targets, max_workers=8, **common):
    """Probe distinct (host, port, server_name[, tls_version[, ciphers]]) targets concurrently. Returns {target tuple:
    result}; a target with a TLS version is probed with that version only (a tuple of versions: all of them offered in
    one ClientHello, the server picks), one with ciphers (a tuple of Java's names,
    a link's SSLInfo <Ciphers>) offers only those suites (its key keeps both)."""
    keys = []
    seen = set()
    for t in targets:
        key = (t[0], int(t[1]), t[2] if len(t) > 2 else None) + tuple(t[3:5])
        if key not in seen:
            seen.add(key)
            keys.append(key)
    results = {}
    if not keys:
        return results

    def run(key):
        try:
            versions = key[3] if len(key) > 3 else None   # one version, or a tuple: a range offered as JSSE does
            args = dict(common, tls_versions=list(versions) if isinstance(versions, tuple) else [versions]) \
                if versions else dict(common)
            if len(key) > 4 and key[4]:
                args["ciphers"] = list(key[4])
            return key, probe(key[0], key[1], server_name=key[2], **args)
        except MtlsError as exc:
            return key, {"host": key[0], "port": key[1], "server_name": key[2], "reachable": False,
                         "error": getattr(exc, "msg", str(exc))}

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(keys)))) as pool:
        for key, res in pool.map(run, keys):
            results[key] = res
    return results


INTERNAL = ("acceptable_ca_names", "server_certificates")   # x509 objects for the rules, never in a report


def public_probe(p):
    """A probe result without the internal x509 objects."""
    if p is None:
        return None
    return {k: v for k, v in p.items() if k not in INTERNAL}
