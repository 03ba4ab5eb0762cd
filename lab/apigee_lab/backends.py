"""The lab's real mTLS backends (loopback only).

- JSSE: lab/java/JsseBackend.java, one JVM serving every "jsse-*" backend, client auth REQUIRED, a PKCS#12
  truststore per backend that it re-reads when the file changes or on `reload` through its control port.
- nginx (Debian's /usr/sbin/nginx) as the lab's own instances, one per "nginx-*" backend, with its own prefix, conf
  and pid under <state>/backends/<name>/: `ssl_verify_client on`, `ssl_client_certificate <PEM bundle>`,
  `ssl_verify_depth 3`.

Backends "*-a" trust Root A only, "*-b" trust Root B only. Every backend presents the lab server certificate.
Backends with a signature profile allow only some client signature algorithms, as a hardened server does:
  "*-rsa"  (trust Root E and Root S): RSA only (rsa_pss_rsae_sha256, rsa_pkcs1_sha256), no SHA-1;
  "*-p256" (trust Root P): ECDSA on P-256 only (ecdsa_secp256r1_sha256), besides the two RSA schemes.
nginx sets them with `ssl_conf_command ClientSignatureAlgorithms`; JSSE with the system property
`jdk.tls.server.SignatureSchemes`, which holds for a whole JVM: each profile's JSSE backends get their own JVM.
"""
from __future__ import annotations

import glob
import hashlib
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from . import pki, procs

HERE = os.path.dirname(os.path.abspath(__file__))
LAB_DIR = os.path.dirname(HERE)
JAVA_DIR = os.path.join(LAB_DIR, "java")
LABCTL = os.path.join(LAB_DIR, "labctl")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# name -> (kind, trusted root keys in the PKI, offset from the base port, signature profile)
LAYOUT = [
    ("jsse-a", "jsse", ("root_a",), 0, None),
    ("jsse-b", "jsse", ("root_b",), 1, None),
    ("nginx-a", "nginx", ("root_a",), 2, None),
    ("nginx-b", "nginx", ("root_b",), 3, None),
    ("jsse-rsa", "jsse", ("root_e", "root_s"), 4, "rsa"),
    ("jsse-p256", "jsse", ("root_p",), 5, "p256"),
    ("nginx-rsa", "nginx", ("root_e", "root_s"), 6, "rsa"),
    ("nginx-p256", "nginx", ("root_p",), 7, "p256"),
]
# the client signature algorithms a profile allows, as each backend kind is told
SIGNATURE_PROFILES = {
    "rsa": {"jsse": "rsa_pss_rsae_sha256,rsa_pkcs1_sha256", "nginx": "rsa_pss_rsae_sha256:RSA+SHA256"},
    "p256": {"jsse": "ecdsa_secp256r1_sha256,rsa_pss_rsae_sha256,rsa_pkcs1_sha256",
             "nginx": "ECDSA+SHA256:rsa_pss_rsae_sha256:RSA+SHA256"},
}
JSSE_PROC = "jsse-backends"


def backends_dir(state: str) -> str:
    return os.path.join(state, "backends")


