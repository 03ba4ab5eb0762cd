"""Then act: keystores, aliases, references and truststore certificates in Apigee, through the one client.

Each ``sync_*`` / ``ensure_*`` reads the current state, asks the pure planner (:mod:`alias_plan`) what to do, and does
it unless ``check_mode``; results carry names, fingerprints and summaries, never key material.
"""
from __future__ import annotations

from ansible.module_utils.mtls.alias_chain import DesiredChain, item_where, pem_bytes, same_chain, stored_chain
from ansible.module_utils.mtls.alias_plan import (
    ROTATION_SUFFIX,
    direct_keystore_links,
    direct_keystore_users,
    key_alias_of,
    plan_alias,
    rotation_family,
)
from ansible.module_utils.mtls.apigee.resources import (
    alias_certificate_path,
    alias_names,
    alias_path,
    aliases_path,
    check_new_keystore_name,
    get_or_none,
    keystore_path,
    keystores_path,
    names,
    reference_path,
)
from ansible.module_utils.mtls.backend_truststore import default_alias
from ansible.module_utils.mtls.certcore import (
    chain_summary,
    describe_certificates,
    fingerprint_sha256,
    load_certificates,
    validity_status,
)
from ansible.module_utils.mtls.errors import ApigeeApiError, MtlsError
from ansible.module_utils.mtls.links import discover_links
from ansible.module_utils.mtls.sslinfo_edit import repoint_keystore


def read_alias_chain(client, env: str, keystore: str, alias: str):
    """(keystore exists, alias exists, stored chain leaf first)."""
    doc = get_or_none(client, keystore_path(env, keystore))
    if doc is None:
        return False, False, []
    if alias not in alias_names(doc):
        return True, False, []
    data = client.get_raw(alias_certificate_path(env, keystore, alias))
    return True, True, stored_chain(data)


def _created_anyway(exc, client, path) -> bool:
    """After a failed create: True when the resource exists all the same (a 409 for a retried POST whose first answer
    was lost, or no answer at all while the server did create it)."""
    if isinstance(exc, ApigeeApiError) and exc.status not in (409,):
        return False
    client.invalidate(path)
    try:
        return get_or_none(client, path) is not None
    except MtlsError:
        return False


def create_keystore(client, env: str, name: str) -> None:
    """Create-if-absent, so safe to retry: a 409 (or a lost answer) for a keystore that then exists is success."""
    check_new_keystore_name(name)
    try:
        client.post(keystores_path(env), json={"name": name}, idempotent=True)
    except MtlsError as exc:
        if not _created_anyway(exc, client, keystore_path(env, name)):
            raise


def upload_alias(client, env: str, keystore: str, alias: str, desired: DesiredChain) -> None:
    """Create the alias from the key and the complete chain (format keycertfile, multipart). Retried like a
    create-if-absent: the chain stored afterwards is always compared by the caller (verify_stored)."""
    try:
        client.post(aliases_path(env, keystore), params={"alias": alias, "format": "keycertfile"},
                    files={"keyFile": ("key.pem", desired.key_pem(), "application/x-pem-file"),
                           "certFile": ("chain.pem", desired.chain_pem(), "application/x-pem-file")},
                    idempotent=True)
    except MtlsError as exc:
        if not _created_anyway(exc, client, alias_path(env, keystore, alias)):
            raise


def _fill_new_keystore(client, env, keystore, alias, desired, fill):
    """Create `keystore`, then fill it (upload and verify); when the filling fails, the keystore this call created is
    deleted again so that no empty, half-made keystore is left behind, and the error says so."""
    create_keystore(client, env, keystore)
    try:
        fill()
    except MtlsError as exc:
        try:
            client.delete(keystore_path(env, keystore))
            note = "the keystore %s created by this run was deleted again" % keystore
        except MtlsError as cleanup:
            note = "the keystore %s created by this run is left empty (delete it: %s)" % (keystore, cleanup)
        raise type(exc)("%s; %s" % (exc, note), **exc.details) from None


