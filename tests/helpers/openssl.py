"""Real OpenSSL servers for interop tests: `openssl s_server` processes (one per server on a free loopback port,
requiring a client certificate with -Verify 1, output discarded; stop() ends them) and TlsServer, an in-process
pyOpenSSL server with libssl's own certificate verification."""
from __future__ import annotations

import socket
import subprocess
import threading

from OpenSSL import SSL, crypto
from OpenSSL._util import lib as _lib

from tests.helpers.lab import free_block, wait_for_port

VERSION_FLAGS = {"TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}


def server_files(folder, ca_name: str):
    """(cert path, key path, the CA) of a fresh "localhost" server certificate issued by a new CA, written to folder
    (a pathlib.Path) as server.pem and server.key."""
    from tests.helpers.pki import make_ca, make_leaf

    ca = make_ca(ca_name)
    server = make_leaf("CN=localhost", issuer=ca, eku=("serverAuth",), san=["localhost"])
    (folder / "server.pem").write_bytes(server.cert_pem())
    (folder / "server.key").write_bytes(server.key_pem())
    return str(folder / "server.pem"), str(folder / "server.key"), ca


def start_s_server(cert: str, key: str, *flags: str, version: str | None = None) -> tuple[subprocess.Popen, int]:
    """(process, port) of an `openssl s_server -quiet -Verify 1` with the server certificate and key files, pinned to
    one TLS version when given, plus any further flags (-client_sigalgs ..., -CAfile ...); returns once it listens."""
    port = free_block(1)
    argv = ["openssl", "s_server", "-accept", str(port), "-cert", cert, "-key", key, "-Verify", "1", "-quiet"]
    argv += [VERSION_FLAGS[version]] if version else []
    proc = subprocess.Popen(argv + list(flags), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
    except RuntimeError:
        stop(proc)
        raise
    return proc, port


def stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        p.kill()
        p.wait()


class TlsServer:
    """An in-process OpenSSL server (pyOpenSSL, libssl's own verification) on 127.0.0.1 that requires a client
    certificate issued under one of the trusted CAs (also named in its CertificateRequest) and answers HTTP 200 when
    the handshake completes; one TLS version, or any when version is None; ``chain``: the certificates it sends after
    its own; ``ciphers`` / ``tls13_suites``: the only suites it accepts (TLS 1.2 by OpenSSL's names, TLS 1.3).
    Each connection is served in its own
    thread (the benches probe many at once)."""

    def __init__(self, server, trusted, version=None, require=True, chain=(), ciphers=None, tls13_suites=None):
        ctx = SSL.Context(SSL.TLS_METHOD)
        if version is not None:
            ctx.set_min_proto_version(version)
            ctx.set_max_proto_version(version)
        if ciphers is not None:   # the TLS 1.2 suites it accepts, by OpenSSL's names
            ctx.set_cipher_list(":".join(ciphers).encode())
        if tls13_suites is not None:   # the TLS 1.3 suites it accepts
            assert _lib.SSL_CTX_set_ciphersuites(ctx._context, ":".join(tls13_suites).encode()) == 1
        ctx.use_certificate(crypto.X509.from_cryptography(server.cert))
        ctx.use_privatekey(server.key)
        for extra in chain:   # the certificates the server sends after its own, in this order
            ctx.add_extra_chain_cert(extra.cert)
        store = ctx.get_cert_store()
        for ca in trusted:
            store.add_cert(crypto.X509.from_cryptography(ca.cert))
        if require:
            ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *a: a[-1] == 1)
            for ca in trusted:
                ctx.add_client_ca(crypto.X509.from_cryptography(ca.cert))
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.handle, args=(raw,), daemon=True).start()

    def handle(self, raw):
        raw.settimeout(None)  # pyOpenSSL needs a blocking socket
        conn = SSL.Connection(self.ctx, raw)
        conn.set_accept_state()
        try:
            conn.do_handshake()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.shutdown()
        except (SSL.Error, OSError):
            pass
        finally:
            raw.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()
