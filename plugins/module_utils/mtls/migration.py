"""The pre-cutover check of an Edge -> Apigee X / hybrid migration, from two diagnosis reports (no HTTP, no Ansible).

Given the diagnosis of the source org (Edge, the links that carry the traffic today) and of the target org (X /
hybrid, probed as its MP would be), pair their southbound links by what they are, not by their ids (revisions are
renumbered when proxies are imported): a target server by its name, a proxy target endpoint by (API, target endpoint
name), a service callout by (API, policy name), each in the paired environment. Names that differ on purpose are
mapped (:data:`MAPPING_KEYS`). Then, per pair, say what differs in what each MP would present (stored chain by
fingerprint, keystore/reference/alias/truststore, key, client auth, backend, protocols) and whether the link would
break at cutover:

- ``would_break``: works on the source, the target's verdict is not ``ok`` -- the fix is the target's remediation;
- ``broken_on_both``: broken today and on the target too (cutover changes nothing; fix it anyway);
- ``ok``: the target's verdict is ``ok`` (differences, if any, are listed: they did not break the link);
- ``missing_on_target``: the source has the link, the target none (the call that uses it fails on the target);
- ``only_on_target``: the target has a link the source does not (nothing carries traffic on it today).

The target's verdict is the one its own diagnosis decided (the same JSSE model, the same list of verdicts): a link
the tool could not check there (unreachable backend, an alias whose key was not reported, ...) is never ``ok``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os

from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.report import SCHEMA_VERSION, write_if_changed

MIGRATION_SCHEMA_VERSION = 1
STATUSES = ("would_break", "missing_on_target", "broken_on_both", "only_on_target", "ok")
# statuses that mean "do not cut over yet": something that carries traffic today would stop
BLOCKING = ("would_break", "missing_on_target")
# what may be renamed between the orgs, each {source name: target name}
MAPPING_KEYS = ("envs", "target_servers", "apis", "keystores", "references", "aliases", "hosts")
# the fields compared per pair: (field, the mapping that renames its value, or None)
COMPARED = (("host", "hosts"), ("port", None), ("tls_enabled", None), ("client_auth_enabled", None),
            ("keystore", "keystores"), ("reference", "references"), ("alias", "aliases"),
            ("truststore", "keystores"), ("has_key", None), ("stored_chain", None), ("protocols", None))


class MappingError(MtlsError):
    """The mapping option is not what :data:`MAPPING_KEYS` describes."""


def check_mapping(mapping) -> dict:
    """The mapping with every key present ({} when not given); a clear error for anything else."""
    mapping = {} if mapping is None else mapping
    if not isinstance(mapping, dict):
        raise MappingError("mapping must be a dict with the keys %s" % ", ".join(MAPPING_KEYS))
    unknown = sorted(set(mapping) - set(MAPPING_KEYS))
    if unknown:
        raise MappingError("mapping has unknown key(s) %s; the keys are %s" % (", ".join(unknown),
                                                                                 ", ".join(MAPPING_KEYS)))
    out = {}
    for key in MAPPING_KEYS:
        value = mapping.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            raise MappingError("mapping.%s must map source names to target names (strings), got %r" % (key, value))
        out[key] = dict(value)
    return out


def read_source_report(path: str) -> dict:
    """A diagnosis report written earlier (apigee_mtls_diagnose's mtls-report.json), checked to be one: a clear
    error for a missing file, non-JSON, or a JSON that is not a diagnosis report (e.g. the rows of a later play)."""
    try:
        with open(path, encoding="utf-8") as fh:
            report = json.load(fh)
    except OSError as exc:
        raise MtlsError("source_report %s cannot be read: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise MtlsError("source_report %s is not JSON: %s" % (path, exc)) from None
    links = report.get("links") if isinstance(report, dict) else None
    if not isinstance(links, list) or report.get("schema_version") != SCHEMA_VERSION:
        raise MtlsError("source_report %s is not a diagnosis report (schema_version %s with links): write one with "
                        "diagnose.yml or apigee_mtls_diagnose report_dir" % (path, SCHEMA_VERSION))
    if links and not any("chain_summary" in row for row in links):
        raise MtlsError("source_report %s holds the report's rows only, without the stored chains: give the whole "
                        "report (the file the rows' path names)" % path)
    return report


def _renamed(mapping, key, value):
    return mapping[key].get(value, value) if value is not None else None


def pair_key(row: dict, mapping: dict | None = None) -> tuple:
    """What a link is, in the target's names: (kind, env, name) for a target server, (kind, env, api, target
    endpoint or policy) for a proxy or a service callout. Without mapping: in the row's own names."""
    m = mapping or {k: {} for k in MAPPING_KEYS}
    env = _renamed(m, "envs", row.get("env"))
    if row.get("source") == "targetserver":
        return ("targetserver", env, _renamed(m, "target_servers", row.get("name")))
    return (row.get("source"), env, _renamed(m, "apis", row.get("api")), row.get("name"))


