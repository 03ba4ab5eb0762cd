#!/usr/bin/env bash
# The main job on the local lab: reproduce every failure, diagnose, remediate, verify.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
start=$(date +%s)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# MTLS_LAB_PLATFORM=x: the lab answers as Apigee X / hybrid (apigee-x.yaml's shapes, a Google service account key)
platform="${MTLS_LAB_PLATFORM:-edge}"
step "1/5 Start the local Apigee lab ($platform) with every broken scenario (lab/labctl up --scenario all --platform $platform)"
python lab/labctl down >/dev/null 2>&1 || true
python lab/labctl up --scenario all --platform "$platform" >/dev/null
# a lab started again keeps its state (an earlier demo's fixes): reseed it, so every failure is there to see
python lab/labctl reset --scenario all

step "2/5 Reproduce the symptom through the Message Processor runtime"
python - <<'PY'
import json, os, re, urllib.request, urllib.error
state = os.environ.get("MTLS_LAB_STATE", "lab/.state")
lab = json.load(open(state + "/lab.json"))


def gist(body):
    """The answer in a few words: an Apigee fault's faultstring, an HTML page's title (nginx's 400), else the text."""
    text = body.decode(errors="replace")
    try:
        return "fault: " + json.loads(text)["fault"]["faultstring"]
    except (ValueError, KeyError, TypeError):
        pass
    title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
    return ("page: " + title.group(1).strip()) if title else " ".join(text.split())[:70]


for link in lab["links"]:
    url = lab["mp_url"].rstrip("/") + link["basepath"]
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            status, body = r.status, r.read(2000)
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(2000)
    print(f"  {status}  {link['id']:55s} {gist(body)}")

log = lab.get("system_log")   # Edge only: Apigee X / hybrid have no MP system.log
if log and os.path.exists(log):
    last = {}
    for line in open(log, encoding="utf-8", errors="replace"):
        m = re.search(r"^(\S+ \S+) .*?api:(\S+) .*?Remote host:(\S+?) #.*?(handshake failed, message: .*)$", line)
        if m:
            last[m.group(2)] = m.group(1, 3, 4)
    print("  MP system.log, the last handshake failure of each proxy:")
    for api, (when, remote, message) in sorted(last.items()):
        print(f"    {when}  {api:32s} {remote:18s} {message.strip()}")
PY

step "3/5 Diagnose every southbound TLS link (playbooks/diagnose.yml), with the trace and a packet capture"
# the runbook's tcpdump: the lab records the MP <-> backend packets while the diagnosis traces each broken link
python lab/labctl capture start || echo "  (no capture: the diagnosis goes on without it)"
ansible-playbook -i inventory/lab playbooks/diagnose.yml
[ -f reports/mtls-report.md ] && sed -n '1,40p' reports/mtls-report.md
echo "  The runbook's evidence of one link (trace, MP log, capture), from reports/mtls-report.md:"
awk '/^### `targetserver:test\/ts-missing-cert-jsse`/{on=1} on && /^\*\*Fix/{exit} on' reports/mtls-report.md \
  | grep -E '^- (Trace|MP system.log rec|Packet capture)|^  - (target|Cert)|^  [0-9]{4}-|^    - ' | cut -c1-160 | head -14 || true

step "4/5 Remediate and verify (playbooks/remediate.yml)"
ansible-playbook -i inventory/lab playbooks/remediate.yml
python lab/labctl capture stop || true
echo "  This run's evidence, side by side in reports/$(readlink reports/latest):"
ls reports/latest/ | sed 's/^/    /'

step "5/5 Diagnose again as a pipeline would (scripts/mtls_run.py: exit 0 all ok, 10 links broken, else the run failed)"
rc=0
python scripts/mtls_run.py playbooks/diagnose.yml -i inventory/lab || rc=$?
[ -f reports/mtls-report.md ] && sed -n '1,30p' reports/mtls-report.md
[ "$rc" -eq 0 ] || { echo "demo: links are still not ok (exit $rc)"; exit "$rc"; }

echo
echo "demo: done in $(( $(date +%s) - start )) s. Reports in reports/. The lab is still running: 'make lab-down' stops it."
