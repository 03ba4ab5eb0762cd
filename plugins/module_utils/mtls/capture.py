"""The runbook's packet capture, read by Wireshark's own dissector: per TLS connection the ClientHello, the server's
CertificateRequest (certificate types, signature algorithms, the Distinguished Names), the client's Certificate and
its length ("Certificate Length: 0" is the runbook's cause) and the alerts with who sent them (``evidence.capture``).

A capture taken as the runbook says (``tcpdump -i any -s 0 host <IP> -w <file>``, pcap or pcapng) is dissected by
``tshark -T pdml`` (Debian's tshark; the XML keeps the labels Wireshark shows, "Distinguished Name: (...)"), and
``parse_pdml`` reads that XML. TLS 1.2 handshakes are in clear; in TLS 1.3 everything after the ServerHello is
encrypted, so a key log file (``SSLKEYLOGFILE`` format) is needed to read it: without one the connection says so and
nothing is guessed. ``cross_check`` sets the capture against what the diagnosis predicts the MP sends.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

from ansible.module_utils.mtls.errors import MtlsError

DISPLAY_FILTER = "tls.handshake or tls.alert_message or tls.app_data"
HANDSHAKE_TYPES = {"1": "ClientHello", "2": "ServerHello", "11": "Certificate", "13": "CertificateRequest",
                   "14": "ServerHelloDone", "15": "CertificateVerify", "16": "ClientKeyExchange", "20": "Finished",
                   "8": "EncryptedExtensions", "4": "NewSessionTicket", "12": "ServerKeyExchange"}
WINDOW_MARGIN = 0.25   # seconds around a traced call (the capture host's clock may differ a little)
VERSIONS = {"0x0304": "TLSv1.3", "0x0303": "TLSv1.2", "0x0302": "TLSv1.1", "0x0301": "TLSv1"}


def run_tshark(path, keylog=None, tshark=None, timeout=120, quiet=1.0) -> str:
    """The PDML dissection of the TLS packets of a capture file (MtlsError in plain words when tshark is missing or
    refuses the file)."""
    if not os.path.isfile(str(path)):
        raise MtlsError("capture file %s does not exist" % path)
    if keylog and not os.path.isfile(str(keylog)):
        raise MtlsError("key log file %s does not exist" % keylog)
    exe = tshark or shutil.which("tshark")
    if not exe:
        raise MtlsError("tshark is not installed on this host (Debian: apt-get install tshark); it reads the capture")
    cmd = [exe, "-n", "-r", str(path), "-Y", DISPLAY_FILTER, "-T", "pdml"]
    if keylog:
        cmd[1:1] = ["-o", "tls.keylog_file:%s" % keylog]
    settle(path, quiet)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MtlsError("tshark did not read %s within %d s" % (path, timeout)) from None
    if proc.returncode != 0 and "</pdml>" in (proc.stdout or "") and "cut short" in (proc.stderr or ""):
        return proc.stdout  # a capture still being written ends in a partial packet: what came before is read
    if proc.returncode != 0:
        raise MtlsError("tshark could not read %s: %s" % (path, (proc.stderr or "").strip().splitlines()[-1:]
                                                         or "exit %d" % proc.returncode))
    return proc.stdout


def settle(path, quiet=1.0, timeout=10.0, sleep=time.sleep, clock=time.monotonic) -> None:
    """Wait until the file has not grown for ``quiet`` seconds (at most ``timeout``): a capture still being written
    gets dumpcap's last buffer (it writes about once a second). ``quiet`` 0 reads at once."""
    if quiet <= 0:
        return
    deadline = clock() + timeout
    size, since = os.path.getsize(path), clock()
    while clock() < deadline:
        sleep(0.2)
        now = os.path.getsize(path)
        if now != size:
            size, since = now, clock()
        elif clock() - since >= quiet:
            return


def _fields(node, name):
    return [f for f in node.iter("field") if f.get("name") == name]


def _first(node, name, attr="show"):
    for f in node.iter("field"):
        if f.get("name") == name:
            return f.get(attr)
    return None


def _showname_value(field):
    text = field.get("showname") or ""
    return text.split(": ", 1)[1] if ": " in text else text


