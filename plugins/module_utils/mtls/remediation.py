"""The remediation plan: a diagnosis report plus what the inventory declares -> what to change, per link (pure).

Per link: ``fix`` (with what), ``none``, or ``manual`` (naming the exact missing input). Secrets stay as the inventory
gave them (paths or vaulted values) and are never copied into the plan's text.
"""
from __future__ import annotations

from ansible.module_utils.mtls.apigee.resources import env_of_link_id, latest_revision_id, parse_link_id
from ansible.module_utils.mtls.report import remediation_of, verdict_code

FIX_ACTIONS = ("upload_chain", "trust_issuer")
LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}
KEPT_IN_APIGEE = object()  # a certificate-only update: the alias keeps the key it has
SECRET_FIELDS = ("private_key", "private_key_password", "pkcs12", "pkcs12_password")


def _same_host(a, b) -> bool:
    a, b = str(a or "").lower().strip("[]"), str(b or "").lower().strip("[]")
    return a == b or (a in LOOPBACK and b in LOOPBACK)


def find_backend(backends: list, host, port):
    """The inventory backend (group mtls_backends) serving host:port, or None."""
    for b in backends:
        if str(b.get("port")) == str(port) and _same_host(b.get("host"), host):
            return b
    return None


def find_material(materials: list, env, keystore, alias, reference=None, link_id=None):
    """Remediation material declared in inventory for this link: by link id, else env/keystore/alias, else
    env/reference/alias."""
    for m in materials:
        if link_id and m.get("id") == link_id:
            return m
    for m in materials:
        if m.get("alias") not in (None, alias) or m.get("env") not in (None, env):
            continue
        if keystore and m.get("keystore") == keystore:
            return m
        if reference and m.get("reference") == reference:
            return m
    return None


def _m(material, name):
    """A material field (the inventory vocabulary: cert_chain, private_key, pkcs12, ca_bundle, issuer_ca, ca_chain,
    strategy); None when absent or empty."""
    value = (material or {}).get(name)
    return value if value not in (None, "", []) else None


