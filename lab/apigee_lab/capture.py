"""The lab's packet capture: the MP <-> backend traffic on loopback, as the runbook takes it on a real MP
(``tcpdump -i any -s 0 host <IP> -w <file>``), recorded by Wireshark's dumpcap (Debian's tshark package) into
``<state>/captures/<UTC time>.pcapng`` while ``labctl capture start`` ... ``labctl capture stop`` runs.

Only the backends' ports are captured (a BPF filter), full packets (``-s 0``). Capturing needs root or dumpcap's
capabilities (``dpkg-reconfigure wireshark-common``); when it cannot capture, ``start`` says so and records nothing.
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import time

from . import procs

NAME = "capture"


def capture_dir(state: str) -> str:
    return os.path.join(state, "captures")


def current_file(state: str) -> str | None:
    path = os.path.join(procs.run_dir(state), "capture.file")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip() or None


def bpf_filter(ports: list[int]) -> str:
    return " or ".join("tcp port %d" % p for p in sorted(set(ports)))


def start(state: str, ports: list[int], interface: str = "lo", timeout: float = 10.0) -> str:
    """Start capturing the backends' ports; returns the capture file. Raises RuntimeError in plain words."""
    exe = shutil.which("dumpcap")
    if not exe:
        raise RuntimeError("dumpcap is not installed (Debian: apt-get install tshark); make setup installs it")
    if procs.is_running(state, NAME):
        return current_file(state)
    os.makedirs(capture_dir(state), exist_ok=True)
    path = os.path.join(capture_dir(state), _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + ".pcapng")
    log = os.path.join(state, "logs", "capture.log")
    procs.start(state, NAME, [exe, "-q", "-i", interface, "-s", "0", "-f", bpf_filter(ports), "-w", path],
                log_path=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            break
        if not procs.is_running(state, NAME):
            with open(log, encoding="utf-8", errors="replace") as fh:
                said = fh.read().strip().splitlines()[-1:] or ["no message"]
            procs.stop(state, NAME)
            raise RuntimeError("dumpcap could not capture on %s: %s" % (interface, said[0]))
        time.sleep(0.05)
    time.sleep(0.3)   # dumpcap writes the file header before the capture filter is live
    with open(os.path.join(procs.run_dir(state), "capture.file"), "w", encoding="utf-8") as fh:
        fh.write(path + "\n")
    return path


# dumpcap reads the kernel's capture buffer in blocks, at least every 250 ms (its read timeout, CAP_READ_TIMEOUT);
# stopped at once, it may not have read the last packets yet (the handshake that was just made)
DRAIN_SECONDS = 0.6


def stop(state: str) -> str | None:
    """Stop capturing, once dumpcap has read what the kernel holds for it; returns the file that holds the capture
    (None when nothing was capturing)."""
    path = current_file(state)
    if procs.is_running(state, NAME):
        time.sleep(DRAIN_SECONDS)
    was = procs.stop(state, NAME)
    try:
        os.unlink(os.path.join(procs.run_dir(state), "capture.file"))
    except FileNotFoundError:
        pass
    return path if was else None
