"""The support bundle: what the runbook's "If it still fails" section asks for, redacted, in one tar.gz.

Plain functions (no Ansible, no HTTP): the caller hands in what it gathered (the diagnosis report, keystore listings,
probe output, MP log scan, exported proxy bundles) and gets back the archive bytes and a manifest.

- ``redact_text`` removes private key blocks, Authorization headers, bearer tokens, URL credentials, password/token/
  secret fields (JSON, YAML, ``key=value``, XML elements) and every literal secret the caller names.
- ``build_archive`` runs that redaction over every file, leaves out key stores and key files (by name) and binary files,
  checks the result once more for key markers and literal secrets, and returns the tar.gz bytes.
- ``curl_commands`` builds, per broken link and base path, the curl that reproduces the call through the MP.
- ``log_records`` returns the MP log records (continuation lines joined) that name the given message IDs.
"""
from __future__ import annotations

import io
import json
import os
import posixpath
import re
import shlex
import tarfile
import tempfile
import time
import zipfile

from ansible.module_utils.mtls.errors import MtlsError

REDACTED = "[REDACTED]"
KEY_MARKER = "PRIVATE KEY"
# Files never archived, whatever they contain: key stores and private key files.
KEY_FILE_SUFFIXES = (".key", ".p12", ".pfx", ".jks", ".jceks", ".keystore", ".bcfks", ".pk8", ".p8", ".kdb")
SECRET_WORDS = (r"pass(?:word|wd|phrase)?|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|"
                r"api[_-]?key|apikey|mfa[_-]?token|private[_-]?key|credentials?")

_PEM_KEY = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.S)
_AUTH_HEADER = re.compile(r"((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?:(basic|bearer|digest|negotiate)\s+)?"
                          r"[^\s\"',}]+", re.I)
_BEARER = re.compile(r"\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*", re.I)
_URL_CREDS = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^\s/:@\"']+:[^\s/@\"']+@", re.I)
# "password": "x"   password: x   password=x   <Password>x</Password>
_JSON_FIELD = re.compile(r"(\"[\w.-]*(?:%s)[\w.-]*\"\s*:\s*)\"(?:[^\"\\]|\\.)*\"" % SECRET_WORDS, re.I)
_KV_FIELD = re.compile(r"(^|[\s,;&?{(])([\w.-]*(?:%s)[\w.-]*)(\s*[:=]\s*)(?![\s\"{\[]|\[REDACTED\]|$)"
                       r"([^\s,;&\"'}<]+)" % SECRET_WORDS, re.I | re.M)
_XML_FIELD = re.compile(r"(<([\w:.-]*(?:%s)[\w.-]*)(?:\s[^>]*)?>)([^<]+)(</\2>)" % SECRET_WORDS, re.I)


def redact_text(text: str, literals=()) -> tuple[str, int]:
    """(redacted text, number of redactions). Literal secrets shorter than 4 characters are ignored (too common)."""
    count = 0

    def sub(pattern, repl, value):
        nonlocal count
        value, n = pattern.subn(repl, value)
        count += n
        return value

    text = sub(_PEM_KEY, lambda m: "-----%s %s-----" % (REDACTED, m.group(1).replace("PRIVATE KEY", "KEY BLOCK")),
               text)
    text = sub(_AUTH_HEADER, lambda m: m.group(1) + ((m.group(2) + " ") if m.group(2) else "") + REDACTED, text)
    text = sub(_BEARER, lambda m: m.group(1) + REDACTED, text)
    text = sub(_URL_CREDS, lambda m: m.group(1) + REDACTED + "@", text)
    text = sub(_JSON_FIELD, lambda m: m.group(1) + '"%s"' % REDACTED, text)
    text = sub(_XML_FIELD, lambda m: m.group(1) + REDACTED + m.group(4), text)
    text = sub(_KV_FIELD, lambda m: m.group(1) + m.group(2) + m.group(3) + REDACTED, text)
    for secret in sorted({s for s in literals if s and len(s) >= 4}, key=len, reverse=True):
        n = text.count(secret)
        if n:
            text = text.replace(secret, REDACTED)
            count += n
    return text, count