def plan_remediation(report: dict, materials: list, backends: list, strategy: str = "rotate",
                     enable_client_auth: bool = False, backend_group: str = "mtls_backends") -> dict:
    """Per link: fix (with what), none, or manual (with the exact missing input). Secrets stay paths/references.

    enable_client_auth: turn ClientAuthEnabled on for client_auth_disabled links (a target server is updated, a proxy
    gets a new revision deployed); off by default, then those links are manual."""
    links = report.get("links") if isinstance(report, dict) else report
    out = {"links": [], "keystore_items": [], "truststore_certs": {}, "client_auth_links": [], "counts": {}}
    seen_items = {}
    for link in links or []:
        code = verdict_code(link)
        rem = remediation_of(link)
        action = rem.get("action") or ("none" if code == "ok" else "manual")
        env = link.get("env") or env_of_link_id(link.get("id"))
        keystore = rem.get("keystore") or link.get("keystore")
        alias = rem.get("alias") or link.get("alias")
        reference = rem.get("reference") or link.get("reference")
        backend_of_plan = rem.get("backend") or {}
        host = backend_of_plan.get("host") or link.get("host")
        port = backend_of_plan.get("port") or link.get("port")
        entry = {"id": link.get("id"), "verdict": code, "action": action, "status": "none", "detail": "",
                 "missing": None, "keystore": keystore, "alias": alias, "backend": None}
        material = find_material(materials, env, keystore, alias, reference, link.get("id"))
        if action == "none":
            entry["detail"] = "nothing to do"
        elif action == "upload_chain" or (action == "renew_certificate" and (
                (_m(material, "cert_chain") and _m(material, "private_key")) or _m(material, "pkcs12"))):
            # renew_certificate with declared material: the operator's current chain and key are uploaded (Apigee
            # refuses an expired certificate in it, before any change)
            chain = _m(material, "cert_chain")
            key = _m(material, "private_key") or _m(material, "pkcs12")
            if not key and not rem.get("key_required", True) and rem.get("certificates") and not chain:
                # the verdict carries the complete chain and the alias keeps its key: certificate-only update
                chain = "".join(c.get("pem") or "" for c in rem["certificates"]) or None
                key = KEPT_IN_APIGEE if chain else None
            if not keystore and not reference:
                entry.update(status="manual", missing="the keystore of the link is unknown")
            elif not alias:
                entry.update(status="manual", missing="the key alias of the link is unknown")
            elif not (chain or _m(material, "pkcs12")) or not key:
                entry.update(status="manual", missing="cert_chain and private_key for keystore %s alias %s (or one "
                             "pkcs12) in mtls_keystore_material (inventory)%s" % (
                                 keystore or reference, alias, ", with a %s key" % " or ".join(rem["accepted_keys"])
                                 if rem.get("accepted_keys") else ""))
            else:
                k = (env, reference or keystore, alias)
                if k not in seen_items:
                    # certificates only (public); the key is named by its material entry, never copied here
                    item = {"env": env, "keystore": keystore, "alias": alias, "cert_chain": chain,
                            "ca_bundle": _m(material, "ca_bundle") or _m(material, "ca_chain"), "link_ids": [],
                            "material_index": materials.index(material) if material is not None else None,
                            "key": "kept" if key == KEPT_IN_APIGEE else "pkcs12" if _m(material, "pkcs12")
                            else "private_key"}
                    if item["key"] == "pkcs12":
                        item.pop("cert_chain")
                    if rem.get("accepted_keys"):  # the material's key must be one the backend lets the MP use
                        item["accepted_keys"] = list(rem["accepted_keys"])
                    if rem.get("include_root") is False:  # the backend refuses the root: never attach it
                        item["include_root"] = False
                    if reference:
                        item["reference"] = reference
                    item["strategy"] = _m(material, "strategy") or strategy
                    seen_items[k] = item
                    out["keystore_items"].append(item)
                seen_items[k]["link_ids"].append(link.get("id"))
                entry.update(status="fix", detail="upload the complete chain to %s/%s" % (keystore, alias))
        elif action == "trust_issuer":
            backend = find_backend(backends, host, port)
            if backend is None:
                entry.update(status="manual", missing="no backend in group %s serves %s:%s (declare "
                             "backend_host/backend_port and its truststore)" % (backend_group, host, port))
            elif not backend.get("truststore_path"):
                entry.update(status="manual", backend=backend.get("name"),
                             missing="backend_truststore_path of %s" % backend.get("name"))
            else:
                fmt = backend.get("truststore_format") or "pem_bundle"
                issuer = _m(material, "issuer_ca") or rem.get("pem")
                chain = _m(material, "ca_chain") or (
                    "".join(c.get("pem") or "" for c in rem.get("ca_chain") or []) or None)
                # OpenSSL-based servers (PEM bundles) need the path up to a self-signed root; JSSE the issuer only.
                certs = [chain] if (fmt == "pem_bundle" and chain) else ([issuer] if issuer else [])
                if not certs:
                    subject = rem.get("subject") or "the leaf's issuer"
                    entry.update(status="manual", backend=backend.get("name"),
                                 missing="issuer_ca (certificate of %s) for keystore %s alias %s in "
                                 "mtls_keystore_material (inventory)" % (subject, keystore, alias))
                else:
                    bucket = out["truststore_certs"].setdefault(backend["name"], [])
                    for c in certs:
                        if c not in bucket:
                            bucket.append(c)
                    entry.update(status="fix", backend=backend["name"],
                                 detail="trust the issuing CA on backend %s (%s)" % (backend["name"], fmt))
        elif action == "enable_client_auth" and enable_client_auth:
            out["client_auth_links"].append(link.get("id"))
            entry.update(status="fix", detail="turn on ClientAuthEnabled in the SSLInfo of %s" % link.get("id"))
        else:
            missing = rem.get("missing")
            entry.update(status="manual", missing=missing if isinstance(missing, str) and missing
                         else _manual_hint(action, code, link))
        out["links"].append(entry)
    for e in out["links"]:
        out["counts"][e["status"]] = out["counts"].get(e["status"], 0) + 1
    return out


def with_material(items, materials):
    """The plan's keystore items with the secret fields of their material entry (private key, PKCS#12, passwords).

    The plan itself never holds them (it is a fact Ansible prints at -v); this is applied only where the items are
    handed to the module, whose options for them are no_log."""
    out = []
    for item in items or []:
        full = dict(item)
        index = item.get("material_index")
        if item.get("key") in ("private_key", "pkcs12") and index is not None:
            material = materials[index]
            for name in SECRET_FIELDS:
                if _m(material, name) is not None:
                    full[name] = material[name]
        out.append(full)
    return out