def key_text(key: tuple) -> str:
    """A pair key as one readable string: ``targetserver:prod/orders``, ``proxy:prod/orders-api/default``."""
    return "%s:%s" % (key[0], "/".join(str(k) for k in key[1:]))


def _rev(row):
    try:
        return int(row.get("revision") or 0)
    except (TypeError, ValueError):
        return 0


def _by_key(rows, mapping):
    """{pair key: row}; of several deployed revisions of one proxy, the highest (the one a cutover carries)."""
    out = {}
    for row in rows:
        key = pair_key(row, mapping)
        if key not in out or _rev(row) > _rev(out[key]):
            out[key] = row
    return out


def has_key(row: dict):
    """Whether the link's alias holds a private key, from the row's keystore evidence: True, False, or None when the
    diagnosis did not learn it (no alias, no keystore read)."""
    ks = (row.get("evidence") or {}).get("keystore")
    alias = row.get("alias")
    if not isinstance(ks, dict) or not alias or alias not in (ks.get("aliases") or []):
        return None
    if "aliases_with_key_and_certificate" not in ks:
        return None
    return alias in ks["aliases_with_key_and_certificate"]


def stored_chain(row: dict) -> list[dict]:
    """The chain the link's alias stores (what the MP presents), as subject and SHA-256 per certificate."""
    return [{"subject": c.get("subject"), "sha256": c.get("sha256")} for c in row.get("chain_summary") or []]


def _value(row, field):
    if field == "has_key":
        return has_key(row)
    if field == "stored_chain":
        return stored_chain(row)
    if field == "protocols":
        return list((row.get("tls_versions") or {}).get("allowed") or [])
    return row.get(field)


def differences(source: dict, target: dict, mapping: dict | None = None) -> list[dict]:
    """What differs between a paired source and target link, each ``{"field", "source", "target"}``; a name renamed
    as the mapping says is no difference (the source value is shown in the target's names). Chains compare by the
    certificates' SHA-256, in order."""
    m = mapping or {k: {} for k in MAPPING_KEYS}
    out = []
    for field, renames in COMPARED:
        s, t = _value(source, field), _value(target, field)
        if renames:
            s = _renamed(m, renames, s)
        if field == "stored_chain":
            same = [c["sha256"] for c in s] == [c["sha256"] for c in t]
        elif field == "has_key" and (s is None or t is None):
            same = True   # not learnt on one side: nothing to compare (the target's verdict says what it knows)
        else:
            same = s == t
        if not same:
            out.append({"field": field, "source": s, "target": t})
    return out


def _fix_from(target, source, diffs):
    rem = dict(target.get("remediation") or {})
    fix = {"action": rem.get("action") or "manual", "text": rem.get("text") or ""}
    chain_diff = next((d for d in diffs if d["field"] == "stored_chain"), None)
    if chain_diff and source.get("verdict") == "ok" and chain_diff["source"]:
        leaf = chain_diff["source"][0]
        fix["source_presents"] = chain_diff["source"]
        fix["text"] += (" The source's MP presents %s (SHA-256 %s) with %d certificate(s) and works: the same chain "
                        "and key in %s alias %s make the target present what the source does."
                        % (leaf["subject"], leaf["sha256"], len(chain_diff["source"]),
                           target.get("keystore") or "the link's keystore", target.get("alias") or "(its alias)"))
    return fix


def _missing_fix(key, source):
    kind = key[0]
    what = {"targetserver": "target server %s" % key[2],
            "proxy": "proxy %s (target endpoint %s)" % (key[2], key[3] if len(key) > 3 else ""),
            "callout": "proxy %s (service callout %s)" % (key[2], key[3] if len(key) > 3 else "")}.get(kind, str(key))
    uses = ", ".join("%s %s" % (k, source.get(k)) for k in ("keystore", "reference", "alias", "truststore")
                     if source.get(k))
    return {"action": "manual",
            "text": "create %s in environment %s of the target and deploy it%s; or, if it has a new name there, map "
                    "it (migration mapping)" % (what, key[1], " (the source uses %s)" % uses if uses else "")}


