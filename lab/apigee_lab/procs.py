"""Process and pid-file management for the lab: every long-running process is tracked by a pid file under <state>/run/.

A process is started in its own session (so its children share its process group and die with it) with stdout/stderr
sent to a log file; `stop` signals the whole group, waits, and escalates to SIGKILL.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time


class LabProcessError(RuntimeError):
    """A lab process could not be started or did not come up."""


def run_dir(state: str) -> str:
    path = os.path.join(state, "run")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def pid_file(state: str, name: str) -> str:
    return os.path.join(run_dir(state), f"{name}.pid")


def read_pid(state: str, name: str) -> int | None:
    try:
        with open(pid_file(state, name), encoding="ascii") as fh:
            return int(fh.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def is_running(state: str, name: str) -> bool:
    return pid_alive(read_pid(state, name))


def start(state: str, name: str, argv: list[str], *, cwd: str | None = None, env: dict | None = None,
          log_path: str | None = None) -> int:
    """Start argv detached in a new session, record its pid in <state>/run/<name>.pid and return the pid."""
    if log_path is None:
        log_dir = os.path.join(state, "logs")
        os.makedirs(log_dir, exist_ok=True)
        log_path = os.path.join(log_dir, f"{name}.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)
    path = pid_file(state, name)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(f"{proc.pid}\n")
    os.replace(tmp, path)
    return proc.pid


def stop(state: str, name: str, timeout: float = 5.0) -> bool:
    """Stop the process (and its process group) recorded for name; True when something was running."""
    pid = read_pid(state, name)
    was_alive = pid_alive(pid)
    if pid and was_alive:
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pid):
            _reap(pid)
            time.sleep(0.05)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and _group_alive(pid):
                _reap(pid)
                time.sleep(0.05)
        _reap(pid)
    try:
        os.unlink(pid_file(state, name))
    except FileNotFoundError:
        pass
    return was_alive


def group_members(pgid: int) -> list[int]:
    """Pids (not zombies) whose process group is pgid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry))
    return out


def _group_alive(pgid: int) -> bool:
    return pid_alive(pgid) or bool(group_members(pgid))


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def wait_port(port: int, *, pid: int | None = None, timeout: float = 30.0, what: str = "process",
              log_path: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not pid_alive(pid):
            break
        if port_open(port):
            time.sleep(0.05)  # the port must be ours: the process is still alive once it listens
            if pid is None or pid_alive(pid):
                return
            break
        time.sleep(0.1)
    tail = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            tail = fh.read()[-2000:]
    more = f"; log tail:\n{tail}" if tail else ""
    raise LabProcessError(f"{what} did not start listening on 127.0.0.1:{port}{more}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