def before_after_rows(plan, before, after, renamed=None):
    """One row per link: id, verdict before, action, status, verdict after, missing input, and the id it has now.
    `renamed` maps a link id to its id after the fix (a proxy fixed by a new revision)."""
    b = {row.get("id"): verdict_code(row) for row in (before or {}).get("links") or []}
    a = {row.get("id"): verdict_code(row) for row in (after or {}).get("links") or []}
    renamed = {k: v for k, v in (renamed or {}).items() if k != v}
    for old, new in renamed.items():
        new = latest_revision_id(new, a)  # a later fix of this run may have deployed the proxy again
        renamed[old] = new
        if new in a:
            a[old] = a.pop(new)
    rows = []
    ids = list(b) + [i for i in a if i not in b]
    by_id = {e["id"]: e for e in (plan or {}).get("links", [])}
    for link_id in ids:
        e = by_id.get(link_id, {})
        rows.append({"id": link_id, "before": b.get(link_id, "-"), "action": e.get("action", "-"),
                     "status": e.get("status", "-"), "after": a.get(link_id, "-"), "missing": e.get("missing"),
                     "now": renamed.get(link_id, link_id)})
    return rows


def row_text(row, check_mode=False):
    """One line of the console summary for a before/after row. In check mode nothing was changed, so the line says
    what would be done ("would fix", "manual") instead of a verdict that stayed the same."""
    if check_mode:
        if row["status"] == "fix":
            text = "%s: %s: would fix (%s)" % (row["id"], row["before"], row["action"])
        elif row["before"] == "ok":
            text = "%s: ok" % row["id"]
        elif row["status"] == "manual":
            text = "%s: %s: manual, not changed by the tool (%s)" % (row["id"], row["before"], row["action"])
        else:
            text = "%s: %s (%s, %s)" % (row["id"], row["before"], row["action"], row["status"])
    else:
        text = "%s: %s -> %s (%s, %s)" % (row["id"], row["before"], row["after"], row["action"], row["status"])
    if row.get("missing"):
        text += "; missing: %s" % row["missing"]
    return text


def _manual_hint(action, code, link):
    where = link.get("id") or "the link"
    if action == "enable_client_auth" or code == "client_auth_disabled":
        return ("<ClientAuthEnabled>true</ClientAuthEnabled> in the SSLInfo of %s (set it, or let remediate.yml do it "
                "with apigee_mtls_remediate_enable_client_auth: true)" % where)
    if action == "renew_certificate":
        return "a renewed client certificate (the stored one is expired or not yet valid) for %s" % where
    return "a decision by an operator (verdict %s)" % code


def plan_markdown(plan, org=None, envs=None, generated_at=None) -> str:
    """The plan as a change ticket reads it: what would change, object by object, and what needs a person. Secret-free
    (the plan holds material by path or entry number only)."""
    links = (plan or {}).get("links") or []
    counts = (plan or {}).get("counts") or {}
    lines = ["# Remediation plan%s" % (" for %s %s" % (org, ", ".join(envs or [])) if org else ""), ""]
    if generated_at:
        lines += ["Planned at %s. Nothing has been changed yet." % generated_at, ""]
    lines += ["%d link(s): %d to fix, %d manual, %d with nothing to do." % (
        len(links), counts.get("fix", 0), counts.get("manual", 0), counts.get("none", 0)), ""]
    fixes = [e for e in links if e.get("status") == "fix"]
    if fixes:
        lines += ["## Changes", "", "| link | verdict | change |", "|---|---|---|"]
        for e in fixes:
            lines.append("| `%s` | %s | %s |" % (e.get("id"), e.get("verdict"), (e.get("detail") or e.get("action"))
                                                .replace("|", "\\|")))
        lines.append("")
        certs = (plan or {}).get("truststore_certs") or {}
        if certs:
            lines += ["Backend truststores (a backup is kept; validated before and after; the backend reloaded):", ""]
            for host in sorted(certs):
                lines.append("- %s: %d CA certificate(s)" % (host, len(certs[host] or [])))
            lines.append("")
    manual = [e for e in links if e.get("status") == "manual"]
    if manual:
        lines += ["## Needs a person", "", "| link | verdict | missing |", "|---|---|---|"]
        for e in manual:
            lines.append("| `%s` | %s | %s |" % (e.get("id"), e.get("verdict"), str(e.get("missing") or "")
                                                .replace("|", "\\|")))
        lines.append("")
    return "\n".join(lines)


