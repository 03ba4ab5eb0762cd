#!/usr/bin/env python3
"""Scale benchmark of the remediation: 1,000 target servers, 100 of them on a keystore that lacks its intermediate.

    .venv/bin/python bench/remediate_scale.py [--links 1000] [--broken-every 10] [--backends 20] [--playbook]

What it does (in-process, the functions the modules run; Ansible's own overhead for the one module run of each step
is not included):
1. starts the lab (scenario healthy) on a port block below the ephemeral range, and seeds environment `prod` like an
   operator: one keystore and one reference per target server (the alias holds leaf + intermediate + key, or the
   leaf alone for every `--broken-every`-th one), 1,000 target servers over 20 real mTLS backends;
2. diagnoses, plans (remediation.plan_remediation, with the complete chain as the material of each broken keystore)
   and applies every keystore item in one run with one client (apigee_stores.sync_aliases: rotation through the
   references), then diagnoses again: wall time, API requests, distinct resources read, writes (from the emulator's
   request journal), and the verdict counts before and after;
3. runs the same again (the no-op rerun: nothing to change, no write).
With --playbook, steps 2 and 3 are `ansible-playbook playbooks/remediate.yml` (inventory/lab on the bench's lab, the
materials as mtls_keystore_material), with its API requests and writes read from the emulator's journal.
Prints JSON. Everything is stopped at the end. MTLS_BENCH_OUTPUT=<folder> keeps each ansible-playbook run's output
there (with ANSIBLE_CALLBACKS_ENABLED, e.g. a per-task timer).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diagnose_scale as ds  # noqa: E402  (its path set-up makes ansible.module_utils.mtls importable)
import requests  # noqa: E402
from ansible.module_utils.mtls.alias_chain import desired_chain_of, item_options  # noqa: E402
from ansible.module_utils.mtls.apigee.client import ApigeeClient  # noqa: E402
from ansible.module_utils.mtls.apigee_stores import sync_aliases  # noqa: E402
from ansible.module_utils.mtls.diagnosis import run_diagnosis  # noqa: E402
from ansible.module_utils.mtls.material import read_material  # noqa: E402
from ansible.module_utils.mtls.remediation import plan_remediation, with_material  # noqa: E402

WRITES = ("POST", "PUT", "DELETE")


def journal(lab):
    return requests.get(lab["mgmt_url"] + "/_lab/requests", params={"journal": "1"}, timeout=30).json()


def one_pass(lab, materials, workers):
    """diagnose -> plan -> apply (one client for the whole fix) -> diagnose: the figures of one remediation run."""
    def client():
        return ApigeeClient(lab["mgmt_url"], lab["org"], username=lab["username"], password=lab["password"])

    before_journal = len(journal(lab))
    t0 = time.monotonic()
    c1 = client()
    before = run_diagnosis(c1, ["prod"], max_workers=workers)
    plan = plan_remediation(before, materials, [])
    items = [item_options(i) for i in with_material(plan["keystore_items"], materials)]
    desired = [desired_chain_of(i, read_material) for i in items]
    c2 = client()
    t_fix = time.monotonic()
    applied = sync_aliases(c2, items, desired) if items else {"results": []}
    fix_s = time.monotonic() - t_fix
    c3 = client()
    after = run_diagnosis(c3, ["prod"], max_workers=workers)
    wall = time.monotonic() - t0
    entries = journal(lab)[before_journal:]
    requests_made = c1.request_count + c2.request_count + c3.request_count
    distinct = c1.cache_size + c2.cache_size + c3.cache_size
    writes = sum(1 for e in entries if e["method"] in WRITES)
    return {
        "wall_s": round(wall, 2), "fix_s": round(fix_s, 2), "items": len(items),
        "changed_items": sum(1 for r in applied["results"] if r.get("changed")),
        "api_requests": requests_made, "fix_api_requests": c2.request_count,
        "distinct_resources_read": distinct, "writes": writes,
        "requests_per_resource_plus_writes": round(requests_made / max(1, distinct + writes), 2),
        "before": {k: v for k, v in before["summary"]["by_verdict"].items() if v},
        "after": {k: v for k, v in after["summary"]["by_verdict"].items() if v},
    }


def playbook_pass(lab, state, materials, check=False):
    """ansible-playbook playbooks/remediate.yml on the bench's environment `prod` with the materials declared as
    inventory (mtls_keystore_material): wall time, API requests and writes from the emulator's journal, the changed
    count of the play recap."""
    varfile = os.path.join(state, "bench-vars.json")
    with open(varfile, "w", encoding="utf-8") as fh:
        # the lab inventory verifies the lab's own links (env test); the bench's target servers carry no proxy
        json.dump({"apigee_envs": ["prod"], "mtls_keystore_material": materials, "mtls_trace": False,
                   "mtls_verify_urls": [], "mtls_report_dir": os.path.join(state, "reports-remediate")}, fh)
    env = dict(os.environ, MTLS_LAB_STATE=state, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(ds.ROOT, "ansible.cfg"))
    before_journal = len(journal(lab))
    t0 = time.monotonic()
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          os.path.join(ds.ROOT, "playbooks", "remediate.yml"), "-i",
                          os.path.join(ds.ROOT, "inventory", "lab"), "-e", "@" + varfile] + (["--check"] if check
                                                                                              else []),
                         cwd=ds.ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.monotonic() - t0
    ds.keep_output("remediate", res.stdout)
    if res.returncode != 0:
        failed = [line for line in res.stdout.splitlines() if line.startswith(("fatal:", "failed:", "TASK ["))]
        raise SystemExit("remediate.yml failed (%d):\n%s\n%s" % (res.returncode, "\n".join(failed[-6:]),
                                                                 res.stdout[-3000:]))
    entries = journal(lab)[before_journal:]
    recap = [line for line in res.stdout.splitlines() if "lab-apigee" in line and "changed=" in line]
    changed = int(recap[-1].split("changed=")[1].split()[0]) if recap else None
    return {"wall_s": round(wall, 2), "api_requests": len(entries),
            "writes": sum(1 for e in entries if e["method"] in WRITES), "changed": changed}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--links", type=int, default=1000)
    ap.add_argument("--broken-every", type=int, default=10)
    ap.add_argument("--backends", type=int, default=20)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--playbook", action="store_true",
                    help="remediate.yml through ansible-playbook instead of in-process (then its no-op rerun)")
    args = ap.parse_args()

    pki = ds.bench_pki()
    state = tempfile.mkdtemp(prefix="mtls-bench-remediate-")
    backends = []
    try:
        lab = ds.start_lab(state)
        backends = [ds.Backend(pki["server"], pki["root"]) for _ in range(args.backends)]
        ds.seed(lab, "prod", args.links, args.links, backends, pki, leaf_only=lambda k: k % args.broken_every == 0)
        folder = os.path.join(state, "material")
        os.makedirs(folder, mode=0o700)
        chain, key = os.path.join(folder, "chain.pem"), os.path.join(folder, "key.pem")
        with open(chain, "wb") as fh:
            fh.write(pki["leaf"].cert_pem() + pki["inter"].cert_pem())
        with open(key, "wb") as fh:
            fh.write(pki["leaf"].key_pem())
        os.chmod(key, 0o600)
        materials = [{"env": "prod", "reference": ds.reference_name(k), "alias": "client", "cert_chain": chain,
                      "private_key": key} for k in range(0, args.links, args.broken_every)]
        if args.playbook:
            first = playbook_pass(lab, state, materials)
            after = run_diagnosis(ApigeeClient(lab["mgmt_url"], lab["org"], username=lab["username"],
                                               password=lab["password"]), ["prod"], max_workers=args.workers)
            first["after"] = {k: v for k, v in after["summary"]["by_verdict"].items() if v}
            rerun = playbook_pass(lab, state, materials)
        else:
            first = one_pass(lab, materials, args.workers)
            rerun = one_pass(lab, materials, args.workers)
        print(json.dumps({"links": args.links, "broken": len(materials), "remediation": first, "no_op_rerun": rerun},
                         indent=2))
    finally:
        for b in backends:
            b.close()
        ds.labctl(state, "down")
        subprocess.run(["rm", "-rf", state], check=False)


if __name__ == "__main__":
    main()
