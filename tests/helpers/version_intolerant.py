"""A TCP relay in front of a real TLS server that drops a ClientHello offering TLS 1.3 alone: it closes the connection
without a word (no alert), as a middlebox or an old TLS stack may. Every other ClientHello, and all that follows it,
is relayed byte for byte to the server behind it, which does the whole handshake itself.

Used to check what the diagnosis does when a probe pinned to the highest version is dropped while the MP, which offers
its versions in one ClientHello, gets an answer."""
from __future__ import annotations

import socket
import struct
import threading

SUPPORTED_VERSIONS = 0x002B


def offered_versions(hello: bytes) -> list[int] | None:
    """The versions of a ClientHello's supported_versions extension (None without one), from its first TLS record."""
    if len(hello) < 5 or hello[0] != 22:
        return None
    body = hello[5:]
    if not body or body[0] != 1:
        return None
    i = 4 + 2 + 32                       # handshake header, legacy_version, random
    i += 1 + body[i]                     # session id
    i += 2 + struct.unpack(">H", body[i:i + 2])[0]   # cipher suites
    i += 1 + body[i]                     # compression methods
    end = i + 2 + struct.unpack(">H", body[i:i + 2])[0]
    i += 2
    while i + 4 <= end:
        kind, size = struct.unpack(">HH", body[i:i + 4])
        data = body[i + 4:i + 4 + size]
        if kind == SUPPORTED_VERSIONS:
            return [struct.unpack(">H", data[1 + j:3 + j])[0] for j in range(0, data[0], 2)]
        i += 4 + size
    return None


def _read_record(conn: socket.socket) -> bytes:
    head = b""
    while len(head) < 5:
        chunk = conn.recv(5 - len(head))
        if not chunk:
            return head
        head += chunk
    size = struct.unpack(">H", head[3:5])[0]
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            break
        body += chunk
    return head + body


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class DropsTls13OnlyHello:
    """`with DropsTls13OnlyHello(upstream_port) as relay:` listens on 127.0.0.1:relay.port; `relay.dropped` counts the
    ClientHellos it dropped."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.dropped = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self.port = self._sock.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        hello = _read_record(conn)
        if offered_versions(hello) == [0x0304]:
            self.dropped += 1
            conn.close()
            return
        up = socket.create_connection(self.upstream, timeout=10)
        up.sendall(hello)
        threading.Thread(target=_pipe, args=(up, conn), daemon=True).start()
        _pipe(conn, up)

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
