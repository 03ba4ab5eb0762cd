"""The packet capture read by tshark, on a capture the lab really recorded (`labctl capture`, tests/data/captures/):
the MP's TLS 1.2 call with an empty keystore (the runbook's Wireshark view), an nginx call in TLS 1.3 (encrypted, no
key log), and a TLS 1.2 client that sends its chain; the MP log records of the same call name the MP's own port."""
import os

import pytest
from ansible.module_utils.mtls.capture import attach_capture_evidence, parse_pdml, read_capture, settle
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.evidence import attach_evidence

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "captures")
CAPTURE = os.path.join(DATA, "lab-missing-client-cert.pcapng")
JSSE, NGINX = 25082, 25084   # the ports of the lab's jsse-a and nginx-a when the capture was taken


@pytest.fixture(scope="module")
def conns():
    return read_capture(CAPTURE, quiet=0)


def _records():
    with open(os.path.join(DATA, "lab-missing-client-cert.system.log"), encoding="utf-8") as fh:
        text = fh.read()
    return [r for r in text.split("\n2026-") if r.strip()]


def test_the_mp_call_shows_the_certificate_request_and_certificate_length_0(conns):
    mp = conns[0]
    assert mp["server"] == "127.0.0.1:%d" % JSSE and mp["version"] == "TLSv1.2"
    req = mp["certificate_request"]
    assert req["distinguished_names"] == ["id-at-commonName=Lab Root CA A,id-at-organizationalUnitName=Apigee mTLS "
                                          "Lab,id-at-organizationName=Example Lab,id-at-countryName=US"]
    assert "RSA Sign (1)" in req["certificate_types"] and "rsa_pkcs1_sha256 (0x0401)" in req["signature_algorithms"]
    assert mp["client_certificate"] == {"certificates_length": 0, "certificates": 0, "sent": False}
    assert mp["alerts"] == [{"from": "server", "level": "Fatal", "description": "Bad Certificate"}]
    # JSSE sends no SNI for a host name without a dot ("localhost")
    assert mp["client_hello"]["sni"] is None


def test_tls13_without_a_key_log_is_said_encrypted_and_nothing_is_guessed(conns):
    nginx = next(c for c in conns if c["server"].endswith(":%d" % NGINX))
    assert nginx["version"] == "TLSv1.3" and nginx["encrypted"] is True
    assert nginx["certificate_request"] is None and nginx["client_certificate"] is None


def test_a_client_that_sends_its_chain(conns):
    sent = conns[2]
    assert sent["client_certificate"]["sent"] is True and sent["client_certificate"]["certificates"] == 2
    assert sent["alerts"] == [] and "client CertificateVerify" in sent["messages"]


def test_the_mp_log_names_the_traced_connection_and_the_capture_agrees(conns):
    records = _records()
    mid = records[0].split("messageid:")[1].split()[0]
    report = {"generated_at": "2020-01-01T00:00:00+00:00", "stats": {"wall_seconds": 1}, "links": [
        {"id": "targetserver:test/ts-missing-cert-jsse", "host": "127.0.0.1", "port": JSSE,
         "verdict": "no_client_certificate", "evidence": {"jsse_selection": {"sent": False},
                                                          "mp_log": {"count": 1}}}]}
    trace = {"targetserver:test/ts-missing-cert-jsse": {
        "message_id": mid, "call": {"started": conns[0]["first_seen"] - 5, "ended": conns[-1]["first_seen"] + 5}}}
    attach_evidence(report, trace, records, [{"file": CAPTURE, "connections": conns}])
    ev = report["links"][0]["evidence"]
    # the window holds all three connections, the MP log's port only the MP's own
    assert [c["client"] for c in ev["capture"]["connections"]] == [conns[0]["client"]]
    assert ev["capture"]["client_certificate_sent"] is False and "contradiction" not in ev["capture"]
    assert "handshakeFailed" in ev["mp_log"]["record"] and len(ev["trace"]["mp_log_records"]) == 3


def test_a_capture_that_shows_a_certificate_contradicts_no_client_certificate(conns):
    row = {"id": "l", "host": "127.0.0.1", "port": JSSE, "verdict": "no_client_certificate",
           "evidence": {"jsse_selection": {"sent": False}}}
    window = {"l": (conns[2]["first_seen"], conns[2]["first_seen"], set())}
    attach_capture_evidence([row], conns, CAPTURE, windows=window)
    assert "sending a certificate" in row["evidence"]["capture"]["contradiction"]


def test_untraced_links_sharing_a_backend_are_not_set_against_the_capture(conns):
    rows = [{"id": n, "host": "127.0.0.1", "port": JSSE, "verdict": "ok", "evidence": {"jsse_selection":
                                                                                       {"sent": True}}}
            for n in ("a", "b")]
    attach_capture_evidence(rows, conns, CAPTURE)
    assert rows[0]["evidence"]["capture"].get("contradiction") is None
    assert "2 links use this backend" in rows[0]["evidence"]["capture"]["note"]
    # alone on the backend and outside the diagnosis run, the capture is set against the verdict, with the caveat
    alone = [dict(rows[0], verdict="ca_mismatch", evidence={"jsse_selection": {"sent": False}})]
    attach_capture_evidence(alone, conns, CAPTURE)
    assert "if that client is the MP" in alone[0]["evidence"]["capture"]["contradiction"]
    # connections during the diagnosis run (its own probes) are left out
    alone[0]["evidence"].pop("capture")
    attach_capture_evidence(alone, conns, CAPTURE, exclude=(conns[0]["first_seen"] - 1, conns[-1]["first_seen"] + 1))
    assert "capture" not in alone[0]["evidence"]


def test_bad_input_is_named():
    with pytest.raises(MtlsError, match="does not exist"):
        read_capture("/nonexistent.pcap")
    with pytest.raises(MtlsError, match="key log file"):
        read_capture(CAPTURE, keylog="/nonexistent.keylog")
    with pytest.raises(MtlsError, match="tshark is not installed"):
        read_capture_without_tshark()
    with pytest.raises(MtlsError, match="PDML"):
        parse_pdml("<pdml><packet>")


def read_capture_without_tshark():
    import shutil
    real = shutil.which
    try:
        shutil.which = lambda name: None
        return read_capture(CAPTURE, quiet=0)
    finally:
        shutil.which = real


def test_a_file_not_meant_as_a_capture_is_refused(tmp_path):
    bad = tmp_path / "notes.pcap"
    bad.write_text("not a capture")
    with pytest.raises(MtlsError, match="tshark could not read"):
        read_capture(str(bad), quiet=0)


def test_settle_waits_for_a_growing_file(tmp_path):
    f = tmp_path / "growing.pcap"
    f.write_bytes(b"x")
    sizes = iter([1, 2, 3, 3, 3, 3, 3, 3, 3, 3])
    now = [0.0]

    def sleep(s):
        now[0] += s
        f.write_bytes(b"x" * next(sizes))

    settle(str(f), quiet=0.5, sleep=sleep, clock=lambda: now[0])
    assert f.stat().st_size == 3 and now[0] >= 0.5
