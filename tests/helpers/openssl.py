"""Real `openssl s_server` backends for interop tests: one process per server on a free loopback port, requiring a
client certificate (-Verify 1), written to discard its output; the caller stops it with stop()."""
from __future__ import annotations

import subprocess

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
