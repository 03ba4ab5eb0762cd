"""Which verification calls to make after the fixes (pure).

A fix may change a link's id (a proxy fixed by a new revision: proxy:<env>/<api>/<rev>/<target> -> rev+1); the
remediation records old id -> new id, and verification follows it.
"""
from __future__ import annotations

from ansible.module_utils.mtls.apigee.resources import latest_revision_id
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.report import verdict_code


def rename_map(renamed=None, rows=None, earlier=None) -> dict:
    """old id -> new id from every run so far: the renames an earlier remediation report kept (`earlier`, its
    ``renames``), its rows (`id` -> `now`), and this run's renames (which win). Entries that rename nothing are
    dropped, so a run with nothing to rename keeps what earlier runs renamed."""
    out = {}
    for old, new in (earlier or {}).items():
        if old and new and new != old:
            out[str(old)] = str(new)
    for row in rows or []:
        if isinstance(row, dict) and row.get("id") and row.get("now") and row["now"] != row["id"]:
            out[str(row["id"])] = str(row["now"])
    for old, new in (renamed or {}).items():
        if old and new and new != old:
            out[str(old)] = str(new)
    return out


def rename_chain(link_id: str, mapping: dict) -> list:
    """Every id a link has had from link_id on: old -> new followed through later renames (rev 1 -> 2 -> 3), the id
    now last; stops on a cycle."""
    chain = [link_id]
    while chain[-1] in mapping and mapping[chain[-1]] not in chain:
        chain.append(mapping[chain[-1]])
    return chain


def follow_renames(link_id: str, mapping: dict, known=None) -> str:
    """The id a link has now. With `known` (the ids of the diagnosis), the latest id of the chain that the diagnosis
    has: a rename recorded by an earlier run of another lab state does not hide the link."""
    chain = rename_chain(link_id, mapping)
    if known is not None:
        present = [i for i in chain if i in known]
        if present and present[-1] == chain[-1]:
            return present[-1]
        # a renamed link whose proxy was changed again in the same run (a later revision of it is deployed now)
        later = latest_revision_id(chain[-1], known) if len(chain) > 1 else None
        if later in known:
            return later
        if present:
            return present[-1]
    return chain[-1]


def report_verdicts(report) -> dict:
    """link id -> verdict code of a diagnosis report (verdict as a code or as {code: ...})."""
    links = report.get("links") if isinstance(report, dict) else report
    return {link.get("id"): verdict_code(link) for link in links or [] if isinstance(link, dict)}


def verification_calls(urls, report, renamed=None, rows=None, base_url: str = "", earlier=None) -> dict:
    """Split the configured verification calls ({id, url} or {id, basepath}) by the diagnosis after the fixes.

    Each call's id is followed through the remediation's renames to the link's id now. Returns {"calls": those whose
    link is ok now (to be called), "not_ok": those whose link is not ok (a call would fail for a known reason),
    "unknown": those whose link is in the report under neither its id nor its new id, "renames": every rename known
    so far (to be kept in this run's remediation report)}; every entry has id, now, verdict and url."""
    mapping = rename_map(renamed, rows, earlier)
    verdicts = report_verdicts(report)
    out = {"calls": [], "not_ok": [], "unknown": [], "renames": mapping}
    for item in urls or []:
        if not isinstance(item, dict) or not item.get("id"):
            raise MtlsError("a verification call needs an id (the link id) and a url or basepath: got %r" % (item,))
        url = item.get("url") or ("%s%s" % (base_url or "", item["basepath"]) if item.get("basepath") else None)
        if not url:
            raise MtlsError("verification call %s has neither url nor basepath" % item["id"])
        now = follow_renames(str(item["id"]), mapping, verdicts)
        verdict = verdicts.get(now)
        entry = {"id": item["id"], "now": now, "verdict": verdict, "url": url}
        out["calls" if verdict == "ok" else "unknown" if verdict is None else "not_ok"].append(entry)
    return out