class EnvIndex:
    """What the items of one run look up again and again, read once per environment: its links (discovery) and which
    references name which keystore. The run tells it what it changed (a reference repointed, a link's SSLInfo edited),
    so it stays true without reading everything again for every item."""

    def __init__(self, client):
        self.client = client
        self._links = {}
        self._refers = {}

    def links(self, env):
        if env not in self._links:
            self._links[env] = discover_links(self.client, env, include_plain=True)
        return self._links[env]

    def _reference_index(self, env):
        if env not in self._refers:
            listing = reference_path(env)
            index = {}
            for name in names(self.client.get(listing), listing):
                ref = get_or_none(self.client, reference_path(env, name))
                if ref and (ref.get("resourceType") or "KeyStore").lower() == "keystore":
                    index[name] = ref.get("refers")
            self._refers[env] = index
        return self._refers[env]

    def references(self, env, keystore):
        """Every reference of the environment whose target is this keystore."""
        return sorted(n for n, target in self._reference_index(env).items() if target == keystore)

    def repointed(self, env, name, keystore):
        self._reference_index(env)[name] = keystore

    def links_changed(self, env):
        self._links.pop(env, None)


def rotation_leftovers(client, env: str, current: str, base: str, links=None, index=None) -> list[dict]:
    """Keystores of the same rotation family as `current` (``base``, ``base`` + ``rot<8 hex>``, or an earlier
    version's ``base-r<8 hex>``: see alias_plan.rotation_family) other than `current`, each
    with why it must be kept: {"name", "references", "direct_users"}. An interrupted rotation leaves its previous
    keystore here (its final DELETE failed or never ran)."""
    listing = keystores_path(env)
    found = [n for n in names(client.get(listing), listing)
             if n != current and rotation_family(n) == rotation_family(base)]
    out = []
    index = index or EnvIndex(client)
    for name in sorted(found):
        refs = index.references(env, name)
        if links is None:
            links = index.links(env)
        out.append({"name": name, "references": refs, "direct_users": direct_keystore_users(links, name)})
    return out


def update_alias_certificate(client, env: str, keystore: str, alias: str, desired: DesiredChain) -> None:
    # Apigee X / hybrid require ignoreExpiryValidation on an alias update (APIGEE-FACTS.md); Edge takes it too
    # (keystores-and-trustores.yaml): false, so Apigee refuses an expired chain as the tool's own checks do
    client.put(alias_path(env, keystore, alias), params={"ignoreExpiryValidation": "false"},
               files={"certFile": ("chain.pem", desired.chain_pem(), "application/x-pem-file")})


def keystore_references(client, env: str, keystore: str) -> list[str]:
    """Every reference of the environment whose target is this keystore."""
    return EnvIndex(client).references(env, keystore)


def verify_stored(client, env: str, keystore: str, alias: str, desired: DesiredChain) -> None:
    client.invalidate(keystore_path(env, keystore))
    _, exists, stored = read_alias_chain(client, env, keystore, alias)
    if not exists or not same_chain(desired.chain, stored):
        raise MtlsError("after the upload, %s/%s does not hold the desired chain (stored: %s)"
                        % (keystore, alias, ", ".join(s["subject"] for s in chain_summary(stored)) or "nothing"))


def _rotation_in_use(client, env: str, keystore: str, alias: str, links) -> str | None:
    """The keystore of `keystore`'s rotation family (see alias_plan.rotation_family) that links of the environment
    name directly with this alias: where an earlier rotation moved them when `keystore` itself is gone or unused.
    None when there is none; an error when several are."""
    listing = keystores_path(env)
    family = [n for n in names(client.get(listing), listing)
              if n != keystore and rotation_family(n) == rotation_family(keystore)]
    used = [n for n in family if any(key_alias_of(lk) == alias for lk in direct_keystore_links(links, n))]
    if len(used) > 1:
        raise MtlsError("links of environment %s name several rotations of keystore %s directly (%s): give the "
                        "keystore in use as keystore" % (env, keystore, ", ".join(sorted(used))))
    return used[0] if used else None


