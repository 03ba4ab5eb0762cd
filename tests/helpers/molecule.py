"""Running a molecule scenario (molecule/<name>/) from tests: lab up with the scenario -> remediate.yml ->
idempotence -> verify through the lab's Message Processor -> lab down, as `molecule test -s <name>` with the project's
virtualenv, in its own lab state folder and on free ports, so it never touches a lab a developer is running."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from tests.helpers.lab import free_block, lab_ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SCENARIOS = sorted(d for d in os.listdir(os.path.join(ROOT, "molecule"))
                   if os.path.exists(os.path.join(ROOT, "molecule", d, "molecule.yml")))
# the single-scenario runs in two halves (two test files), so that `-n 2 --dist loadfile` can put them on both workers
# the lab's every scenario at once, on Edge (default) and on Apigee X / hybrid (x): each in a test file of its own
ALL_AT_ONCE = ("default", "x")
SINGLE = [s for s in SCENARIOS if s not in ALL_AT_ONCE]
SINGLE_FIRST_HALF, SINGLE_SECOND_HALF = SINGLE[: (len(SINGLE) + 1) // 2], SINGLE[(len(SINGLE) + 1) // 2:]


def run_scenario(scenario: str, tmp_path) -> str:
    """`molecule test -s scenario`; asserts every step succeeded; returns the output."""
    molecule = shutil.which("molecule", path=BIN) or os.path.join(BIN, "molecule")
    base = free_block(lab_ports())
    env = dict(os.environ)
    env.update({
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "MTLS_LAB_STATE": str(tmp_path / "lab"),
        "MTLS_LAB_MGMT_PORT": str(base), "MTLS_LAB_MP_PORT": str(base + 1),
        "MTLS_LAB_BACKEND_PORT_BASE": str(base + 2),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule"),
        "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1", "PY_COLORS": "0", "ANSIBLE_FORCE_COLOR": "0",
    })
    res = subprocess.run([molecule, "test", "-s", scenario], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    for step in ("prepare", "converge", "idempotence", "verify"):
        assert "%s: Executed: Successful" % step in out or "➜ %s: Executed: Successful" % step in out, step
    assert "failed=1" not in out
    assert "CRITICAL" not in out, [line for line in out.splitlines() if "CRITICAL" in line]
    # prerun is off: molecule leaves no copy of this project (it has a galaxy.yml) in the user's collections
    assert not os.path.exists(os.path.expanduser("~/.ansible/collections/ansible_collections/apigee_mtls")), \
        "molecule installed the project into ~/.ansible/collections"
    return out
