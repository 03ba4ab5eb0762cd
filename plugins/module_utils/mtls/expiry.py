"""Expiry forecast: the certificates a link depends on that expire within a window, so that a scheduled diagnosis
catches the outage before it happens (plain Python).

A link depends on its stored chain (leaf, intermediates, an attached root) and on the CA the backend trusts: among
the CAs its CertificateRequest names, those whose certificate is known (the CA bundle, the CAs of the env's
keystores) are checked; a named CA whose certificate is not known is listed under ``unchecked``, never assumed
valid. A link that works today keeps its verdict (``ok``) and carries the warning with the date.
"""
from __future__ import annotations

import datetime as _dt

from ansible.module_utils.mtls import certcore

DEFAULT_WARN_DAYS = 30


def _role(index: int, cert) -> str:
    if index == 0:
        return "leaf"
    return "root" if certcore.is_self_signed(cert) else "intermediate"


def forecast(chain, trusted_names=(), known_cas=(), warn_days: int = DEFAULT_WARN_DAYS, at=None) -> dict:
    """{"warn_days", "checked", "expiring": [{"what", "subject", "not_after", "days_left", "sha256"}], "unchecked":
    [DN of a trusted CA whose certificate is not known], "soonest": ISO date or None}. chain: the stored chain, leaf
    first; trusted_names: the CA names of the backend's CertificateRequest (x509.Name or DN text); known_cas: CA
    certificates the tool has. Certificates already expired are left to the verdicts."""
    now = at or _dt.datetime.now(_dt.UTC)
    horizon = now + _dt.timedelta(days=int(warn_days))
    items, seen = [], set()

    def add(cert, what):
        fp = certcore.fingerprint_sha256(cert)
        if fp in seen:
            return
        seen.add(fp)
        items.append((cert, what))

    for i, cert in enumerate(chain or []):
        add(cert, _role(i, cert))
    unchecked = []
    for name in trusted_names or ():
        matches = [c for c in known_cas or () if certcore.dn_equal(c.subject, name)]
        if not matches:
            unchecked.append(name if isinstance(name, str) else certcore.dn_rfc4514(name))
        for cert in matches:
            add(cert, "trusted CA")
    expiring = []
    for cert, what in items:
        end = cert.not_valid_after_utc
        if now <= end <= horizon:
            expiring.append({"what": what, "subject": certcore.dn_rfc4514(cert.subject),
                             "not_after": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "days_left": max(0, (end - now).days), "sha256": certcore.fingerprint_sha256(cert)})
    expiring.sort(key=lambda e: e["not_after"])
    return {"warn_days": int(warn_days), "checked": len(items), "expiring": expiring, "unchecked": unchecked,
            "soonest": expiring[0]["not_after"] if expiring else None}


def warning_text(link_id: str, item: dict) -> str:
    return "%s: the %s %s expires on %s (in %d day%s)" % (link_id, item["what"], item["subject"], item["not_after"],
                                                         item["days_left"], "" if item["days_left"] == 1 else "s")
