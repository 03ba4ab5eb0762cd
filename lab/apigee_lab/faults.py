"""Fault injection and request accounting for the management API emulator (admin endpoints under ``/_lab``).

A rule: {"method": "GET"|"*", "path_regex": "...", "status": 429|500|503|..., "retry_after": seconds,
"latency_ms": N, "drop": bool, "count": N}. It applies to the next ``count`` requests whose method matches and whose
path matches ``path_regex`` (``re.search``), in the order the rules were added; the first matching rule wins. A rule
may only add latency (no status, no drop): the request then proceeds normally after the delay.
"""
from __future__ import annotations

import re
import threading
from collections import Counter, deque
from dataclasses import dataclass

ALLOWED_STATUS = (400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 504)


class FaultRuleError(ValueError):
    pass


@dataclass
class FaultRule:
    id: int
    method: str
    path_regex: str
    status: int | None
    retry_after: int | None
    latency_ms: int
    drop: bool
    remaining: int

    def to_dict(self) -> dict:
        return {"id": self.id, "method": self.method, "path_regex": self.path_regex, "status": self.status,
                "retry_after": self.retry_after, "latency_ms": self.latency_ms, "drop": self.drop,
                "count": self.remaining}


def _int(spec: dict, key: str, default=None, lo=None, hi=None):
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FaultRuleError("%s must be an integer" % key)
    try:
        value = int(value)
    except ValueError:
        raise FaultRuleError("%s must be an integer" % key) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise FaultRuleError("%s must be between %s and %s" % (key, lo, hi))
    return value


class Faults:
    """Thread-safe fault rules and request counters."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self.total = 0
        self.by_route: Counter = Counter()
        self.by_status: Counter = Counter()
        self.injected = 0
        self.journal: deque = deque(maxlen=50000)  # method, path, query names, content type of each request

    def add(self, spec: dict) -> FaultRule:
        if not isinstance(spec, dict):
            raise FaultRuleError("the fault rule must be a JSON object")
        unknown = set(spec) - {"method", "path_regex", "status", "retry_after", "latency_ms", "drop", "count"}
        if unknown:
            raise FaultRuleError("unknown fault rule field(s): %s" % ", ".join(sorted(unknown)))
        method = str(spec.get("method") or "*").upper()
        path_regex = spec.get("path_regex") or ".*"
        try:
            re.compile(path_regex)
        except re.error as exc:
            raise FaultRuleError("path_regex is not a valid regular expression: %s" % exc) from None
        status = _int(spec, "status")
        if status is not None and status not in ALLOWED_STATUS:
            raise FaultRuleError("status must be one of %s" % ", ".join(map(str, ALLOWED_STATUS)))
        drop = spec.get("drop", False)
        if not isinstance(drop, bool):
            raise FaultRuleError("drop must be true or false")
        if drop and status is not None:
            raise FaultRuleError("a rule either drops the connection or answers a status, not both")
        latency = _int(spec, "latency_ms", 0, 0, 60000)
        if status is None and not drop and not latency:
            raise FaultRuleError("a rule needs a status, drop: true, or latency_ms")
        retry_after = _int(spec, "retry_after", None, 0, 3600)
        count = _int(spec, "count", 1, 1, 1000000)
        with self._lock:
            rule = FaultRule(self._next_id, method, path_regex, status, retry_after, latency, drop, count)
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def match(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this request (its remaining count is consumed), or None."""
        with self._lock:
            for rule in self._rules:
                if rule.method not in ("*", method.upper()):
                    continue
                if not re.search(rule.path_regex, path):
                    continue
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                self.injected += 1
                return rule
        return None

    # ------------------------------------------------------------------ request accounting
    def count(self, method: str, path: str, query=(), content_type: str = "") -> None:
        with self._lock:
            self.total += 1
            self.by_route["%s %s" % (method.upper(), path)] += 1
            # what a request looked like, never its body or headers' values (no secrets): for the contract check
            self.journal.append({"method": method.upper(), "path": path, "query": sorted(set(query)),
                                 "content_type": content_type})

    def count_status(self, status: int) -> None:
        with self._lock:
            self.by_status[str(status)] += 1

    def stats(self) -> dict:
        with self._lock:
            return {"total": self.total, "injected": self.injected, "by_route": dict(self.by_route),
                    "by_status": dict(self.by_status)}

    def journal_entries(self) -> list[dict]:
        with self._lock:
            return list(self.journal)

    def reset_stats(self) -> None:
        with self._lock:
            self.total = 0
            self.injected = 0
            self.by_route.clear()
            self.by_status.clear()
            self.journal.clear()
