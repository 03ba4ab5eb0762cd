"""Running the local lab from tests: free loopback ports, `lab/labctl`, and a lab brought up for a test module.

Every test lab gets its own state folder and its own ports, so tests never clash with each other, with parallel
pytest workers, or with a lab a developer is running on the default ports."""
from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABCTL = os.path.join(ROOT, "lab", "labctl")


def lab_ports() -> int:
    """How many consecutive ports a lab takes: management, MP and one per backend (lab/apigee_lab/backends.py)."""
    from apigee_lab import backends

    return 2 + len(backends.LAYOUT)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Below Linux's ephemeral range (32768-60999 by default): a port picked here and bound a moment later by a child
# process cannot be taken in between by some other process's outgoing connection or bind to port 0.
PORT_RANGE = (20000, 32700)


def worker_port_range() -> tuple[int, int]:
    """This pytest worker's share of PORT_RANGE. Each xdist worker picks ports from its own part, so a block one
    worker has chosen but not yet bound (a lab starting up) is never handed to a server the other worker starts
    meanwhile; within a worker tests run one at a time and bound ports are seen as taken."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    span = (PORT_RANGE[1] - PORT_RANGE[0]) // count
    low = PORT_RANGE[0] + (index % count) * span
    return low, low + span


def free_block(count: int = 1) -> int:
    """The first of `count` consecutive free loopback ports, outside the ephemeral range, in this worker's share."""
    low, high = worker_port_range()
    for _ in range(500):
        base = random.randrange(low, high - count)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no block of free ports on 127.0.0.1")


def wait_for_port(port: int, host: str = "127.0.0.1", seconds: float = 5.0) -> None:
    """Until something accepts TCP connections on host:port (a server started as a child process)."""
    import time

    end = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise RuntimeError("nothing listens on %s:%d after %.0f s" % (host, port, seconds)) from None
            time.sleep(0.05)


def run_labctl(state: str, *args: str, check: bool = False, timeout: float = 180) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, LABCTL, "--state", state, *args], capture_output=True, text=True,
                         timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"labctl {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def up_args(scenario: str, base: int, platform: str = "edge") -> list[str]:
    """`labctl up` arguments for a lab on the lab_ports() ports from `base` (management, MP, the backends)."""
    return ["up", "--scenario", scenario, "--mgmt-port", str(base), "--mp-port", str(base + 1),
            "--backend-port-base", str(base + 2), "--platform", platform]


@contextlib.contextmanager
def running_lab(state: str, scenario: str, platform: str = "edge"):
    """A lab with `scenario` in `state` on free ports (its management API as Apigee Edge, or X / hybrid); yields its
    parsed lab.json; always brought down."""
    try:
        run_labctl(state, *up_args(scenario, free_block(lab_ports()), platform), check=True)
        with open(os.path.join(state, "lab.json"), encoding="utf-8") as fh:
            yield json.load(fh)
    finally:
        run_labctl(state, "down", timeout=120)


def point_at_untrusting_truststore(client, state: str, target_server: str = "ts-healthy-jsse", env: str = "test"):
    """Create truststore `clientrootonly` (the lab's client root only, not the backends' server CA) and point the
    target server's TrustStore at it, through the management API of either platform; returns the target server as it
    was before (to put it back) and as it is now."""
    base = "/environments/%s" % env
    client.post(base + "/keystores", json={"name": "clientrootonly"})
    with open(os.path.join(state, "pki", "root-a.pem"), "rb") as fh:
        client.post(base + "/keystores/clientrootonly/aliases", params={"alias": "root-a", "format": "keycertfile"},
                    files={"certFile": ("root-a.pem", fh.read())})
    original = client.get(base + "/targetservers/" + target_server, cache=False)
    changed = json.loads(json.dumps(original))
    changed["sSLInfo"]["trustStore"] = "clientrootonly"
    client.put(base + "/targetservers/" + target_server, json=changed)
    return original, changed


def lab_client(lab: dict, **kw):
    """An ApigeeClient on a running lab (its manifest), with one retry: the lab's user and password on Edge, its
    service account key file on Apigee X / hybrid."""
    from ansible.module_utils.mtls.apigee.client import ApigeeClient

    args = {"mgmt_url": lab["mgmt_url"], "org": lab["org"], "retries": 1}
    if lab.get("platform", "edge") == "edge":
        with open(lab["password_file"], encoding="utf-8") as fh:
            args.update(username=lab["username"], password=fh.read().strip())
    else:
        args.update(platform=lab["platform"], service_account_file=lab["service_account_file"])
    args.update(kw)
    return ApigeeClient(**args)


def is_x(lab: dict) -> bool:
    """Whether the lab's management API is Apigee X / hybrid's (`labctl up --platform x|hybrid`)."""
    return lab.get("platform", "edge") != "edge"


def ts_flag(lab: dict, value: bool):
    """A target server boolean as the lab's platform writes it: Edge's "true"/"false" strings, X's JSON booleans
    (APIGEE-FACTS.md)."""
    return value if is_x(lab) else ("true" if value else "false")


def lab_auth(lab: dict) -> dict:
    """requests' keyword arguments that authenticate to a running lab: Edge's Basic (the lab's user and password), X's
    Bearer token (google-auth, from the lab's service account key)."""
    if lab.get("platform", "edge") == "edge":
        with open(lab["password_file"], encoding="utf-8") as fh:
            return {"auth": (lab["username"], fh.read().strip())}
    from ansible.module_utils.mtls.apigee.google_auth import GoogleCredentials

    return {"headers": {"Authorization": "Bearer %s" % GoogleCredentials(lab["service_account_file"]).token()}}


def snapshot(lab: dict) -> dict:
    """Apigee state (keystores, alias chains, references of every env) and the backend truststore bytes, read through
    the lab's management API in its platform's shapes (an X keystore lists its alias names, Edge's {aliasName})."""
    import hashlib

    import requests

    kw = lab_auth(lab)
    base = "%s/v1/organizations/%s/environments" % (lab["mgmt_url"], lab["org"])

    def get(path):
        r = requests.get(base + path, timeout=10, **kw)
        r.raise_for_status()
        return r.json() if "json" in r.headers.get("Content-Type", "") else r.text

    state = {}
    for env in lab["envs"]:
        for ks in get("/%s/keystores" % env):
            doc = get("/%s/keystores/%s" % (env, ks))
            state["ks:%s/%s" % (env, ks)] = doc
            for alias in doc["aliases"]:
                name = alias if isinstance(alias, str) else alias["aliasName"]
                state["chain:%s/%s/%s" % (env, ks, name)] = get("/%s/keystores/%s/aliases/%s/certificate"
                                                                 % (env, ks, name))
        for ref in get("/%s/references" % env):
            state["ref:%s/%s" % (env, ref)] = get("/%s/references/%s" % (env, ref))
    for b in lab["backends"]:
        with open(b["truststore_path"], "rb") as fh:
            state["file:" + b["name"]] = hashlib.sha256(fh.read()).hexdigest()
    return state


def lab_env(lab: dict, **extra) -> dict:
    """The environment for an ansible-playbook run on `lab` through inventory/lab (which reads $MTLS_LAB_STATE)."""
    return dict(os.environ, MTLS_LAB_STATE=lab["state"], ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                ANSIBLE_NOCOLOR="1", **extra)