def sync_alias(client, env: str, keystore: str | None, alias: str, desired: DesiredChain, strategy: str = "in_place",
               reference: str | None = None, keep_previous: bool = False, check_mode: bool = False,
               update_direct_users: bool = True, index: EnvIndex | None = None) -> dict:
    """Make keystore/alias hold the desired chain (and key); with strategy rotate, through a new keystore that the
    reference(s) and the links naming the keystore directly are moved to.

    update_direct_users: with strategy rotate, links that name the keystore directly with this alias are pointed at
    the new keystore (a target server updated, a proxy revision imported and deployed); off, they keep the previous
    keystore, which is then kept too.

    Returns a result without key material: changed, action, steps, warnings, keystore (the one in use afterwards),
    chain (summary), stored_before (summary), diff, renamed (link id -> id after a new proxy revision)."""
    current = keystore
    if reference:
        ref = get_or_none(client, reference_path(env, reference))
        if ref is None:
            if strategy == "rotate" or not keystore:
                raise MtlsError("reference %s does not exist in environment %s" % (reference, env))
        else:
            current = ref.get("refers") or keystore
    if not current:
        raise MtlsError("give keystore (or reference) for alias %s" % alias)
    index = index or EnvIndex(client)

    def env_links():
        return index.links(env)

    unused_named = None  # the keystore given by name, when an earlier rotation moved its links elsewhere
    if strategy == "rotate" and not reference and desired.key is not None:
        doc = get_or_none(client, keystore_path(env, current))
        if doc is None or (not index.references(env, current)
                           and not direct_keystore_links(env_links(), current)):
            moved_to = _rotation_in_use(client, env, current, alias, env_links())
            if moved_to:
                unused_named = current if doc is not None else None
                current = moved_to
    ks_exists, al_exists, stored = read_alias_chain(client, env, current, alias)
    refs, repoint, users = [], [], []
    if strategy == "rotate" and ks_exists and (not al_exists or not same_chain(desired.chain, stored)):
        refs = index.references(env, current)
        if reference and reference not in refs:
            refs.append(reference)
        if desired.key is not None:
            direct = direct_keystore_links(env_links(), current)
            repoint = [lk.id for lk in direct if update_direct_users and key_alias_of(lk) == alias]
            # before a rotation deletes the previous keystore: links that still name it directly
            users = [lk.id for lk in direct if lk.id not in repoint] if not keep_previous else []
    base = None
    if strategy == "rotate" and keystore and keystore != current:
        base = ROTATION_SUFFIX.sub("", keystore)
    others = []
    if refs or repoint:
        others = [a for a in alias_names(get_or_none(client, keystore_path(env, current))) if a != alias]
    plan = plan_alias(desired, stored, current, alias, al_exists, ks_exists, strategy, refs, keep_previous, base,
                      users, repoint, others)
    result = {"changed": plan.changed, "action": plan.action, "steps": plan.steps,
              "warnings": (list(desired.warnings) if plan.changed else []) + plan.warnings,
              "keystore": plan.new_keystore or current, "previous_keystore": current if plan.new_keystore else None,
              "alias": alias, "references": refs, "chain": desired.summary,
              "stored_before": chain_summary(stored) if stored else [], "diff": plan.diff,
              "previous_keystore_kept_because": list(plan.kept_because), "repointed": list(plan.repointed),
              "renamed": {}, "restart_required": plan.restart_required}
    if strategy == "rotate" and not keep_previous and plan.action in ("none", "rotate") and (
            reference or unused_named or plan.repointed):
        # finish what an interrupted rotation started: its previous keystore, if nothing uses it any more
        family = ROTATION_SUFFIX.sub("", keystore or current)
        after = plan.new_keystore or current
        leftovers = [x for x in rotation_leftovers(client, env, after, family, env_links() if not reference else None,
                                                   index)
                     if x["name"] != current or plan.action == "none"]
        result["leftovers_deleted"] = [x["name"] for x in leftovers if not x["references"] and not x["direct_users"]]
        result["leftovers_kept"] = [x for x in leftovers if x["references"] or x["direct_users"]]
        for x in result["leftovers_kept"]:
            result["warnings"].append("keystore %s (an earlier rotation of %s) is kept: %s" % (
                x["name"], family, "; ".join(["named by reference(s) %s" % ", ".join(x["references"])] * bool(
                    x["references"]) + ["named directly by %s" % ", ".join(x["direct_users"])] * bool(
                    x["direct_users"]))))
        if result["leftovers_deleted"]:
            result["changed"] = True
            result["steps"] = list(result["steps"]) + ["delete keystore %s (left by an earlier rotation)" % n
                                                       for n in result["leftovers_deleted"]]
    if check_mode or not result["changed"]:
        return result
    if plan.action == "update_cert":
        update_alias_certificate(client, env, current, alias, desired)
        verify_stored(client, env, current, alias, desired)
    elif plan.action == "create":
        def fill():
            upload_alias(client, env, current, alias, desired)
            verify_stored(client, env, current, alias, desired)

        if ks_exists:
            fill()
        else:
            _fill_new_keystore(client, env, current, alias, desired, fill)
    elif plan.action == "replace":
        client.delete(alias_path(env, current, alias))
        upload_alias(client, env, current, alias, desired)
        verify_stored(client, env, current, alias, desired)
    elif plan.action == "rotate":
        new = plan.new_keystore
        new_exists, new_alias, new_stored = read_alias_chain(client, env, new, alias)
        if new_alias and not same_chain(desired.chain, new_stored):
            client.delete(alias_path(env, new, alias))
            new_alias = False

        def fill():
            if not new_alias:
                upload_alias(client, env, new, alias, desired)
            verify_stored(client, env, new, alias, desired)

        if new_exists:  # an interrupted earlier rotation may have left it: reuse it
            fill()
        else:
            _fill_new_keystore(client, env, new, alias, desired, fill)
        for name in refs:
            client.put(reference_path(env, name), json={"name": name, "refers": new, "resourceType": "KeyStore"})
            index.repointed(env, name, new)
        for link_id in plan.repointed:
            done = repoint_keystore(client, link_id, current, new)
            if done["new_id"] != link_id:
                result["renamed"][link_id] = done["new_id"]
        if plan.repointed:
            index.links_changed(env)
        if not keep_previous and not plan.kept_because:
            client.delete(keystore_path(env, current))
    for name in result.get("leftovers_deleted") or []:
        client.delete(keystore_path(env, name))
    return result


