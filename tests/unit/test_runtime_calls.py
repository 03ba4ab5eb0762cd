"""Calls through the runtime, all at once: each answer's status in the order asked, or why there was none."""
import http.server
import socket
import threading

import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.runtime_calls import call_all


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            code = int(self.path.strip("/") or 200)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_answer_in_the_order_asked_and_no_answer_says_why(server):
    dead = "http://127.0.0.1:%d/x" % closed_port()
    urls = [server + "/503", server + "/200", dead, server + "/400"] * 3
    got = call_all(urls, timeout=5, workers=4)
    assert [g["url"] for g in got] == urls
    assert [g["status"] for g in got] == [503, 200, None, 400] * 3
    assert "ConnectionError" in got[2]["error"] and got[1]["error"] is None
    assert call_all([]) == []
    with pytest.raises(MtlsError, match="needs an http"):
        call_all(["ftp://x/"])