def specs(state: str, port_base: int) -> list[dict]:
    """The backend entries of lab.json (plus the private `trusts` key: the PKI files the initial truststore holds)."""
    state = os.path.abspath(state)
    p = pki.paths(state)
    out = []
    for name, kind, roots, offset, profile in LAYOUT:
        entry = {"name": name, "kind": kind, "host": "localhost", "port": port_base + offset,
                 "trusts": [p[r] for r in roots], "signature_profile": profile,
                 "client_signature_algorithms": SIGNATURE_PROFILES[profile][kind] if profile else None}
        if kind == "jsse":
            d = os.path.join(backends_dir(state), "jsse")
            path = os.path.join(d, f"{name}-truststore.p12")
            pw_file = os.path.join(d, f"{name}-truststore.password")
            entry.update({
                "truststore_path": path,
                "truststore_format": "pkcs12",
                "truststore_password_file": pw_file,
                # `%s` is the candidate truststore file (validated before it replaces the live one).
                "validate_cmd": f"{shlex.quote(sys.executable)} {shlex.quote(LABCTL)} --state {shlex.quote(state)} "
                                f"validate-backend {name} %s",
                "reload_cmd": f"{shlex.quote(sys.executable)} {shlex.quote(LABCTL)} --state {shlex.quote(state)} "
                              f"reload-backend {name}",
            })
        else:
            prefix = nginx_prefix(state, name)
            conf = os.path.join(prefix, "conf", "nginx.conf")
            err = os.path.join(prefix, "logs", "error.log")
            base = f"{NGINX} -p {shlex.quote(prefix)} -c {shlex.quote(conf)} -e {shlex.quote(err)}"
            entry.update({
                "truststore_path": os.path.join(prefix, "conf", "client-ca.pem"),
                "truststore_format": "pem_bundle",
                "truststore_password_file": None,
                # `nginx -t` on a copy of the conf whose ssl_client_certificate is the candidate file `%s`.
                "validate_cmd": f"{shlex.quote(sys.executable)} {shlex.quote(LABCTL)} --state {shlex.quote(state)} "
                                f"validate-backend {name} %s",
                "reload_cmd": f"{base} -s reload",
            })
        out.append(entry)
    return out


def public(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k != "trusts"}


def nginx_prefix(state: str, name: str) -> str:
    return os.path.join(os.path.abspath(state), "backends", name)


def write_truststores(state: str, backend_specs: list[dict], *, force: bool) -> None:
    """Write each backend's initial truststore (what the scenario starts from); `force` rewrites existing ones."""
    for spec in backend_specs:
        path = spec["truststore_path"]
        if os.path.exists(path) and not force:
            continue
        if spec["kind"] == "jsse":
            pw_file = spec["truststore_password_file"]
            if not os.path.exists(pw_file):
                pki.write_private(pw_file, secrets.token_urlsafe(18))
            password = pki.read_text(pw_file).strip()
            pki.write_private(path, pki.java_truststore(spec["trusts"], password))
        else:
            pki.write_private(path, "".join(pki.read_text(t) for t in spec["trusts"]))


# ---------------------------------------------------------------- Java

def classes_dir(state: str | None = None) -> str:
    """Where lab/java/*.java are compiled: a cache shared by every lab, keyed by the sources' content."""
    digest = hashlib.sha256()
    for src in sorted(glob.glob(os.path.join(JAVA_DIR, "*.java"))):
        with open(src, "rb") as fh:
            digest.update(os.path.basename(src).encode() + b"\0" + fh.read())
    return os.path.join(LAB_DIR, ".cache", f"classes-{digest.hexdigest()[:16]}")


def compile_java(state: str | None = None) -> str:
    """Compile lab/java/*.java once (per content) and return the classes folder."""
    out = classes_dir(state)
    sources = sorted(glob.glob(os.path.join(JAVA_DIR, "*.java")))
    stamps = [os.path.join(out, os.path.splitext(os.path.basename(s))[0] + ".class") for s in sources]
    if all(os.path.exists(c) for c in stamps):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="classes-", dir=os.path.dirname(out))
    try:
        res = subprocess.run(["javac", "-nowarn", "-d", tmp, *sources], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise procs.LabProcessError(f"javac failed:\n{res.stderr[-3000:]}")
        try:
            os.rename(tmp, out)  # atomic; another lab may have won the race with identical classes
        except OSError:
            if not os.path.isdir(out):
                raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def jsse_proc(profile: str | None) -> str:
    """The process name of the JVM serving the JSSE backends of a signature profile."""
    return JSSE_PROC if not profile else f"{JSSE_PROC}-{profile}"


def jsse_procs() -> list[str]:
    return list(dict.fromkeys(jsse_proc(prof) for _, kind, _, _, prof in LAYOUT if kind == "jsse"))


def _control_port_file(state: str, proc: str) -> str:
    return os.path.join(procs.run_dir(state), f"{proc}-control.port")


def start_jsse(state: str, backend_specs: list[dict]) -> None:
    """One JVM per signature profile; they start together and are then waited for."""
    groups: dict = {}
    for s in backend_specs:
        if s["kind"] == "jsse":
            groups.setdefault(jsse_proc(s.get("signature_profile")), []).append(s)
    started = []
    for proc, jsse in groups.items():
        if procs.is_running(state, proc):
            continue
        started.append((proc, jsse, _start_jsse_group(state, proc, jsse)))
    for proc, jsse, pid in started:
        log = os.path.join(state, "logs", "backends", f"{proc}.log")
        for s in jsse:
            procs.wait_port(s["port"], pid=pid, what=f"backend {s['name']}", log_path=log)
        port_file = _control_port_file(state, proc)
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file) and time.monotonic() < deadline:
            time.sleep(0.05)


