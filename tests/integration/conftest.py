"""Integration fixtures: the local lab, brought up once per test session with scenario `all`.

`lab` starts `lab/labctl up --scenario all` in a temporary state folder on free ports (so it never clashes with a lab a
developer is running), exports MTLS_LAB_STATE so `inventory/lab/` reads that lab's manifest, yields the parsed lab.json
and brings everything down at the end. `labctl` runs further labctl commands (reset, reload-backend...) on that lab.
"""
import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABCTL = os.path.join(ROOT, "lab", "labctl")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count < 65000 and all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports on 127.0.0.1")


def run_labctl(state: str, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, LABCTL, "--state", state, *args], capture_output=True, text=True,
                         timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"labctl {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture(scope="session")
def lab_state(tmp_path_factory):
    return str(tmp_path_factory.mktemp("mtls-lab"))


@pytest.fixture(scope="session")
def lab(lab_state):
    """The running lab (scenario `all`): the parsed lab.json."""
    mgmt, mp = free_ports(1), free_ports(1)
    while mp == mgmt:
        mp = free_ports(1)
    base = free_ports(4)
    while mgmt in range(base, base + 4) or mp in range(base, base + 4):
        base = free_ports(4)
    previous = os.environ.get("MTLS_LAB_STATE")
    try:
        run_labctl(lab_state, "up", "--scenario", "all", "--mgmt-port", str(mgmt), "--mp-port", str(mp),
                   "--backend-port-base", str(base))
        os.environ["MTLS_LAB_STATE"] = lab_state
        with open(os.path.join(lab_state, "lab.json"), encoding="utf-8") as fh:
            yield json.load(fh)
    finally:
        run_labctl(lab_state, "down", check=False)
        if previous is None:
            os.environ.pop("MTLS_LAB_STATE", None)
        else:
            os.environ["MTLS_LAB_STATE"] = previous


@pytest.fixture(scope="module", autouse=True)
def _lab_pristine_per_module(request):
    """Test modules share one lab; a module that changes it (converges modules on its keystores, rewrites a backend
    truststore) declares `MUTATES_LAB = True` and the lab is reset to its scenario after that module, so later modules
    see the scenario's broken links as declared, whatever order pytest runs them in."""
    yield
    if getattr(request.module, "MUTATES_LAB", False):
        request.getfixturevalue("lab")
        run_labctl(request.getfixturevalue("lab_state"), "reset")


@pytest.fixture(scope="session")
def labctl(lab, lab_state):
    """Run a labctl command against the session's lab: labctl("reset"), labctl("reload-backend", "nginx-b")."""
    def _run(*args: str, check: bool = True):
        return run_labctl(lab_state, *args, check=check)
    return _run
