"""Calls through the Apigee runtime (the proof of a fix): many GETs at once, each answered with its status or the
reason it got none. Plain Python over requests; no Ansible."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.mtls.errors import MtlsError

try:
    import requests
except ImportError:  # pragma: no cover - exercised only on hosts without requests
    requests = None


def call_one(url: str, timeout: float = 20.0, validate_certs: bool = True) -> dict:
    """{"url", "status" (None when no answer), "error" (why not), "elapsed_ms"} of one GET (redirects followed, as
    ansible.builtin.uri does for a GET)."""
    started = time.monotonic()
    try:
        resp = requests.get(url, timeout=timeout, verify=validate_certs, allow_redirects=True)
        status, error = resp.status_code, None
        resp.close()
    except requests.exceptions.RequestException as exc:
        status, error = None, "%s: %s" % (type(exc).__name__, str(exc).split("\n")[0][:300])
    return {"url": url, "status": status, "error": error, "elapsed_ms": int((time.monotonic() - started) * 1000)}


def call_all(urls, timeout: float = 20.0, validate_certs: bool = True, workers: int = 8) -> list[dict]:
    """Every URL called once, `workers` at a time; the answers in the order of `urls`."""
    if requests is None:
        raise MtlsError("the Python library 'requests' is required for calls through Apigee")
    urls = list(urls or [])
    for url in urls:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise MtlsError("a call through Apigee needs an http(s) URL, got %r" % (url,))
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(int(workers), len(urls)))) as pool:
        return list(pool.map(lambda u: call_one(u, timeout, validate_certs), urls))