def _entry(key, source, target, mapping):
    entry = {"key": key_text(key), "source_id": source.get("id") if source else None,
             "target_id": target.get("id") if target else None,
             "source_verdict": source.get("verdict") if source else None,
             "target_verdict": target.get("verdict") if target else None, "differences": [], "fix": None}
    if source and not target:
        entry.update(status="missing_on_target", fix=_missing_fix(key, source))
        return entry
    if target and not source:
        entry["status"] = "only_on_target"
        if target.get("verdict") != "ok":
            entry["fix"] = {"action": (target.get("remediation") or {}).get("action") or "manual",
                            "text": (target.get("remediation") or {}).get("text") or ""}
        return entry
    diffs = differences(source, target, mapping)
    entry["differences"] = diffs
    if target.get("verdict") == "ok":
        entry["status"] = "ok"
    else:
        entry["status"] = "would_break" if source.get("verdict") == "ok" else "broken_on_both"
        entry["fix"] = _fix_from(target, source, diffs)
    return entry


def migration_report(source_report: dict, target_report: dict, mapping=None, source_platform=None,
                     target_platform=None) -> dict:
    """The migration check of two diagnosis reports (source: today's org; target: the org traffic moves to)."""
    m = check_mapping(mapping)
    src = _by_key(source_report.get("links") or [], m)
    tgt = _by_key(target_report.get("links") or [], None)
    order = {s: i for i, s in enumerate(STATUSES)}
    entries = [_entry(k, src.get(k), tgt.get(k), m) for k in set(src) | set(tgt)]
    entries.sort(key=lambda e: (order[e["status"]], e["key"]))
    counts = {s: 0 for s in STATUSES}
    for e in entries:
        counts[e["status"]] += 1
    blocking = [e["key"] for e in entries if e["status"] in BLOCKING]
    return {
        "schema_version": MIGRATION_SCHEMA_VERSION,
        "generated_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "source": _side(source_report, source_platform), "target": _side(target_report, target_platform),
        "mapping": {k: v for k, v in m.items() if v},
        "summary": {"pairs": len(entries), "by_status": counts, "ready": not blocking, "blocking": blocking,
                    "with_differences": sum(1 for e in entries if e["differences"])},
        "links": entries,
    }


def _side(report, platform):
    return {"platform": platform, "org": report.get("org"), "envs": list(report.get("envs") or []),
            "mgmt_url": report.get("mgmt_url"), "links": len(report.get("links") or [])}


def _cell(value) -> str:
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join("%s (%s...)" % (c.get("subject"), str(c.get("sha256") or "")[:11]) for c in value) \
                or "(none)"
        return ", ".join(str(v) for v in value) or "(none)"
    return "(none)" if value is None else str(value).replace("|", "\\|")


def render_markdown(mig: dict) -> str:
    """The migration check as Markdown: the verdict for cutover, a table per pair, then each difference and fix."""
    s = mig["summary"]
    lines = ["# Migration check: %s (%s) -> %s (%s)" % (
        mig["source"]["org"], mig["source"].get("platform") or "source", mig["target"]["org"],
        mig["target"].get("platform") or "target"), "",
        "Generated %s." % mig["generated_at"], "",
        "%d pairs: %s." % (s["pairs"], ", ".join("%d %s" % (n, st) for st, n in s["by_status"].items() if n)), "",
        ("**Ready for cutover**: no link that works today would break." if s["ready"] else
         "**Not ready for cutover**: %d link(s) that carry traffic today would break or are missing on the target."
         % len(s["blocking"])), "",
        "| status | link | source verdict | target verdict | differences |", "|---|---|---|---|---|"]
    for e in mig["links"]:
        lines.append("| %s | `%s` | %s | %s | %s |" % (e["status"], e["key"], e["source_verdict"] or "-",
                                                      e["target_verdict"] or "-",
                                                      ", ".join(d["field"] for d in e["differences"]) or "-"))
    for e in mig["links"]:
        if not e["differences"] and not e["fix"]:
            continue
        lines += ["", "## %s `%s`" % (e["status"], e["key"]), ""]
        for d in e["differences"]:
            lines.append("- %s: source %s, target %s" % (d["field"], _cell(d["source"]), _cell(d["target"])))
        if e["fix"]:
            lines.append("- fix (%s): %s" % (e["fix"]["action"], e["fix"]["text"]))
    return "\n".join(lines) + "\n"


def write_migration(mig: dict, directory: str, check_mode: bool = False):
    """Write migration-check.json and migration-check.md into directory; (paths, changed), content-equal files left
    alone (report.write_if_changed)."""
    paths = {"json": os.path.join(directory, "migration-check.json"),
             "markdown": os.path.join(directory, "migration-check.md")}
    changed = write_if_changed([(paths["json"], json.dumps(mig, indent=2, sort_keys=True) + "\n", "json"),
                           (paths["markdown"], render_markdown(mig), "markdown")], check_mode)
    return paths, changed