def _start_jsse_group(state: str, proc: str, jsse: list[dict]) -> int:
    p = pki.paths(state)
    d = os.path.join(backends_dir(state), "jsse")
    os.makedirs(d, mode=0o700, exist_ok=True)
    port_file = _control_port_file(state, proc)
    if os.path.exists(port_file):
        os.unlink(port_file)
    lines = [f"control.port.file={port_file}", "backends=" + ",".join(s["name"] for s in jsse)]
    for s in jsse:
        pre = f"backend.{s['name']}."
        lines += [f"{pre}port={s['port']}", f"{pre}keystore={p['server_p12']}",
                  f"{pre}keystore.password.file={p['server_p12_password_file']}",
                  f"{pre}truststore={s['truststore_path']}",
                  f"{pre}truststore.password.file={s['truststore_password_file']}"]
    conf = os.path.join(d, f"{proc}.properties")
    # java.util.Properties treats backslashes as escapes; paths here are POSIX paths.
    pki.write_private(conf, "\n".join(lines) + "\n")
    log = os.path.join(state, "logs", "backends", f"{proc}.log")
    schemes = jsse[0].get("client_signature_algorithms")
    props = [f"-Djdk.tls.server.SignatureSchemes={schemes}"] if schemes else []
    return procs.start(state, proc, ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Xmx128m",
                                     *props, "-cp", compile_java(), "JsseBackend", conf], log_path=log)


