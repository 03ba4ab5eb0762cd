"""The lab's Message Processor runtime.

A Python HTTP server on --port serving each deployed proxy's basepath. For a target endpoint with <SSLInfo> (a direct
<URL>, or <LoadBalancer><Server name=.../> through a target server) it resolves `ref://` references AT CALL TIME from
the management store and makes the southbound call through one long-running JVM (lab/java/MpClient.java), which
builds a real JSSE SSLContext for every call from the alias's private key + stored chain and the truststore.

A failed handshake gives the client exactly the runbook's `HTTP/1.1 503` fault with an `X-Apigee.Message-ID` header,
writes a trace record (error.cause = the JSSE exception message) to <state>/logs/mp/trace.jsonl (also served at
GET /_lab/trace) and appends the runbook's records to <state>/logs/mp/system.log; as hybrid (--platform hybrid), also to
the env's apigee-runtime pod log, as hybrid's runtime writes them (kube.py).

Run: python -m apigee_lab.runtime --state DIR --port N [--org lab] [--envs test,prod] [--key-manager SunX509|PKIX]
     [--platform edge|x|hybrid]
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization

from . import bundles, kube
from . import trace as debug_trace

SERVICE_UNAVAILABLE = {
    "fault": {
        "faultstring": "The Service is temporarily unavailable",
        "detail": {"errorcode": "messaging.adaptors.http.flow.ServiceUnavailable"},
    }
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade", "te",
              "trailer"}


class RuntimeConfigError(Exception):
    """The deployed configuration cannot be resolved (missing target server, reference, keystore...)."""


# ------------------------------------------------------------------ bundle view (pure)

def _flag(value, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _ssl_flags(ssl: dict | None) -> dict | None:
    """A bundle's SSLInfo (strings, as written in the XML) with its flags as the MP reads them."""
    if ssl is None:
        return None
    return {**ssl, "enabled": _flag(ssl.get("enabled"), False),
            "clientAuthEnabled": _flag(ssl.get("clientAuthEnabled"), False),
            "ignoreValidationErrors": _flag(ssl.get("ignoreValidationErrors"), False)}


def parse_bundle(data: bytes) -> dict:
    """What the MP executes of a deployed bundle, read by the one bundle parser (``bundles.parse_bundle``): proxy
    endpoints (basepath, route rules, the steps of the request PreFlow), target endpoints (URL or load balancer
    servers, path, SSLInfo) and ServiceCallout policies that call out over HTTP (URL, SSLInfo)."""
    manifest = bundles.parse_bundle(data)
    return {
        "proxies": {p["name"]: {"basepath": p["basepath"], "routes": p["routes"], "request_steps": p["request_steps"]}
                    for p in manifest["proxies"]},
        "targets": {t["name"]: {"url": t["url"], "servers": t["servers"], "path": t["path"],
                                "ssl_info": _ssl_flags(t["ssl_info"])} for t in manifest["targets"]},
        "callouts": {c["name"]: {"url": c["url"], "servers": [], "path": None, "ssl_info": _ssl_flags(c["ssl_info"])}
                     for c in manifest["callouts"]},
    }


def choose_target(bundle: dict) -> str | None:
    """The target endpoint of the first route rule without a condition that names one (Apigee's evaluation order)."""
    for proxy in bundle["proxies"].values():
        for rr in proxy["routes"]:
            if rr["target"] and not rr["condition"]:
                return rr["target"]
    if len(bundle["targets"]) == 1:
        return next(iter(bundle["targets"]))
    return "default" if "default" in bundle["targets"] else None


def match_basepath(path: str, deployments: list[dict]) -> tuple[dict, str] | None:
    """The deployment whose basepath is the longest segment-prefix of path, and the remaining suffix."""
    best = None
    for dep in deployments:
        for bp in dep.get("basepaths") or []:
            norm = "/" + bp.strip("/") if bp.strip("/") else "/"
            if norm == "/" or path == norm or path.startswith(norm + "/"):
                if best is None or len(norm) > len(best[1]):
                    best = (dep, norm)
    if best is None:
        return None
    dep, norm = best
    suffix = path if norm == "/" else path[len(norm):]
    return dep, suffix