def sync_aliases(client, items, desired, check_mode: bool = False) -> dict:
    """Every keystore item, one after the other, through one client: what one item read (target servers, bundles,
    references, keystores) is read once for all of them, and what an item changed is read again (the client
    invalidates what a write touches). items: ITEM_OPTIONS dicts (alias_chain); desired: their DesiredChain, in order
    (all checked before this is called, so bad material changes nothing).

    Returns {"changed", "results": one sync_alias result per item with its "chain_index" and "env", "warnings"
    (each naming its item), "diff" (one per item)}. An error names the item, and the items changed before it."""
    results, warnings, diffs = [], [], []
    shared = EnvIndex(client)
    for index, (item, want) in enumerate(zip(items, desired, strict=True)):
        try:
            result = sync_alias(client, item["env"], item.get("keystore"), item["alias"], want,
                                strategy=item.get("strategy") or "rotate", reference=item.get("reference"),
                                keep_previous=bool(item.get("keep_previous")), check_mode=check_mode,
                                update_direct_users=item.get("update_direct_users", True), index=shared)
        except MtlsError as exc:
            done = [item_where(items[r["chain_index"]]) for r in results if r["changed"]]
            raise type(exc)("%s: %s%s" % (item_where(item), exc, "; changed before it: %s" % "; ".join(done)
                                          if done else "; nothing was changed"), **exc.details) from None
        warnings += ["%s: %s" % (item_where(item), w) for w in result.pop("warnings", [])]
        diffs.append(result.pop("diff", None) or {})
        result.update(chain_index=index, env=item["env"])
        results.append(result)
    return {"changed": any(r["changed"] for r in results), "results": results, "warnings": warnings,
            "diff": diffs}


def ensure_keystore(client, env: str, name: str, state: str = "present", check_mode: bool = False) -> dict:
    """A keystore/truststore present or absent."""
    doc = get_or_none(client, keystore_path(env, name))
    result = {"changed": False, "name": name, "aliases": alias_names(doc),
              "diff": {"before": "keystore %s: %s\n" % (name, "present" if doc is not None else "absent"),
                       "after": "keystore %s: %s\n" % (name, state)}}
    if state == "present" and doc is None:
        check_new_keystore_name(name)  # before any change, in check mode too
        result["changed"] = True
        if not check_mode:
            create_keystore(client, env, name)
    elif state == "absent" and doc is not None:
        refs = keystore_references(client, env, name)
        result["references"] = refs
        if refs:
            raise MtlsError("keystore %s is still named by reference(s) %s: repoint them before deleting it"
                            % (name, ", ".join(refs)))
        result["changed"] = True
        if not check_mode:
            client.delete(keystore_path(env, name))
    return result