def is_key_file(name: str) -> bool:
    """A key store or private key file, by its name (never archived)."""
    base = posixpath.basename(name).lower()
    return base.endswith(KEY_FILE_SUFFIXES) or "private-key" in base or "privatekey" in base


def _as_text(data) -> str | None:
    if isinstance(data, str):
        return data
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _safe_name(name: str) -> str:
    norm = posixpath.normpath(name.replace("\\", "/")).lstrip("/")
    if norm in ("", ".") or norm.startswith("../") or norm == "..":
        raise MtlsError("support bundle file name %r leaves the bundle folder" % name)
    return norm


def to_file_data(value) -> str:
    """What a gathered value looks like inside the bundle: text as is, anything else as indented JSON."""
    if isinstance(value, str):
        return value if value.endswith("\n") or not value else value + "\n"
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


def build_archive(files: dict, root: str, literals=(), mtime: float | None = None) -> tuple[bytes, dict]:
    """tar.gz bytes with every file under ``root/`` redacted, and the manifest (also stored as MANIFEST.json).

    ``files`` maps a relative name to str/bytes. Key files (by name) and binary files are left out and listed in the
    manifest with the reason. Raises MtlsError if, after redaction, a file still holds a private key marker or a
    literal secret (which would mean a redaction rule is missing).
    """
    mtime = time.time() if mtime is None else mtime
    root = _safe_name(root)
    manifest = {"root": root, "files": [], "excluded": [], "redactions": 0}
    out = {}
    for name in sorted(files):
        safe = _safe_name(name)
        if is_key_file(safe):
            manifest["excluded"].append({"name": safe, "reason": "key file"})
            continue
        text = _as_text(files[name])
        if text is None:
            manifest["excluded"].append({"name": safe, "reason": "binary file (cannot be redacted)"})
            continue
        red, n = redact_text(text, literals)
        leak = _leak(red, literals)
        if leak:
            raise MtlsError("support bundle: %s still holds %s after redaction; not archived" % (safe, leak))
        out[safe] = red.encode("utf-8")
        manifest["files"].append({"name": safe, "bytes": len(out[safe]), "redactions": n})
        manifest["redactions"] += n
    out["MANIFEST.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(out):
            info = tarfile.TarInfo("%s/%s" % (root, name))
            info.size = len(out[name])
            info.mode = 0o600
            info.mtime = int(mtime)
            tar.addfile(info, io.BytesIO(out[name]))
    return buf.getvalue(), manifest


def _leak(text: str, literals=()) -> str | None:
    if KEY_MARKER in text:
        return "a private key block"
    for secret in literals:
        if secret and len(secret) >= 4 and secret in text:
            return "a secret value"
    return None


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``path`` through a temporary file in the same folder (removed on any failure)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".support-bundle-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def proxy_bundle_files(data: bytes, prefix: str) -> dict:
    """The files of an exported proxy revision bundle (zip), under ``prefix/`` (names checked, no zip slip)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise MtlsError("the exported proxy bundle %s is not a zip file (%s)" % (prefix, exc)) from None
    out = {}
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            out["%s/%s" % (prefix, _safe_name(info.filename))] = zf.read(info)
    return out


def broken_links(report: dict) -> list[dict]:
    return [lk for lk in report.get("links", []) if lk.get("verdict") != "ok"]


def curl_commands(report: dict, call_url: str = "", call_urls: dict | None = None, only_broken: bool = True):
    """Per link (broken ones by default) and base path of a proxy using it, the curl that reproduces the call."""
    out = []
    for link in (broken_links(report) if only_broken else report.get("links", [])):
        env = link.get("env") or ""
        base = ((call_urls or {}).get(env) or call_url or "").rstrip("/")
        for use in link.get("used_by") or []:
            for path in use.get("basepaths") or ["/"]:
                url = (base + "/" + path.lstrip("/")) if base else None
                out.append({"link": link["id"], "env": env, "verdict": link.get("verdict"), "api": use.get("api"),
                            "revision": use.get("revision"), "basepath": path, "url": url,
                            "curl": ("curl -v -i %s" % shlex.quote(url)) if url else None})
    return out


def failing_proxies(report: dict, only_broken: bool = True) -> list[dict]:
    """Distinct (api, revision) of the proxies that use the (broken) links, in report order."""
    seen, out = set(), []
    for link in (broken_links(report) if only_broken else report.get("links", [])):
        for use in link.get("used_by") or []:
            key = (use.get("api"), use.get("revision"))
            if key[0] and key[1] is not None and key not in seen:
                seen.add(key)
                out.append({"api": key[0], "revision": int(key[1])})
    return out


def summary_markdown(report: dict, curls: list[dict], log_groups: list[dict], proxies: list[dict],
                     steps_tried=(), notes=()) -> str:
    """README.md of the bundle: the facts support asks for first (org, env, proxy, curl, message IDs)."""
    lines = ["# Support bundle: southbound two-way TLS (503 / Received fatal alert)", "",
             "- Organization: `%s`" % report.get("org", ""),
             "- Environments: %s" % ", ".join("`%s`" % e for e in report.get("envs", [])),
             "- Management API: %s" % report.get("mgmt_url", ""),
             "- Diagnosis generated at: %s" % report.get("generated_at", ""),
             "- Links: %s total, %s ok, %s broken" % (report.get("summary", {}).get("total", 0),
                                                      report.get("summary", {}).get("ok", 0),
                                                      report.get("summary", {}).get("broken", 0)), ""]
    lines += ["## Broken links", ""]
    broken = broken_links(report)
    if not broken:
        lines.append("None: every link was ok when this bundle was made.")
    for link in broken:
        uses = ", ".join("%s rev %s" % (u.get("api"), u.get("revision")) for u in link.get("used_by") or [])
        hs = link.get("handshake") or {}
        lines += ["### `%s`" % link["id"], "",
                  "- Verdict: `%s`" % link.get("verdict"),
                  "- Backend: %s:%s (keystore `%s`, alias `%s`, truststore `%s`)" % (
                      link.get("host"), link.get("port"), link.get("keystore"), link.get("alias"),
                      link.get("truststore")),
                  "- Proxies: %s" % (uses or "none"),
                  "- Handshake from the MP's vantage point: %s" % (
                      hs.get("alert_text") or hs.get("alert") or ("HTTP %s" % hs["http_status"]
                                                                  if hs.get("http_status") else hs.get("error"))),
                  "- Fix suggested: %s" % ((link.get("remediation") or {}).get("text") or "-"), ""]
    lines += ["## Reproduce", ""]
    runnable = [c for c in curls if c.get("curl")]
    if runnable:
        lines += ["```sh"] + ["%s   # %s" % (c["curl"], c["link"]) for c in runnable] + ["```", ""]
    else:
        lines += ["No call URL configured (set the MP/virtual host URL to get the curl commands).", ""]
    lines += ["## MP log: handshake failures", ""]
    if log_groups:
        for g in log_groups:
            lines.append("- %s/%s %s rev %s -> %s: %s x `%s` (%s .. %s), message IDs: %s" % (
                g.get("org"), g.get("env"), g.get("api"), g.get("rev"), g.get("remote"), g.get("count"),
                g.get("alert") or g.get("message"), g.get("first"), g.get("last"),
                ", ".join(g.get("message_ids") or [])))
    else:
        lines.append("No handshake failure records found (or no MP log configured).")
    lines += ["", "## Proxy bundles", ""]
    lines += ["- %s revision %s" % (p["api"], p["revision"]) for p in proxies] or ["None exported."]
    lines += ["", "## Runbook steps tried", ""]
    lines += ["- %s" % s for s in steps_tried] or ["- Automated diagnosis (diagnosis/mtls-report.md)."]
    if notes:
        lines += ["", "## Notes", ""] + ["- %s" % n for n in notes]
    lines += ["", "Secrets (passwords, tokens, Authorization headers, private keys) are redacted; key files are not "
              "included. See MANIFEST.json for what was redacted or left out.", ""]
    return "\n".join(lines)
