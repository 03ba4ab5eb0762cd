"""Apigee hybrid's runtime logs: the ``apigee-runtime`` containers' output, read with ``kubectl logs``.

On hybrid the message processor runs in the ``apigee-runtime`` pods and logs to standard output (Google's hybrid
documentation, "Runtime logs": ``kubectl logs -n APIGEE_NAMESPACE apigee-runtime-...``). This file lists those pods
(``kubectl get pods -l <selector> -o name``) and reads each one's log with ``--timestamps`` (so that every record has
the time the container runtime recorded), and hands the lines to mp_log.py, which groups the handshake failures as it
does for an Edge MP's system.log. How kubectl is run is the caller's: ``run(argv) -> (rc, stdout, stderr)`` (the module
passes ``AnsibleModule.run_command``), so nothing here starts a process or needs Ansible.

The namespace, the pods' label and the container name default to what the hybrid documentation uses (``apigee``,
``app=apigee-runtime``, ``apigee-runtime``); an installation may differ, and each is an option.
"""
from __future__ import annotations

import re

from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.mp_log import group_failures, records_naming

NAMESPACE = "apigee"
SELECTOR = "app=apigee-runtime"
CONTAINER = "apigee-runtime"
_DURATION = re.compile(r"^(\d+(s|m|h))+$")   # kubectl's --since (a Go duration in s / m / h)


def runtime_log_argument_spec() -> dict:
    """The options of every module that reads the hybrid runtime logs."""
    return {
        "kubectl": {"type": "str", "default": "kubectl"},
        "kubeconfig": {"type": "path"},
        "context": {"type": "str"},
        "namespace": {"type": "str", "default": NAMESPACE},
        "selector": {"type": "str", "default": SELECTOR},
        "container": {"type": "str", "default": CONTAINER},
        "since": {"type": "str", "default": "24h"},
    }


def kubectl_argv(kubectl: str, *args: str, kubeconfig: str | None = None, context: str | None = None,
                 namespace: str = NAMESPACE) -> list[str]:
    argv = [kubectl]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    if context:
        argv += ["--context", context]
    return argv + ["--namespace", namespace, *args]


def _failed(what: str, argv: list[str], rc: int, err: str) -> MtlsError:
    detail = " ".join((err or "").split())[:400] or "no message"
    return MtlsError("%s failed (kubectl exit %s): %s [%s]" % (what, rc, detail, " ".join(argv[1:])))


def runtime_pods(run, kubectl: str = "kubectl", kubeconfig: str | None = None, context: str | None = None,
                 namespace: str = NAMESPACE, selector: str = SELECTOR) -> list[str]:
    """The names of the pods that ``selector`` selects in ``namespace``; an error in plain words when kubectl fails or
    selects none."""
    argv = kubectl_argv(kubectl, "get", "pods", "--selector", selector, "--output", "name",
                        kubeconfig=kubeconfig, context=context, namespace=namespace)
    rc, out, err = run(argv)
    if rc != 0:
        raise _failed("listing the hybrid runtime pods", argv, rc, err)
    pods = [line.strip().split("/", 1)[-1] for line in (out or "").splitlines() if line.strip()]
    if not pods:
        raise MtlsError("no pod in namespace %s has the label %s: give the namespace and label of the apigee-runtime "
                        "pods (kubectl get pods -n <namespace> --show-labels)" % (namespace, selector))
    return pods


def scan_runtime_logs(run, kubectl: str = "kubectl", kubeconfig: str | None = None, context: str | None = None,
                      namespace: str = NAMESPACE, selector: str = SELECTOR, container: str = CONTAINER,
                      since: str | None = "24h", org: str | None = None, env: str | None = None,
                      api: str | None = None, message_ids=None) -> dict:
    """The handshake failures in the runtime pods' logs, grouped as mp_log.scan groups an MP's system.log:
    ``{"groups", "records", "pods", "files"}`` (``files`` names each log as ``pod/<name>/<container>``). With
    ``message_ids`` (the traced calls'), also ``message_records``: every record naming one of them, as logged (what
    mp_log.log_records reads from an MP's system.log on Edge)."""
    if since and not _DURATION.match(since):
        raise MtlsError("since must be a kubectl duration such as 30m, 24h or 1h30m, got %r" % (since,))
    pods = runtime_pods(run, kubectl, kubeconfig, context, namespace, selector)
    sources = []
    for pod in pods:
        argv = kubectl_argv(kubectl, "logs", "pod/%s" % pod, "--container", container, "--timestamps",
                            *(["--since", since] if since else []),
                            kubeconfig=kubeconfig, context=context, namespace=namespace)
        rc, out, err = run(argv)
        if rc != 0:
            raise _failed("reading the log of pod %s" % pod, argv, rc, err)
        sources.append(("pod/%s/%s" % (pod, container), (out or "").splitlines(keepends=True)))
    groups, total = group_failures(sources, org=org, env=env, api=api)
    out = {"groups": groups, "records": total, "pods": pods, "files": [name for name, _ in sources]}
    if message_ids:
        out["message_records"] = [r for _name, lines in sources for r in records_naming(lines, message_ids)]
    return out