def change_records(keystore_results=None, client_auth_results=None, truststores=None) -> list:
    """What a run changed, object by object, each with how to roll it back: [{"object", "change", "rollback"}].

    keystore_results: the per-item results of apigee_keystore_aliases; client_auth_results: those of
    apigee_target_client_auth (each with its link id); truststores: [{"host", "path", "format", "backup", "added":
    [subjects], "reload"}] of the backends whose truststore file changed. Secret-free."""
    out = []
    for r in keystore_results or []:
        if not r.get("changed"):
            continue
        env, alias, ks = r.get("env"), r.get("alias"), r.get("keystore")
        leaf = ((r.get("chain") or [{}])[0]).get("subject") or "?"
        action = r.get("action")
        if action == "rotate":
            prev = r.get("previous_keystore")
            kept = bool(r.get("previous_keystore_kept_because")) or r.get("keep_previous")
            out.append({"object": "keystore %s/%s" % (env, ks),
                        "change": "new keystore, alias %s holds %s and its chain (rotation of %s)"
                                  % (alias, leaf, prev),
                        "rollback": ("repoint what moved back to %s, which was kept" % prev) if kept else
                        ("%s was deleted (Apigee never exports a private key): re-create it from your previous "
                         "material, then repoint what moved; keep_previous: true keeps it next time" % prev)})
            for ref in r.get("references") or []:
                out.append({"object": "reference %s/%s" % (env, ref), "change": "refers to %s (was %s)" % (ks, prev),
                            "rollback": "PUT .../environments/%s/references/%s {\"refers\": \"%s\"} once %s exists"
                                        % (env, ref, prev, prev)})
            renamed = r.get("renamed") or {}
            for link_id in r.get("repointed") or []:
                out.append(_sslinfo_change(link_id, renamed.get(link_id, link_id),
                                           "KeyStore %s (was %s)" % (ks, prev)))
            for name in r.get("leftovers_deleted") or []:
                out.append({"object": "keystore %s/%s" % (env, name), "change": "deleted (left by an earlier "
                            "rotation, nothing named it)", "rollback": "none needed: nothing used it"})
        else:
            out.append({"object": "keystore %s/%s alias %s" % (env, ks, alias),
                        "change": "%s in place: %s and its chain%s" % (
                            action, leaf, "; the MPs use it only after a restart" if r.get("restart_required") else ""),
                        "rollback": "upload the previous chain (before.json keeps what was stored) to the same alias"})
    for r in client_auth_results or []:
        if not r.get("changed"):
            continue
        link_id = r.get("client_auth_link") or r.get("id")
        out.append(_sslinfo_change(link_id, r.get("new_id") or link_id, "ClientAuthEnabled true (was false)"))
    for t in truststores or []:
        out.append({"object": "truststore %s:%s (%s)" % (t.get("host"), t.get("path"), t.get("format")),
                    "change": "added %s; then validated and reloaded" % (", ".join(t.get("added") or []) or "CAs"),
                    "rollback": ("cp -p %s %s, then %s" % (t["backup"], t.get("path"), t.get("reload") or
                                                           "reload the backend")) if t.get("backup") else
                    "remove the added CA certificates, then reload the backend (no backup was kept)"})
    return out


def _sslinfo_change(link_id, new_id, what):
    parts = parse_link_id(link_id) if link_id else {}
    if parts.get("kind") == "targetserver":
        return {"object": "target server %s/%s" % (parts.get("env"), parts.get("name")),
                "change": "SSLInfo %s" % what, "rollback": "PUT the target server with its previous sSLInfo "
                "(before.json has it)"}
    new = parse_link_id(new_id) if new_id else {}
    return {"object": "proxy %s (%s)" % (parts.get("api"), link_id),
            "change": "new revision %s deployed with SSLInfo %s (was revision %s)" % (
                new.get("revision"), what, parts.get("revision")),
            "rollback": "deploy revision %s again: POST .../environments/%s/apis/%s/revisions/%s/deployments"
                        "?override=true" % (parts.get("revision"), parts.get("env"), parts.get("api"),
                                            parts.get("revision"))}
