#!/usr/bin/env bash
# The main job on the local lab: reproduce every failure, diagnose, remediate, verify.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
start=$(date +%s)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/5 Start the local Apigee lab with every broken scenario (lab/labctl up --scenario all)"
python lab/labctl down >/dev/null 2>&1 || true
python lab/labctl up --scenario all >/dev/null
# a lab started again keeps its state (an earlier demo's fixes): reseed it, so every failure is there to see
python lab/labctl reset --scenario all

step "2/5 Reproduce the symptom through the Message Processor runtime"
python - <<'PY'
import json, os, urllib.request, urllib.error
lab = json.load(open(os.environ.get("MTLS_LAB_STATE", "lab/.state") + "/lab.json"))
for link in lab["links"]:
    url = lab["mp_url"].rstrip("/") + link["basepath"]
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            status, body = r.status, r.read(200)
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(200)
    print(f"  {status}  {url:45s} {link['id']:55s} {body.decode(errors='replace')[:70]}")
PY
log="${MTLS_LAB_STATE:-lab/.state}/logs/mp/system.log"
[ -f "$log" ] && { echo "  MP system.log (the last three handshake failures):"; grep "handshake failed" "$log" | tail -n 3 | cut -c1-230 | sed 's/^/    /'; }

step "3/5 Diagnose every southbound TLS link (playbooks/diagnose.yml)"
ansible-playbook -i inventory/lab playbooks/diagnose.yml
[ -f reports/mtls-report.md ] && sed -n '1,40p' reports/mtls-report.md

step "4/5 Remediate and verify (playbooks/remediate.yml)"
ansible-playbook -i inventory/lab playbooks/remediate.yml

step "5/5 Diagnose again, failing if any link is still broken"
ansible-playbook -i inventory/lab playbooks/diagnose.yml -e mtls_fail_on_broken=true
[ -f reports/mtls-report.md ] && sed -n '1,30p' reports/mtls-report.md

echo
echo "demo: done in $(( $(date +%s) - start )) s. Reports in reports/. The lab is still running: 'make lab-down' stops it."