def _handshake(hs, out):
    """One handshake message (a ``tls.handshake`` field) -> (name, details)."""
    code = _first(hs, "tls.handshake.type")
    name = HANDSHAKE_TYPES.get(code or "", "type %s" % code)
    info = {}
    if name == "ClientHello":
        info["sni"] = _first(hs, "tls.handshake.extensions_server_name")
        info["versions"] = [VERSIONS.get(f.get("show"), f.get("show"))
                            for f in _fields(hs, "tls.handshake.extensions.supported_version")]
    elif name == "ServerHello":
        sv = _first(hs, "tls.handshake.extensions.supported_version")
        info["version"] = VERSIONS.get(sv or _first(hs, "tls.handshake.version") or "", sv)
    elif name == "CertificateRequest":
        info["certificate_types"] = [_showname_value(f) for f in _fields(hs, "tls.handshake.cert_type")]
        info["signature_algorithms"] = [_showname_value(f) for f in _fields(hs, "tls.handshake.sig_hash_alg")]
        info["distinguished_names"] = [_showname_value(f).strip("()") for f in _fields(hs, "tls.handshake.dname")]
    elif name == "Certificate":
        length = _first(hs, "tls.handshake.certificates_length")
        info["certificates_length"] = int(length) if length and length.isdigit() else None
        info["certificates"] = len(_fields(hs, "tls.handshake.certificate"))
    return name, info


