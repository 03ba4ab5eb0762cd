"""The server name a JSSE client sends (SNI) for the host it connects to, and the probe's: both must send the same.

A JSSE 17 client (this machine's JDK; an SSLSocket layered over a connection to 127.0.0.1 with the link's host name, as
the MP opens one to the host of its target) and the probe (server_name = server_trust.jsse_sni(host)) connect to one
OpenSSL server that records the SNI of each ClientHello. No SNI for an IP address or for a name without a dot
(``backend``, ``localhost``: a backend choosing its certificate or its client-auth settings by SNI answers those with
its default), a trailing dot dropped."""
import socket
import subprocess
import threading
import time

import pytest
from ansible.module_utils.mtls.probe import probe
from ansible.module_utils.mtls.server_trust import jsse_sni
from OpenSSL import SSL, crypto

from tests.helpers.pki import make_ca, make_leaf

pytestmark = pytest.mark.interop
HOSTS = ["backend", "backend.svc", "backend.svc.", "orders.ns.svc.cluster.local", "10.0.0.1", "localhost",
         "api.example.org"]

JAVA = r"""
import javax.net.ssl.*; import java.net.*; import java.security.cert.X509Certificate;
public class Sni { public static void main(String[] a) throws Exception {
  TrustManager[] all = { new X509TrustManager() {
    public void checkClientTrusted(X509Certificate[] c, String s) {}
    public void checkServerTrusted(X509Certificate[] c, String s) {}
    public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; } } };
  SSLContext c = SSLContext.getInstance("TLS"); c.init(null, all, null);
  for (int i = 1; i < a.length; i++) {
    Socket raw = new Socket("127.0.0.1", Integer.parseInt(a[0]));
    SSLSocket s = (SSLSocket) c.getSocketFactory().createSocket(raw, a[i], Integer.parseInt(a[0]), true);
    try { s.startHandshake(); } catch (Exception e) { System.out.println("ERR " + a[i] + " " + e); }
    s.close(); } } }
"""


class SniServer:
    """An OpenSSL server recording the SNI of each connection, in order (None: no SNI)."""

    def __init__(self):
        root = make_ca("CN=SNI Root")
        leaf = make_leaf("CN=sni", issuer=root, san=["sni"])
        self.ctx = SSL.Context(SSL.TLS_METHOD)
        self.ctx.use_certificate(crypto.X509.from_cryptography(leaf.cert))
        self.ctx.use_privatekey(leaf.key)
        self.seen = []
        self.ctx.set_tlsext_servername_callback(lambda conn: None)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def wait_for(self, count, seconds=10.0):
        end = time.monotonic() + seconds
        while len(self.seen) < count and time.monotonic() < end:
            time.sleep(0.02)

    def serve(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            conn = SSL.Connection(self.ctx, raw)
            conn.set_accept_state()
            try:
                conn.do_handshake()
            except SSL.Error:
                pass
            name = conn.get_servername()
            self.seen.append(name.decode() if name else None)
            raw.close()


def test_the_probe_sends_the_sni_jsse_sends(tmp_path):
    (tmp_path / "Sni.java").write_text(JAVA)
    subprocess.run(["javac", "-d", str(tmp_path), str(tmp_path / "Sni.java")], check=True, timeout=120)
    srv = SniServer()
    try:
        run = subprocess.run(["java", "-cp", str(tmp_path), "Sni", str(srv.port), *HOSTS], capture_output=True,
                             text=True, timeout=60)
        assert "ERR" not in run.stdout, run.stdout
        srv.wait_for(len(HOSTS))
        jsse = list(srv.seen)
        for host in HOSTS:
            probe("127.0.0.1", srv.port, server_name=jsse_sni(host), timeout=5, attempt_handshake=False)
        srv.wait_for(2 * len(HOSTS))
        ours = srv.seen[len(jsse):]
    finally:
        srv.sock.close()
    assert dict(zip(HOSTS, jsse, strict=True)) == {
        "backend": None, "backend.svc": "backend.svc", "backend.svc.": "backend.svc",
        "orders.ns.svc.cluster.local": "orders.ns.svc.cluster.local", "10.0.0.1": None, "localhost": None,
        "api.example.org": "api.example.org"}
    assert ours == jsse