def jsse_control(state: str, command: str, profile: str | None = None) -> str:
    port_file = _control_port_file(state, jsse_proc(profile))
    try:
        port = int(pki.read_text(port_file).strip())
    except (OSError, ValueError) as exc:
        raise procs.LabProcessError("the JSSE backends are not running (no control port)") from exc
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(command.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


# ---------------------------------------------------------------- nginx

def nginx_conf(state: str, spec: dict) -> str:
    prefix = nginx_prefix(state, spec["name"])
    p = pki.paths(state)
    user = ""
    if os.geteuid() == 0:
        import grp
        import pwd
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};\n"
    tmp = os.path.join(prefix, "tmp")
    body = '{"backend":"%s","client_subject":"$ssl_client_s_dn","verify":"$ssl_client_verify"}' % spec["name"]
    sigalgs = (f"        ssl_conf_command ClientSignatureAlgorithms {spec['client_signature_algorithms']};\n"
               if spec.get("client_signature_algorithms") else "")
    return f"""# The lab's own nginx instance for backend {spec['name']} (not the system service).
{user}worker_processes 1;
daemon off;
master_process on;
pid {procs.pid_file(state, spec['name'])};
error_log {prefix}/logs/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{spec['port']} ssl;
        server_name localhost;
        ssl_certificate {p['server_chain']};
        ssl_certificate_key {p['server_key']};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_client_certificate {spec['truststore_path']};
        ssl_verify_client on;
        ssl_verify_depth 3;
        ssl_session_cache off;
        ssl_session_tickets off;
{sigalgs}        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


def start_nginx(state: str, spec: dict) -> int:
    name = spec["name"]
    if procs.is_running(state, name):
        return procs.read_pid(state, name)
    prefix = nginx_prefix(state, name)
    for sub in ("conf", "logs", "tmp"):
        os.makedirs(os.path.join(prefix, sub), mode=0o700, exist_ok=True)
    conf = os.path.join(prefix, "conf", "nginx.conf")
    with open(conf, "w", encoding="ascii") as fh:
        fh.write(nginx_conf(state, spec))
    err = os.path.join(prefix, "logs", "error.log")
    pid = procs.start(state, name, [NGINX, "-p", prefix, "-c", conf, "-e", err],
                      log_path=os.path.join(state, "logs", "backends", f"{name}.log"))
    procs.wait_port(spec["port"], pid=pid, what=f"backend {name}", log_path=err)
    return pid


def validate_truststore(state: str, name: str, candidate: str, backend_specs: list[dict]) -> str:
    """Check a candidate truststore file the way the backend will load it; raises with the tool's message."""
    spec = next((s for s in backend_specs if s["name"] == name), None)
    if spec is None:
        raise procs.LabProcessError(f"unknown backend {name!r}")
    if not os.path.isfile(candidate):
        raise procs.LabProcessError(f"{name}: candidate truststore {candidate} does not exist")
    if spec["kind"] == "jsse":
        argv = ["keytool", "-list", "-noprompt", "-storetype", "PKCS12", "-keystore", candidate,
                "-storepass:file", spec["truststore_password_file"]]
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
        if res.returncode != 0 or "trustedCertEntry" not in res.stdout:
            raise procs.LabProcessError(f"{name}: {candidate} is not a PKCS#12 truststore JSSE can use: "
                                        f"{(res.stdout + res.stderr).strip()[-500:] or 'no trusted certificate'}")
        return f"{name}: {res.stdout.count('trustedCertEntry')} trusted certificate(s)"
    prefix = nginx_prefix(state, name)
    conf = nginx_conf(state, {**spec, "truststore_path": os.path.abspath(candidate)})
    test_conf = os.path.join(prefix, "conf", f"validate-{os.getpid()}.conf")
    with open(test_conf, "w", encoding="ascii") as fh:
        fh.write(conf)
    try:
        res = subprocess.run([NGINX, "-t", "-q", "-p", prefix, "-c", test_conf, "-e",
                              os.path.join(prefix, "logs", "error.log")], capture_output=True, text=True, check=False)
    finally:
        os.unlink(test_conf)
    if res.returncode != 0:
        raise procs.LabProcessError(f"{name}: nginx -t rejects {candidate}: {res.stderr.strip()[-500:]}")
    return f"{name}: nginx -t ok"


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry))
    return out


def reload_backend(state: str, name: str, backend_specs: list[dict]) -> str:
    """Make a running backend re-read its truststore; returns a one-line result, raises on failure."""
    spec = next((s for s in backend_specs if s["name"] == name), None)
    if spec is None:
        raise procs.LabProcessError(f"unknown backend {name!r}; known: {', '.join(s['name'] for s in backend_specs)}")
    if spec["kind"] == "jsse":
        answer = jsse_control(state, f"reload {name}", spec.get("signature_profile"))
        if not answer.startswith("ok"):
            raise procs.LabProcessError(f"{name}: {answer}")
        return f"{name}: {answer[3:]}"
    pid = procs.read_pid(state, name)
    if not procs.pid_alive(pid):
        raise procs.LabProcessError(f"{name} is not running")
    before = _children(pid)
    res = subprocess.run(shlex.split(spec["reload_cmd"]), capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise procs.LabProcessError(f"{name}: nginx reload failed: {res.stderr.strip()}")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the reload is done when a new worker replaced the old one(s)
        now = _children(pid)
        if now and not (now & before):
            break
        time.sleep(0.05)
    return f"{name}: nginx reloaded"


def start_all(state: str, backend_specs: list[dict]) -> None:
    start_jsse(state, backend_specs)
    for spec in backend_specs:
        if spec["kind"] == "nginx":
            start_nginx(state, spec)


def process_names() -> list[str]:
    return jsse_procs() + [n for n, kind, _, _, _ in LAYOUT if kind == "nginx"]


def stop_all(state: str) -> list[str]:
    stopped = []
    for name in process_names():
        if procs.stop(state, name):
            stopped.append(name)
    return stopped


def running(state: str) -> dict:
    return {name: procs.is_running(state, name) for name in process_names()}