def ensure_reference(client, env: str, name: str, refers: str | None, resource_type: str = "KeyStore",
                     state: str = "present", check_mode: bool = False) -> dict:
    """A reference present (naming the given keystore/truststore) or absent."""
    doc = get_or_none(client, reference_path(env, name))
    before = "%s -> %s (%s)\n" % (name, doc.get("refers"), doc.get("resourceType")) if doc else "(absent)\n"
    result = {"changed": False, "name": name, "refers": (doc or {}).get("refers"),
              "previous_refers": (doc or {}).get("refers")}
    if state == "present":
        if not refers:
            raise MtlsError("reference %s: give refers (the keystore or truststore it names)" % name)
        if check_mode is False and get_or_none(client, keystore_path(env, refers)) is None:
            raise MtlsError("reference %s cannot name keystore %s: it does not exist in environment %s"
                            % (name, refers, env))
        body = {"name": name, "refers": refers, "resourceType": resource_type}
        after = "%s -> %s (%s)\n" % (name, refers, resource_type)
        if doc is None:
            result["changed"] = True
            if not check_mode:
                client.post(reference_path(env), json=body)
        elif doc.get("refers") != refers or (doc.get("resourceType") or resource_type) != resource_type:
            result["changed"] = True
            if not check_mode:
                client.put(reference_path(env, name), json=body)
        result["refers"] = refers
    else:
        after = "(absent)\n"
        if doc is not None:
            result["changed"] = True
            result["refers"] = None
            if not check_mode:
                client.delete(reference_path(env, name))
    result["diff"] = {"before": before, "after": after}
    return result


def truststore_entries(client, env: str, truststore: str):
    """(exists, [(alias, certificate)]) of an Apigee truststore, read back through the alias export."""
    doc = get_or_none(client, keystore_path(env, truststore))
    if doc is None:
        return False, []
    out = []
    for name in alias_names(doc):
        data = client.get_raw(alias_certificate_path(env, truststore, name))
        for cert in stored_chain(data):
            out.append((name, cert))
    return True, out


def sync_truststore_cert(client, env: str, truststore: str, certificate, alias: str | None = None,
                         state: str = "present", create: bool = True, check_mode: bool = False) -> dict:
    """A CA certificate present in (or absent from) an Apigee truststore; compared by SHA-256."""
    certs = load_certificates(certificate, "certificate")
    if len(certs) != 1:
        raise MtlsError("certificate must hold exactly one certificate (got %d); use one task per CA" % len(certs))
    cert = certs[0]
    fp = fingerprint_sha256(cert)
    exists, entries = truststore_entries(client, env, truststore)
    matching = sorted({name for name, c in entries if fingerprint_sha256(c) == fp})
    summary = chain_summary([cert])[0]
    if state == "present" and validity_status(cert) != "valid":
        raise MtlsError("certificate %s is %s (not after %s); refusing to add it to truststore %s"
                        % (summary["subject"], str(validity_status(cert)).replace("_", " "), summary["not_after"],
                           truststore))
    if not alias:
        alias = default_alias(cert)

    def listing(items):
        items = list(items)
        return describe_certificates([c for _n, c in items], [n for n, _c in items], empty="(empty)")

    result = {"changed": False, "truststore": truststore, "certificate": summary, "aliases": matching}
    after = list(entries)
    if state == "present" and not matching:
        if not exists and not create:
            raise MtlsError("truststore %s does not exist in environment %s (create: false)" % (truststore, env))
        if not exists:
            check_new_keystore_name(truststore)
        result["changed"] = True
        taken = {n for n, _ in entries}
        if alias in taken:
            raise MtlsError("alias %s already exists in truststore %s with another certificate" % (alias, truststore))
        after.append((alias, cert))
        result["aliases"] = [alias]
        if not check_mode:
            if not exists:
                create_keystore(client, env, truststore)
            client.post(aliases_path(env, truststore), params={"alias": alias, "format": "keycertfile"},
                        files={"certFile": ("ca.pem", pem_bytes(cert), "application/x-pem-file")})
            client.invalidate(keystore_path(env, truststore))
    elif state == "absent" and matching:
        result["changed"] = True
        after = [(n, c) for n, c in entries if n not in matching]
        if not check_mode:
            for name in matching:
                client.delete(alias_path(env, truststore, name))
    result["diff"] = {"before": listing(entries), "after": listing(after),
                      "before_header": "truststore %s" % truststore, "after_header": "truststore %s" % truststore}
    return result
