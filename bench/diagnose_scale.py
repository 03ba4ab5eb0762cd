#!/usr/bin/env python3
"""Scale benchmark of the diagnosis: 1,000 target servers over 50 keystores and 20 backends, one call vs naive.

    .venv/bin/python bench/diagnose_scale.py [--links 1000] [--keystores 50] [--backends 20] [--naive-sample 100]
                                             [--latency-ms N] [--playbook] [--repeat 3] [--skip-naive] [--json]

What it does:
1. starts the lab (`lab/labctl up --scenario healthy`) in a temporary state folder on free ports;
2. seeds environment `prod` through the lab's management API, like an operator: 50 keystores (each with one alias:
   leaf + intermediate + key, a fifth of them leaf only), 50 references, 1,000 target servers (client auth on, TLS on)
   spread over 20 real mTLS backends (pyOpenSSL servers on 127.0.0.1 started by this script, requiring a client
   certificate from the benchmark's root CA);
3. runs the diagnosis once for the whole environment (one module call: shared cache, de-duplicated concurrent probes)
   and reports wall time, API requests, distinct resources read, probes, and verdict counts;
4. runs the naive way (what one Ansible task per link would do: a fresh client per link, the link's own reads,
   its own probe) on a sample of links and extrapolates to all links for the ratio. The per-task overhead of
   Ansible itself (forking a module per task) is not included, so the real ratio is larger.
Everything is stopped at the end. MTLS_BENCH_OUTPUT=<folder> keeps each ansible-playbook run's output there.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "lab"))  # apigee_lab (its port layout)
# ansible.module_utils.mtls importable, as on a host: before the imports below need it
importlib.import_module("plugins.filter._path")
import requests  # noqa: E402
from ansible.module_utils.mtls.apigee.client import ApigeeClient  # noqa: E402
from ansible.module_utils.mtls.diagnosis import run_diagnosis  # noqa: E402

from tests.helpers.lab import free_block, lab_ports  # noqa: E402
from tests.helpers.openssl import TlsServer  # noqa: E402
from tests.helpers.pki import make_ca, make_leaf  # noqa: E402


def Backend(server, root):
    """A real mTLS server (OpenSSL via pyOpenSSL) that requires a client certificate issued under `root`."""
    return TlsServer(server, [root])


def labctl(state, *args):
    res = subprocess.run([sys.executable, os.path.join(ROOT, "lab", "labctl"), "--state", state, *args],
                         capture_output=True, text=True, timeout=300, check=False)
    if res.returncode != 0:
        raise SystemExit("labctl %s failed:\n%s\n%s" % (" ".join(args), res.stdout, res.stderr))


def bench_pki():
    """The benchmark's CA, intermediate, MP client leaf and the backends' server certificate (EC P-256)."""
    root = make_ca("CN=Bench Root,O=Bench", key_type="ec")
    inter = make_ca("CN=Bench Intermediate,O=Bench", parent=root, key_type="ec")
    return {"root": root, "inter": inter,
            "leaf": make_leaf("CN=bench-mp-client,O=Bench", issuer=inter, key_type="ec"),
            "server": make_leaf("CN=localhost", issuer=root, key_type="ec", eku=("serverAuth",), san=["localhost"])}


def start_lab(state):
    """The lab (scenario healthy) in `state`; its lab.json with the password."""
    # the lab's whole block of ports, free and below the ephemeral range (a port the kernel hands out to an outgoing
    # connection a moment later would make a backend fail to bind)
    base = free_block(lab_ports())
    labctl(state, "up", "--scenario", "healthy", "--mgmt-port", str(base), "--mp-port", str(base + 1),
           "--backend-port-base", str(base + 2))
    with open(os.path.join(state, "lab.json"), encoding="utf-8") as fh:
        lab = json.load(fh)
    with open(lab["password_file"], encoding="utf-8") as fh:
        lab["password"] = fh.read().strip()
    return lab


def keep_output(name, text):
    """With MTLS_BENCH_OUTPUT=<folder>, one file per ansible-playbook run with its output (e.g. with a task timer)."""
    folder = os.environ.get("MTLS_BENCH_OUTPUT")
    if folder:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "%s-%d.log" % (name, time.time_ns())), "w", encoding="utf-8") as fh:
            fh.write(text)


def run_playbook(state, envs):
    """ansible-playbook playbooks/diagnose.yml on the bench's lab (inventory/lab reads its lab.json) for envs; its
    wall time and the size of the report it wrote."""
    reports = os.path.join(state, "reports-" + "-".join(envs))
    env = dict(os.environ, MTLS_LAB_STATE=state, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    t0 = time.monotonic()
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ROOT, "playbooks", "diagnose.yml"), "-i", os.path.join(ROOT, "inventory", "lab"),
                          "-e", json.dumps({"apigee_envs": envs, "mtls_report_dir": reports})],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    wall = time.monotonic() - t0
    keep_output("diagnose-" + "-".join(envs), res.stdout)
    if res.returncode != 0:
        raise SystemExit("diagnose.yml failed:\n%s" % (res.stdout + res.stderr)[-3000:])
    return wall, os.path.getsize(os.path.join(reports, "mtls-report.json"))


def playbook_figures(state, one_call_s, repeat=1):
    """diagnose.yml on the bench's environment `prod` alone (what the in-process diagnosis covers), and on the lab's
    own 2-link environment `test` (Ansible's fixed cost: start-up, preflight, one module call, the report tasks):
    medians of `repeat` runs, the ratio to the in-process diagnosis, and that ratio once the fixed cost is taken off."""
    walls, fixed = [], []
    size = 0
    for _ in range(repeat):
        wall, size = run_playbook(state, ["prod"])
        walls.append(wall)
        fixed.append(run_playbook(state, ["test"])[0])
    wall, fixed_s = statistics.median(walls), statistics.median(fixed)
    return {"wall_s": round(wall, 2), "runs_s": [round(w, 2) for w in walls], "ratio_to_one_call":
            round(wall / one_call_s, 2), "fixed_s": round(fixed_s, 2), "fixed_runs_s": [round(f, 2) for f in fixed],
            "ratio_without_fixed_cost": round(max(wall - fixed_s, 0.0) / one_call_s, 2), "report_bytes": size}


def keystore_name(k):
    return "benchks%04d" % k


def reference_name(k):
    return "bench-ref-%04d" % k


def seed(lab, env, n_links, n_keystores, backends, pki, leaf_only=lambda k: k % 5 == 4):
    """n_keystores keystores (their alias holds leaf + intermediate + key, or the leaf alone where leaf_only(k)), one
    reference each, n_links target servers: link i uses keystore i % n_keystores, backend i % len(backends)."""
    auth = (lab["username"], lab["password"])
    base = "%s/v1/organizations/%s/environments/%s" % (lab["mgmt_url"], lab["org"], env)
    s = requests.Session()
    s.auth = auth
    key_pem = pki["leaf"].key_pem()
    for k in range(n_keystores):
        ks = keystore_name(k)  # keystore names are alphanumeric only
        s.post(base + "/keystores", json={"name": ks}, timeout=30).raise_for_status()
        chain = pki["leaf"].cert_pem() + (b"" if leaf_only(k) else pki["inter"].cert_pem())
        r = s.post(base + "/keystores/%s/aliases" % ks, params={"alias": "client", "format": "keycertfile"},
                   files={"certFile": ("chain.pem", chain), "keyFile": ("key.pem", key_pem)}, timeout=30)
        r.raise_for_status()
        s.post(base + "/references", json={"name": reference_name(k), "refers": ks, "resourceType": "KeyStore"},
               timeout=30).raise_for_status()
    for i in range(n_links):
        b = backends[i % len(backends)]
        body = {"name": "bench-ts-%04d" % i, "host": "127.0.0.1", "port": b.port, "isEnabled": True,
                "sSLInfo": {"enabled": "true", "clientAuthEnabled": "true",
                            "keyStore": "ref://" + reference_name(i % n_keystores), "keyAlias": "client"}}
        s.post(base + "/targetservers", json=body, timeout=30).raise_for_status()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--links", type=int, default=1000)
    ap.add_argument("--keystores", type=int, default=50)
    ap.add_argument("--backends", type=int, default=20)
    ap.add_argument("--naive-sample", type=int, default=100)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--latency-ms", type=int, default=0,
                    help="added to every management API call by a lab fault rule (a WAN between tool and Apigee)")
    ap.add_argument("--skip-naive", action="store_true", help="only the one-call diagnosis")
    ap.add_argument("--playbook", action="store_true",
                    help="also run ansible-playbook playbooks/diagnose.yml on the same environment, and on the lab's "
                         "2-link one (Ansible's fixed cost)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the in-process diagnosis (and the playbooks) this many times: medians")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    pki = bench_pki()
    state = tempfile.mkdtemp(prefix="mtls-bench-")
    backends = []
    try:
        lab = start_lab(state)
        backends = [Backend(pki["server"], pki["root"]) for _ in range(args.backends)]
        t0 = time.monotonic()
        seed(lab, "prod", args.links, args.keystores, backends, pki)
        seed_s = time.monotonic() - t0

        def client():
            return ApigeeClient(lab["mgmt_url"], lab["org"], username=lab["username"], password=lab["password"])

        if args.latency_ms:
            requests.post(lab["mgmt_url"] + "/_lab/faults", json={"method": "*", "path_regex": "^/v1/",
                                                                 "latency_ms": args.latency_ms, "count": 1000000},
                          timeout=10).raise_for_status()

        runs = []
        for _ in range(max(1, args.repeat)):
            c = client()
            t0 = time.monotonic()
            report = run_diagnosis(c, ["prod"], max_workers=args.workers)
            runs.append(time.monotonic() - t0)
        one_call_s = statistics.median(runs)
        distinct = c.cache_size
        figures = {
            "links": report["summary"]["total"], "by_verdict": {k: v for k, v in
                                                               report["summary"]["by_verdict"].items() if v},
            "one_call": {"wall_s": round(one_call_s, 2), "runs_s": [round(r, 2) for r in runs],
                         "api_requests": c.request_count,
                         "distinct_resources": distinct, "requests_per_resource": round(c.request_count / distinct, 3),
                         "probes": report["stats"]["probes"]},
            "seed_s": round(seed_s, 1), "latency_ms": args.latency_ms, "workers": args.workers,
        }
        if args.playbook:
            figures["playbook"] = playbook_figures(state, one_call_s, max(1, args.repeat))
        if args.skip_naive:
            print(json.dumps(figures, indent=2))
            return

        # naive: one "task" per link, each with its own client, reads and probe
        sample = min(args.naive_sample, args.links)
        t0 = time.monotonic()
        naive_requests = naive_probes = 0
        for i in range(sample):
            nc = client()
            r = run_diagnosis(nc, ["prod"], target_servers=["bench-ts-%04d" % i], scan_env_keystores=False,
                              max_workers=1)
            naive_requests += nc.request_count
            naive_probes += r["stats"]["probes"]
        naive_s = time.monotonic() - t0
        scale = args.links / sample
        figures["naive"] = {"sample_links": sample, "sample_wall_s": round(naive_s, 2),
                            "extrapolated_wall_s": round(naive_s * scale, 1),
                            "extrapolated_api_requests": int(naive_requests * scale),
                            "extrapolated_probes": int(naive_probes * scale)}
        figures["ratio"] = {"wall": round(naive_s * scale / one_call_s, 1),
                            "api_requests": round(naive_requests * scale / c.request_count, 1)}
        figures["targets_met"] = {"under_30s": one_call_s < 30,
                                  "requests_within_1_1x": c.request_count <= 1.1 * distinct}
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            one = figures["one_call"]
            print("diagnosis of %d links (%d keystores, %d backends)" % (figures["links"], args.keystores,
                                                                          args.backends))
            print("  one call : %.2f s, %d API requests for %d distinct resources (%.3f per resource), %d probes"
                  % (one["wall_s"], one["api_requests"], one["distinct_resources"], one["requests_per_resource"],
                     one["probes"]))
            nv = figures["naive"]
            print("  naive    : %.2f s for %d links -> ~%.1f s, ~%d API requests, ~%d probes for all links"
                  % (nv["sample_wall_s"], sample, nv["extrapolated_wall_s"], nv["extrapolated_api_requests"],
                     nv["extrapolated_probes"]))
            print("  ratio    : wall x%.1f, API requests x%.1f" % (figures["ratio"]["wall"],
                                                                  figures["ratio"]["api_requests"]))
            print("  verdicts : %s" % figures["by_verdict"])
            print("  targets  : under 30 s: %s; requests <= 1.1 x distinct resources: %s"
                  % (figures["targets_met"]["under_30s"], figures["targets_met"]["requests_within_1_1x"]))
    finally:
        for b in backends:
            b.close()
        labctl(state, "down")
        subprocess.run(["rm", "-rf", state], check=False)


if __name__ == "__main__":
    main()
