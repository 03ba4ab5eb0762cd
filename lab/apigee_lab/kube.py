"""The lab's hybrid runtime pods: where the lab MP's log goes in hybrid mode, and the kubectl that reads it.

On Apigee hybrid the message processor is the ``apigee-runtime`` container of one pod per environment, and its log is
the container's standard output, which the container runtime stores one line per entry as
``<RFC 3339 nano time> stdout F <line>`` (the CRI log format of containerd and CRI-O) and kubectl reads back with
``kubectl logs [--timestamps] [--since]``. In hybrid mode the lab's MP writes its records there, in the shape Google's
hybrid documentation shows (Runtime logs: ``hybrid-runtime org:... env:... <thread> <LEVEL> <logger> - ...``, no time
of their own), and ``lab/kubectl`` (``main`` here) answers the two commands the tool runs:

- ``kubectl [--kubeconfig F] [--context C] --namespace N get pods --selector L --output name``
- ``kubectl ... logs pod/<name> --container <c> [--timestamps] [--since 24h]``

with kubectl's own messages and exit codes for a context, pod or container that does not exist. The lab's kubeconfig
(``<state>/kubeconfig``) has one context, ``lab``; the state folder is the kubeconfig's folder.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
import threading

NAMESPACE = "apigee"
CONTAINER = "apigee-runtime"
CONTEXT = "lab"
_write_lock = threading.Lock()


def pods_dir(state: str, namespace: str = NAMESPACE) -> str:
    return os.path.join(state, "logs", "k8s", namespace)


def pod_name(org: str, env: str) -> str:
    """An apigee-runtime pod's name as hybrid names them (``apigee-runtime-<org>-<env>-<hash>-<suffix>``)."""
    import hashlib

    digest = hashlib.sha256(f"{org}/{env}".encode()).hexdigest()
    return f"apigee-runtime-{org}-{env}-{digest[:8]}-{digest[8:13]}"


def write_kubeconfig(state: str) -> str:
    path = os.path.join(state, "kubeconfig")
    text = ("apiVersion: v1\nkind: Config\ncurrent-context: %s\n"
            "clusters:\n- name: lab\n  cluster:\n    server: https://127.0.0.1:6443\n"
            "contexts:\n- name: %s\n  context:\n    cluster: lab\n    user: lab\n    namespace: %s\n"
            "users:\n- name: lab\n  user: {}\n" % (CONTEXT, CONTEXT, NAMESPACE))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def create_pods(state: str, org: str, envs: list[str]) -> list[str]:
    """One runtime pod per environment (its labels as hybrid's: app, org, env), its container log empty."""
    names = []
    for env in envs:
        name = pod_name(org, env)
        folder = os.path.join(pods_dir(state), name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "pod.json"), "w", encoding="utf-8") as fh:
            json.dump({"name": name, "labels": {"app": "apigee-runtime", "org": org, "env": env},
                       "containers": [CONTAINER]}, fh)
        open(os.path.join(folder, CONTAINER + ".log"), "a").close()
        names.append(name)
    return names