def parse_pdml(text) -> list[dict]:
    """Per TCP stream with TLS: ``{"stream", "client", "server", "first_seen", "version", "client_hello",
    "certificate_request", "server_certificates", "client_certificate", "alerts", "encrypted"}``."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise MtlsError("tshark's PDML output could not be read: %s" % exc) from None
    conns = {}
    for packet in root.iter("packet"):
        stream = _first(packet, "tcp.stream")
        if stream is None:
            continue
        src = "%s:%s" % (_first(packet, "ip.src") or _first(packet, "ipv6.src"), _first(packet, "tcp.srcport"))
        dst = "%s:%s" % (_first(packet, "ip.dst") or _first(packet, "ipv6.dst"), _first(packet, "tcp.dstport"))
        when = float(_first(packet, "frame.time_epoch") or 0)
        c = conns.setdefault(stream, {"stream": int(stream), "client": None, "server": None, "first_seen": when,
                                      "version": None, "messages": [], "alerts": [], "client_hello": None,
                                      "certificate_request": None, "server_certificates": None,
                                      "client_certificate": None, "app_data": False})
        for proto in packet.iter("proto"):
            if proto.get("name") != "tls":
                continue
            for hs in _fields(proto, "tls.handshake"):
                if _first(hs, "tls.handshake.type") is None:
                    continue
                name, info = _handshake(hs, c)
                if name == "ClientHello":
                    c["client"], c["server"] = src, dst
                    c["client_hello"] = info
                elif name == "ServerHello":
                    c["version"] = info.get("version")
                elif name == "CertificateRequest":
                    c["certificate_request"] = info
                elif name == "Certificate":
                    if c["server"] and src == c["server"]:
                        c["server_certificates"] = info.get("certificates")
                    else:
                        c["client_certificate"] = {"certificates_length": info.get("certificates_length"),
                                                   "certificates": info.get("certificates"),
                                                   "sent": bool(info.get("certificates_length"))}
                c["messages"].append("%s %s" % ("client" if src == c["client"] else "server", name))
            for alert in _fields(proto, "tls.alert_message"):
                desc = _first(alert, "tls.alert_message.desc", "showname")
                level = _first(alert, "tls.alert_message.level", "showname")
                if desc:
                    c["alerts"].append({"from": "client" if src == c["client"] else "server",
                                        "level": (level or "").split(": ", 1)[-1].split(" (")[0],
                                        "description": desc.split(": ", 1)[-1].split(" (")[0]})
            if _fields(proto, "tls.app_data"):
                c["app_data"] = True
    out = []
    for c in sorted(conns.values(), key=lambda x: (x["first_seen"], x["stream"])):
        if c["client"] is None:
            continue  # a stream whose ClientHello was not captured
        c["encrypted"] = (c["version"] == "TLSv1.3" and c["certificate_request"] is None
                          and c["client_certificate"] is None and c["app_data"])
        c.pop("app_data")
        out.append(c)
    return out


def read_capture(path, keylog=None, tshark=None, quiet=1.0) -> list[dict]:
    return parse_pdml(run_tshark(path, keylog=keylog, tshark=tshark, quiet=quiet))


# --------------------------------------------------------------------------- per link

def _port_of(endpoint):
    return int(endpoint.rsplit(":", 1)[1]) if endpoint and endpoint.rsplit(":", 1)[-1].isdigit() else None


def _host_of(endpoint):
    return endpoint.rsplit(":", 1)[0] if endpoint else None


def for_link(connections, row, host_addresses=None, window=None, exclude=None):
    """The connections to the link's backend (its port, and its host or one of the host's addresses).

    With a window (start, end[, client ports]), the traced call's: its client ports (from the MP log) or else its
    time. Without one, those outside ``exclude`` (a list of (start, end): the diagnosis run, whose own probes connect
    without a certificate, and the other links' traced calls). The latest last."""
    if not row.get("host") or row.get("port") is None:
        return []
    names = {str(row["host"]).lower()} | {str(a).lower() for a in (host_addresses or {}).get(row["host"]) or []}
    out = []
    for c in connections:
        if _port_of(c["server"]) != int(row["port"]) or (_host_of(c["server"]) or "").lower() not in names:
            continue
        if window and window[2:] and window[2]:
            if _port_of(c["client"]) not in window[2]:
                continue   # the MP log names the MP's own port of the traced call: only that connection
        elif window and not (window[0] - WINDOW_MARGIN <= c["first_seen"] <= window[1] + WINDOW_MARGIN):
            continue
        if not window and any(lo <= c["first_seen"] <= hi for lo, hi in exclude or ()):
            continue
        out.append(c)
    return out


def cross_check(row, conns, windowed=True, shared=1) -> dict:
    """What the link's connections show about the client certificate, and where that contradicts the diagnosis
    (not decided for untraced connections to a backend that several links share: they cannot be told apart)."""
    readable = [c for c in conns if not c["encrypted"]]
    sent = [c["client_certificate"]["sent"] for c in readable if c.get("client_certificate")]
    shown = None if not sent else any(sent)
    predicted = (row.get("evidence") or {}).get("jsse_selection", {}).get("sent")
    if row.get("verdict") == "client_auth_disabled":
        predicted = False
    out = {"client_certificate_sent": shown, "contradiction": None}
    if not windowed and shared > 1:
        out["note"] = ("%d links use this backend and this one was not traced: its connections cannot be told from "
                       "theirs, so the capture is not set against its verdict" % shared)
        predicted = None
    if shown is not None and predicted is not None and bool(predicted) != shown:
        out["contradiction"] = (
            "the capture shows %s %s, but the diagnosis (%s) predicts the MP %s: the stored chain, the key manager "
            "or the backend differ from what the diagnosis read%s" % (
                "the MP" if windowed else "a client of the backend",
                "sending a certificate" if shown else "sending an empty Certificate (Certificate Length: 0)",
                row.get("verdict"), "sends one" if predicted else "sends none",
                "" if windowed else " (if that client is the MP; trace the link to capture only its call)"))
    if conns and not readable:
        out["note"] = ("TLS 1.3: the CertificateRequest and the client's Certificate are encrypted in this capture; "
                       "give the key log file of the handshake (SSLKEYLOGFILE format) to read them")
    return out


def attach_capture_evidence(rows, connections, file, host_addresses=None, windows=None, exclude=None) -> list:
    """``evidence.capture`` for each row that has connections in the capture (windows: link id -> (start, end),
    the traced call's time, so that other clients' connections are left out; without one, the connections outside
    ``exclude`` (the diagnosis run's own time, whose probes connect without a certificate) and outside the other
    links' traced calls)."""
    windows = windows or {}
    backends = {}
    for row in rows:
        backends.setdefault((str(row.get("host") or "").lower(), row.get("port")), []).append(row.get("id"))
    for row in rows:
        window = windows.get(row.get("id"))
        others = [w[:2] for lid, w in windows.items() if lid != row.get("id")] + ([exclude] if exclude else [])
        conns = for_link(connections, row, host_addresses, window, others)
        if not conns:
            continue
        ev = {"file": file, "connections": conns}
        shared = len(backends.get((str(row.get("host") or "").lower(), row.get("port"))) or [])
        ev.update(cross_check(row, conns, windowed=window is not None, shared=shared))
        if window is None:
            ev.setdefault("note", "the connections to this backend in the capture from any client, outside the "
                                  "diagnosis run (whose probes connect without a certificate); trace the link to keep "
                                  "only the MP's call")
        row.setdefault("evidence", {})["capture"] = {k: v for k, v in ev.items() if v is not None or
                                                     k == "client_certificate_sent"}
    return rows