def ref_name(value: str | None) -> str | None:
    if value and value.startswith("ref://"):
        return value[len("ref://"):]
    return None


def message_id(counter: int) -> str:
    return f"rrt-{secrets.token_hex(8)}-c-lab-{os.getpid()}-{counter}-1"


def log_ts(at: float | None = None) -> str:
    t = _dt.datetime.fromtimestamp(at if at is not None else time.time(), _dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"


def system_log_records(ctx: dict, result: dict, ssl: dict, at: float | None = None) -> str:
    """The runbook's MP system.log records for a failed southbound handshake (one record per line, stack indented)."""
    ts = log_ts(at)
    head = (f"org:{ctx['org']} env:{ctx['env']} api:{ctx['api']} rev:{ctx['rev']} messageid:{ctx['messageid']} "
            f"NIOThread@0 ERROR")
    age = int(result.get("elapsed_ms") or 0)
    channel_id = int(hashlib.sha256(ctx["messageid"].encode()).hexdigest()[:4], 16)
    local = f"{result.get('local_ip', '127.0.0.1')}:{result.get('local_port', 0)}"
    remote = f"{result.get('remote_ip') or ctx['host']}:{ctx['port']}"
    message = result.get("message") or ""
    ks_id = hashlib.sha256(f"ks:{ssl.get('keystore')}".encode()).hexdigest()[:8]
    ts_id = hashlib.sha256(f"ts:{ssl.get('truststore')}".encode()).hexdigest()[:8]
    req_id = hashlib.sha256(ctx["messageid"].encode()).hexdigest()[8:16]
    lines = [
        f"{ts} {head} HTTP.CLIENT - HTTPClient$Context.handshakeFailed() : SSLClientChannel[C:{local} # "
        f"Remote host:{remote} #]@{channel_id} useCount=1 bytesRead=0 bytesWritten=0 age={age}ms lastIO={age}ms "
        f"handshake failed, message: {message}",
        f"{ts} {head} HTTP.CLIENT - HTTPClient$Context.handshakeFailed() : SSLInfo: "
        f"KeyStore:java.security.KeyStore@{ks_id if ssl.get('keystore') else 'null'} "
        f"KeyAlias:{ssl.get('alias') or 'null'} "
        f"TrustStore:java.security.KeyStore@{ts_id if ssl.get('truststore') else 'null'}",
        f"{ts} {head} ADAPTORS.HTTP.FLOW - RequestWriteListener.onException() : "
        f"RequestWriteListener.onException(HTTPRequest@{req_id}) {result.get('exception')}: {message}",
    ]
    java = result.get("java_version", "na")
    lines += [f"\tat {frame} ~[na:{java}]" for frame in result.get("stack") or []]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the JVM helper

class JvmClient:
    """One long-running MpClient JVM; JSON lines over stdin/stdout; concurrent calls matched by id."""

    def __init__(self, classes: str, log_path: str):
        self.classes = classes
        self.log_path = log_path
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self._ids = itertools.count(1)
        self.proc = None
        self.java_version = "na"
        self._start()

    def _start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the JVM's lifetime
        self.proc = subprocess.Popen(
            ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-Xss512k", "-Xmx128m", "-cp", self.classes,
             "MpClient"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, bufsize=0)
        log.close()
        first = self.proc.stdout.readline()
        try:
            hello = json.loads(first)
        except ValueError as exc:
            raise RuntimeError(f"MpClient JVM did not start: {first!r}") from exc
        self.java_version = hello.get("java", "na")
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()

    def _reader(self, proc) -> None:
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            fut = self._pending.pop(str(msg.get("id")), None)
            if fut is not None:
                fut.set_result(msg)
        for fut in list(self._pending.values()):  # the JVM went away: fail what was waiting
            if not fut.done():
                fut.set_exception(RuntimeError("MpClient JVM exited"))

    def call(self, request: dict, timeout: float = 30.0) -> dict:
        with self._lock:
            if self.proc.poll() is not None:
                self._start()
            rid = str(next(self._ids))
            fut: Future = Future()
            self._pending[rid] = fut
            self.proc.stdin.write((json.dumps({**request, "id": rid}) + "\n").encode())
            self.proc.stdin.flush()
        try:
            result = fut.result(timeout=timeout)
        finally:
            self._pending.pop(rid, None)
        result["java_version"] = self.java_version
        return result

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ------------------------------------------------------------------ the runtime

class Runtime:
    def __init__(self, state: str, org: str, envs: list[str], classes: str, key_manager: str = "SunX509",
                 store=None, jvm: JvmClient | None = None, platform: str = "edge"):
        self.state = os.path.abspath(state)
        self.org = org
        self.envs = envs
        self.platform = platform
        if platform == "hybrid":   # one apigee-runtime pod per env, whose container log takes the MP's records
            kube.create_pods(self.state, org, envs)
        self.key_manager = key_manager
        self.log_dir = os.path.join(self.state, "logs", "mp")
        os.makedirs(self.log_dir, exist_ok=True)
        self.system_log = os.path.join(self.log_dir, "system.log")
        self.trace_log = os.path.join(self.log_dir, "trace.jsonl")
        if store is None:
            from .store import Store
            store = Store(os.path.join(self.state, "lab.db"))
        self.store = store
        self.jvm = jvm or JvmClient(classes, os.path.join(self.log_dir, "mpclient.log"))
        self._bundles: dict = {}
        self._counter = itertools.count(1)
        self._log_lock = threading.Lock()
        self._keys: dict = {}
        self._loaded: dict = {}  # what this MP has loaded: (kind, env, name, alias) -> material, until a restart
        self._loaded_generation = None
        self._loaded_lock = threading.Lock()

    # -- resolution at call time
    def bundle(self, api: str, rev: int) -> dict:
        data = self.store.get_revision_bundle(self.org, api, int(rev))
        if not data:
            raise RuntimeConfigError(f"revision {rev} of API proxy {api!r} has no bundle")
        key = hashlib.sha256(data).hexdigest()  # parsed once per distinct bundle (a reset may re-import a name)
        if key not in self._bundles:
            self._bundles[key] = parse_bundle(data)
        return self._bundles[key]

    def deployments(self) -> list[dict]:
        out = []
        for env in self.envs:
            for dep in self.store.list_deployments(self.org, env) or []:
                out.append({**dep, "env": env})
        return out

    def resolve_store(self, env: str, value: str | None, kind: str) -> tuple[str | None, str | None]:
        """(keystore name, reference name) for a KeyStore/TrustStore value that may be `ref://name`."""
        if not value:
            return None, None
        ref = ref_name(value)
        if ref is None:
            return value, None
        doc = self.store.get_reference(self.org, env, ref)
        if not doc:
            raise RuntimeConfigError(f"{kind} reference {ref!r} not found in environment {env}")
        return doc.get("refers"), ref

    def target_of(self, env: str, bundle: dict, target_name: str, target: dict | None = None) -> dict:
        target = target or bundle["targets"].get(target_name)
        if target is None:
            raise RuntimeConfigError(f"target endpoint {target_name!r} not found in the bundle")
        if target["servers"]:
            name = target["servers"][0]
            ts = self.store.get_targetserver(self.org, env, name)
            if not ts:
                raise RuntimeConfigError(f"target server {name!r} not found in environment {env}")
            if not _flag(ts.get("isEnabled"), True):
                raise RuntimeConfigError(f"target server {name!r} is disabled")
            s = ts.get("sSLInfo") or {}
            ssl = {
                "enabled": _flag(s.get("enabled"), False),
                "clientAuthEnabled": _flag(s.get("clientAuthEnabled"), False),
                "keyStore": s.get("keyStore"), "keyAlias": s.get("keyAlias"), "trustStore": s.get("trustStore"),
                "ignoreValidationErrors": _flag(s.get("ignoreValidationErrors"), False),
                "protocols": list(s.get("protocols") or []), "ciphers": list(s.get("ciphers") or []),
            } if s else None
            scheme = "https" if ssl and ssl["enabled"] else "http"
            return {"link_id": f"targetserver:{env}/{name}", "host": ts.get("host"), "port": int(ts.get("port")),
                    "scheme": scheme, "base_path": target["path"] or "", "ssl": ssl}
        if not target["url"]:
            raise RuntimeConfigError(f"target endpoint {target_name!r} has neither URL nor LoadBalancer")
        u = urllib.parse.urlsplit(target["url"])
        ssl = target["ssl_info"]
        if ssl is not None and u.scheme == "https":
            ssl = {**ssl, "enabled": True}
        return {"link_id": None, "host": u.hostname, "port": u.port or (443 if u.scheme == "https" else 80),
                "scheme": u.scheme, "base_path": u.path.rstrip("/"), "ssl": ssl}

    def _key_pkcs8(self, key_pem: str) -> str:
        digest = hashlib.sha256(key_pem.encode()).hexdigest()
        if digest not in self._keys:
            key = serialization.load_pem_private_key(key_pem.encode(), password=None)
            der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            self._keys[digest] = base64.b64encode(der).decode()
        return self._keys[digest]

    def settings(self) -> dict:
        """<state>/mp.json, written when the lab is seeded: the scenario's key manager, and a generation that a reseed
        changes (the lab is then a new one: what the MP had loaded is forgotten)."""
        try:
            with open(os.path.join(self.state, "mp.json"), encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}

    def current_key_manager(self) -> str:
        """The MP's key manager: the scenario's (mp.json), else the one the runtime was started with."""
        return self.settings().get("key_manager") or self.key_manager

    # -- what the MP has loaded
    # Apigee (docs.apigee.com update-tls-certificate-cloud / -private-cloud): an MP loads a
    # keystore or truststore when a revision is deployed or a target server changes and keeps it until it restarts;
    # a reference is resolved when it changes, so repointing it to a new keystore takes effect at once, while a
    # keystore or truststore changed in place (same name) is not seen until the MP restarts (`labctl restart-mp`).
    def loaded(self, kind: str, env: str, name: str, alias: str | None, load):
        """The material the MP loaded for (kind, env, name, alias), loading it now if it never did. A keystore that
        does not exist is not kept (the MP tries again); everything else is kept until a restart."""
        generation = self.settings().get("generation")
        with self._loaded_lock:
            if generation != self._loaded_generation:
                self._loaded.clear()
                self._loaded_generation = generation
            key = (kind, env, name, alias)
            if key in self._loaded:
                return self._loaded[key]
        value = load()
        if kind in ("keystore", "truststore") and not value:
            return value
        with self._loaded_lock:
            return self._loaded.setdefault(key, value)

    def preload(self) -> None:
        """Load the keystores, aliases and truststores of every deployed revision's target (what a deployment does on
        an MP); errors are left for the call that meets them."""
        for dep in self.deployments():
            try:
                bundle = self.bundle(dep["api"], int(dep["revision"]))
                tname = choose_target(bundle)
                if tname:
                    self.southbound_request(dep["env"], self.target_of(dep["env"], bundle, tname))
            except (RuntimeConfigError, OSError, ValueError, KeyError):
                continue

    def _preload_forever(self, every: float = 1.0) -> None:
        while True:
            try:
                self.preload()
            except Exception as exc:  # noqa: BLE001  (a background loader never kills the runtime)
                sys.stderr.write(f"preload: {exc}\n")
            time.sleep(every)

    def southbound_request(self, env: str, target: dict) -> tuple[dict, dict]:
        """The JVM request (TLS material resolved now) and the resolved SSLInfo summary (no secrets)."""
        ssl = target["ssl"]
        tls = target["scheme"] == "https" or bool(ssl and ssl["enabled"])
        key_manager = self.current_key_manager()
        req: dict = {"host": target["host"], "port": target["port"], "tls": tls, "key_manager": key_manager}
        summary: dict = {"enabled": tls}
        if not tls:
            return req, summary
        ssl = ssl or {"clientAuthEnabled": False}
        keystore, ks_ref = self.resolve_store(env, ssl.get("keyStore"), "KeyStore")
        truststore, ts_ref = self.resolve_store(env, ssl.get("trustStore"), "TrustStore")
        alias = ssl.get("keyAlias")
        summary.update({"client_auth_enabled": bool(ssl.get("clientAuthEnabled")), "keystore": keystore,
                        "keystore_reference": ks_ref, "alias": alias, "truststore": truststore,
                        "truststore_reference": ts_ref, "protocols": ssl.get("protocols") or [],
                        "key_manager": key_manager})
        req.update({"client_auth": bool(ssl.get("clientAuthEnabled")), "alias": alias,
                    "protocols": ssl.get("protocols") or [], "ciphers": ssl.get("ciphers") or [],
                    "ignore_validation_errors": bool(ssl.get("ignoreValidationErrors")),
                    "trust_pem": None, "chain_pem": None, "key_pkcs8_b64": None})
        if req["client_auth"]:
            if keystore and not self.loaded("keystore", env, keystore, None,
                                            lambda: bool(self.store.get_keystore(self.org, env, keystore))):
                raise RuntimeConfigError(f"keystore {keystore!r} not found in environment {env}")
            material = self.loaded("alias", env, keystore, alias, lambda: self.store.get_alias_material(
                self.org, env, keystore, alias)) if keystore and alias else None
            summary["alias_present"] = bool(material)
            if material and material.get("key_pem") and material.get("chain_pem"):
                req["chain_pem"] = material["chain_pem"]
                req["key_pkcs8_b64"] = self._key_pkcs8(material["key_pem"])
        if truststore:
            if not self.loaded("truststore", env, truststore, None,
                               lambda: bool(self.store.get_keystore(self.org, env, truststore))):
                raise RuntimeConfigError(f"truststore {truststore!r} not found in environment {env}")
            req["trust_pem"] = list(self.loaded("truststore_certs", env, truststore, None, lambda: tuple(
                self.store.list_truststore_certs_pem(self.org, env, truststore) or ())))
        return req, summary

    # -- logging
    def write_trace(self, record: dict) -> None:
        with self._log_lock, open(self.trace_log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")

    def write_system_log(self, text: str, env: str | None = None, at: float | None = None) -> None:
        with self._log_lock, open(self.system_log, "a", encoding="utf-8") as fh:
            fh.write(text)
        if self.platform == "hybrid" and env:
            kube.write_runtime_log(self.state, self.org, env, text, at if at is not None else time.time())

    def traces(self, messageid: str | None = None, api: str | None = None, limit: int = 200) -> list[dict]:
        if not os.path.exists(self.trace_log):
            return []
        out = []
        with open(self.trace_log, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if messageid and rec.get("messageid") != messageid:
                    continue
                if api and rec.get("api") != api:
                    continue
                out.append(rec)
        return out[-limit:]

    # -- one northbound request
    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        split = urllib.parse.urlsplit(raw_path)
        path = split.path or "/"
        started = time.time()
        mid = message_id(next(self._counter))
        base_headers = {"X-Apigee.Message-ID": mid}
        found = match_basepath(path, self.deployments())
        if found is None:
            fault = {"fault": {"faultstring": f"Unable to identify proxy for host: default and url: {path}",
                               "detail": {"errorcode": "messaging.adaptors.http.flow.ApplicationNotFound"}}}
            return 404, {**base_headers, "Content-Type": "application/json"}, json.dumps(fault).encode()
        dep, suffix = found
        env, api, rev = dep["env"], dep["api"], int(dep["revision"])
        ctx = {"org": self.org, "env": env, "api": api, "rev": rev, "messageid": mid}
        trace = {"messageid": mid, "timestamp": _dt.datetime.now(_dt.UTC).isoformat(), "org": self.org,
                 "env": env, "api": api, "rev": rev, "request": {"method": method, "path": raw_path},
                 "phase": "target_request_flow"}
        ssl_summary: dict = {}
        try:
            bundle = self.bundle(api, rev)
            tname = choose_target(bundle)
            # the request PreFlow's ServiceCallout steps run first, each a southbound call of its own
            calls = [(step, f"callout:{env}/{api}/{rev}/{step}", bundle["callouts"][step], "GET", "", {}, b"")
                     for proxy in bundle["proxies"].values() for step in proxy.get("request_steps") or []
                     if step in bundle.get("callouts", {})]
            if tname is not None:
                calls.append((tname, None, None, method, suffix, headers, body))
            elif not calls:
                raise RuntimeConfigError("no route rule names a target endpoint")
            for name, link_id, callout, c_method, c_suffix, c_headers, c_body in calls:
                target = self.target_of(env, bundle, name, callout)
                target["link_id"] = link_id or target["link_id"] or f"proxy:{env}/{api}/{rev}/{name}"
                ctx.update({"host": target["host"], "port": target["port"]})
                req, ssl_summary = self.southbound_request(env, target)
                query = f"?{split.query}" if split.query and callout is None else ""
                req.update({"method": c_method, "path": (target["base_path"] + c_suffix) or "/", "timeout_ms": 10000,
                            "headers": {k: v for k, v in c_headers.items() if k.lower() not in HOP_BY_HOP},
                            "body_b64": base64.b64encode(c_body).decode() if c_body else None})
                req["path"] += query
                trace["target"] = {"link_id": target["link_id"], "endpoint": name, "host": target["host"],
                                   "port": target["port"], "scheme": target["scheme"], "ssl_info": ssl_summary,
                                   "url": "%s://%s:%s%s" % (target["scheme"], target["host"], target["port"],
                                                            req["path"]),
                                   "kind": "service_callout" if callout is not None else "target_endpoint"}
                result = self.jvm.call(req)
                if not result.get("ok"):
                    if callout is not None:
                        trace["phase"] = "proxy_request_flow"  # the ServiceCallout runs in the request PreFlow
                    break  # a failed ServiceCallout is a fault of the flow: the target is not called
        except RuntimeConfigError as exc:
            result = {"ok": False, "stage": "configuration", "exception": "com.apigee.lab.ConfigurationException",
                      "message": str(exc)}
        trace["elapsed_ms"] = int((time.time() - started) * 1000)
        if result.get("ok"):
            status = int(result["status"])
            out_headers = {**base_headers}
            for k, v in result.get("headers") or []:
                if k.lower() not in HOP_BY_HOP and k.lower() != "server":
                    out_headers[k] = v
            trace.update({"response": {"status": status}, "tls": {"protocol": result.get("protocol"),
                                                                    "cipher": result.get("cipher")}})
            self.write_trace(trace)
            out_body = base64.b64decode(result.get("body_b64") or "")
            self.record_debug(trace, headers, split.query, out_headers, out_body, started)
            return status, out_headers, out_body
        trace.update({"response": {"status": 503},
                      "error": {"cause": result.get("message"), "exception": result.get("exception"),
                                "stage": result.get("stage")}})
        self.write_trace(trace)
        if result.get("stage") == "handshake":
            self.write_system_log(system_log_records(ctx, result, ssl_summary, started), env, started)
        else:
            self.write_system_log(
                f"{log_ts(started)} org:{self.org} env:{env} api:{api} rev:{rev} messageid:{mid} NIOThread@0 ERROR "
                f"HTTP.CLIENT - HTTPClient$Context.onException() : {result.get('exception')}: "
                f"{result.get('message')}\n", env, started)
        body = json.dumps(SERVICE_UNAVAILABLE, separators=(",", ":")).encode()
        out_headers = {**base_headers, "Content-Type": "application/json"}
        self.record_debug(trace, headers, split.query, out_headers, body, started)
        return 503, out_headers, body

    def record_debug(self, record: dict, headers: dict, query: str, out_headers: dict, body: bytes,
                     started: float) -> None:
        """The call into every live debug session of its revision that it passes the filters of (at most 20 each,
        as Edge's sessions hold)."""
        env, api, rev = record["env"], record["api"], record["rev"]
        try:
            sessions = self.store.active_debug_sessions(self.org, env, api, rev)
        except Exception as exc:  # noqa: BLE001 - the call is answered whatever the debug store does
            sys.stderr.write("debug sessions not read: %s\n" % exc)
            return
        for sess in sessions:
            full = sess["transactions"] >= int(sess["filters"].get("count") or debug_trace.MAX_TRANSACTIONS)
            if full or not debug_trace.matches(sess["filters"], headers, query):
                continue
            data = debug_trace.transaction(record, headers, out_headers, body, started, time.time())
            self.store.add_debug_transaction(self.org, env, api, rev, sess["name"], record["messageid"], data)


def make_handler(runtime: Runtime):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "Apigee-Lab-MP"

        def log_message(self, fmt, *args):  # access log goes to stderr (the process log file)
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

        def _send(self, status: int, headers: dict, body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _dispatch(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urllib.parse.urlsplit(self.path)
            if split.path == "/_lab/health":
                return self._send(200, {"Content-Type": "application/json"}, b'{"status":"ok"}')
            if split.path == "/_lab/trace":
                q = urllib.parse.parse_qs(split.query)
                recs = runtime.traces((q.get("messageid") or [None])[0], (q.get("api") or [None])[0])
                return self._send(200, {"Content-Type": "application/json"},
                                  json.dumps({"traces": recs}).encode())
            try:
                status, headers, out = runtime.handle(self.command, self.path, dict(self.headers.items()), body)
            except Exception as exc:  # noqa: BLE001 - the MP answers 500 rather than dropping the connection
                fault = {"fault": {"faultstring": f"Internal error: {type(exc).__name__}: {exc}",
                                   "detail": {"errorcode": "messaging.runtime.InternalError"}}}
                status, headers, out = 500, {"Content-Type": "application/json"}, json.dumps(fault).encode()
            self._send(status, headers, out)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    return Handler


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--org", default="lab")
    ap.add_argument("--envs", default="test,prod")
    ap.add_argument("--classes", default=None)
    ap.add_argument("--key-manager", default="SunX509", choices=["SunX509", "PKIX"])
    ap.add_argument("--platform", default="edge", choices=["edge", "x", "hybrid"])
    args = ap.parse_args(argv)
    if args.classes:
        classes = args.classes
    else:
        from .backends import compile_java
        classes = compile_java()
    runtime = Runtime(args.state, args.org, [e for e in args.envs.split(",") if e], classes, args.key_manager,
                      platform=args.platform)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        address_family = socket.AF_INET

    runtime.preload()
    threading.Thread(target=runtime._preload_forever, name="preload", daemon=True).start()
    server = Server(("127.0.0.1", args.port), make_handler(runtime))
    sys.stderr.write(f"MP runtime listening on http://127.0.0.1:{args.port} (JSSE {runtime.jvm.java_version})\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        runtime.jvm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