def _cri_time(at: float) -> str:
    t = _dt.datetime.fromtimestamp(at, _dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d000Z" % t.microsecond


_LOG4J_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ")


def write_runtime_log(state: str, org: str, env: str, text: str, at: float) -> None:
    """The MP's records (as written to an Edge system.log) into the env's runtime pod log, as hybrid's runtime writes
    them: a record's first line starts ``hybrid-runtime`` instead of a time; each line stored with the time the
    container runtime took it."""
    folder = os.path.join(pods_dir(state), pod_name(org, env))
    if not os.path.isdir(folder):
        return
    stamp = _cri_time(at)
    out = []
    for line in text.splitlines():
        if _LOG4J_TIME.match(line):
            line = "hybrid-runtime " + line[24:]
        out.append(f"{stamp} stdout F {line}\n")
    with _write_lock, open(os.path.join(folder, CONTAINER + ".log"), "a", encoding="utf-8") as fh:
        fh.write("".join(out))


# ------------------------------------------------------------------ lab/kubectl

def _selected(labels: dict, selector: str) -> bool:
    for term in [t.strip() for t in (selector or "").split(",") if t.strip()]:
        m = re.match(r"^([^!=]+?)\s*(==|=|!=)\s*(.*)$", term)
        if not m:
            return "=" not in term and term in labels
        key, op, value = m.groups()
        if (labels.get(key) == value) != (op != "!="):
            return False
    return True


def _parse_since(text: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+)([smh])", text):
        total += int(amount) * {"s": 1, "m": 60, "h": 3600}[unit]
    if not re.fullmatch(r"(\d+[smh])+", text or ""):
        raise ValueError(text)
    return total


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    opts = {"kubeconfig": os.environ.get("KUBECONFIG"), "context": None, "namespace": None, "selector": "",
            "output": None, "container": None, "since": None, "timestamps": False}
    flags = {"--kubeconfig": "kubeconfig", "--context": "context", "--namespace": "namespace", "-n": "namespace",
             "--selector": "selector", "-l": "selector", "--output": "output", "-o": "output",
             "--container": "container", "-c": "container", "--since": "since"}
    words = []
    while args:
        a = args.pop(0)
        if a in flags:
            opts[flags[a]] = args.pop(0) if args else ""
        elif a.startswith("--") and "=" in a and a.split("=", 1)[0] in flags:
            opts[flags[a.split("=", 1)[0]]] = a.split("=", 1)[1]
        elif a == "--timestamps":
            opts["timestamps"] = True
        else:
            words.append(a)
    if not opts["kubeconfig"] or not os.path.exists(opts["kubeconfig"]):
        sys.stderr.write("error: the lab's kubectl needs the lab's kubeconfig (--kubeconfig <lab state>/kubeconfig)\n")
        return 1
    if opts["context"] not in (None, CONTEXT):
        sys.stderr.write('error: context "%s" does not exist\n' % opts["context"])
        return 1
    state = os.path.dirname(os.path.abspath(opts["kubeconfig"]))
    namespace = opts["namespace"] or NAMESPACE
    folder = pods_dir(state, namespace)
    pods = {}
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        try:
            with open(os.path.join(folder, name, "pod.json"), encoding="utf-8") as fh:
                pods[name] = json.load(fh)
        except OSError:
            continue
    if words[:2] == ["get", "pods"]:
        chosen = [n for n, p in pods.items() if _selected(p["labels"], opts["selector"])]
        if not chosen:
            sys.stderr.write("No resources found in %s namespace.\n" % namespace)
            return 0
        sys.stdout.write("".join("pod/%s\n" % n for n in chosen))
        return 0
    if words[:1] == ["logs"] and len(words) == 2:
        name = words[1].split("/", 1)[1] if words[1].startswith("pod/") else words[1]
        if name not in pods:
            sys.stderr.write('Error from server (NotFound): pods "%s" not found\n' % name)
            return 1
        container = opts["container"] or pods[name]["containers"][0]
        if container not in pods[name]["containers"]:
            sys.stderr.write("error: container %s is not valid for pod %s\n" % (container, name))
            return 1
        cutoff = None
        if opts["since"]:
            try:
                cutoff = _dt.datetime.now(_dt.UTC).timestamp() - _parse_since(opts["since"])
            except ValueError:
                sys.stderr.write('error: invalid argument "%s" for "--since" flag: time: invalid duration "%s"\n'
                                 % (opts["since"], opts["since"]))
                return 1
        with open(os.path.join(folder, name, container + ".log"), encoding="utf-8") as fh:
            for entry in fh:
                stamp, _stream, _tag, line = entry.rstrip("\n").split(" ", 3)
                if cutoff is not None:
                    at = _dt.datetime.strptime(stamp[:26] + "Z", "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=_dt.UTC)
                    if at.timestamp() < cutoff:
                        continue
                sys.stdout.write((stamp + " " + line if opts["timestamps"] else line) + "\n")
        return 0
    sys.stderr.write("error: the lab's kubectl answers only `get pods` and `logs pod/<name>`\n")
    return 1
