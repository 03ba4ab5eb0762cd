"""Pure logic of "the alias holds the given private key and the complete chain" (no HTTP, no Ansible).

- :func:`desired_chain` turns the operator's inputs (a chain PEM, leaf alone allowed; a CA bundle; a key or a PKCS#12)
  into the complete chain that should be stored, and refuses bad input before anything changes: a key that does not
  match the leaf, an expired or not yet valid leaf, a CA bundle that cannot complete the chain.
- :func:`plan_alias` compares that chain with the chain stored in Apigee by SHA-256 fingerprints and says what to do:
  nothing, create the alias, replace it in place, rotate through a new keystore and the references, or update the
  certificate only (no key given).
- :func:`chain_diff` is what ``--diff`` shows: subjects, issuers, serials, not-after, fingerprints; never key material.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from ansible.module_utils.certcore import (
    build_chain,
    chain_summary,
    dump_pem,
    fingerprint_sha256,
    key_matches_certificate,
    load_certificates,
    load_pkcs12,
    load_private_key,
    validity_status,
)
from ansible.module_utils.mtls_errors import ApigeeApiError, MtlsError
from ansible.module_utils.mtls_links import REF_PREFIX, discover_links
from ansible.module_utils.mtls_truststore import default_alias
from cryptography.hazmat.primitives import serialization

STRATEGIES = ("in_place", "rotate")
ROTATION_SUFFIX = re.compile(r"-r[0-9a-f]{8}$")
CERT_ONLY_WARNING = ("the alias certificate was updated without its private key (certificate-only update); "
                     "on Private Cloud, Message Processors may need a restart to pick up the new chain")


@dataclass
class DesiredChain:
    chain: list  # leaf first, complete up to the last issuer that could be found (the root when given)
    key: object | None = None
    summary: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def fingerprints(self) -> list[str]:
        return [fingerprint_sha256(c) for c in self.chain]

    @property
    def leaf(self):
        return self.chain[0]

    def chain_pem(self) -> bytes:
        return b"".join(_pem(c) for c in self.chain)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM, only for the upload body (never logged, never returned)."""
        if self.key is None:
            raise MtlsError("no private key was given")
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def _pem(cert) -> bytes:
    data = dump_pem(cert)
    return data.encode("ascii") if isinstance(data, str) else data


def _is_self_signed(cert) -> bool:
    return cert.issuer == cert.subject


def desired_chain(cert_chain=None, ca_bundle=None, private_key=None, private_key_password=None, pkcs12=None,
                  pkcs12_password=None, include_root: bool = True, at=None) -> DesiredChain:
    """The complete chain (leaf first) to store, checked. Inputs are bytes/str contents (PEM or DER)."""
    key = None
    certs = []
    if pkcs12 is not None:
        key, p12_cert, extra = load_pkcs12(pkcs12, pkcs12_password, "pkcs12")
        if p12_cert is None:
            raise MtlsError("pkcs12 holds no certificate for its private key")
        certs = [p12_cert] + list(extra or [])
    if cert_chain is not None:
        given = load_certificates(cert_chain, "cert_chain")
        if not given:
            raise MtlsError("cert_chain holds no certificate")
        certs = given + [c for c in certs if fingerprint_sha256(c) not in {fingerprint_sha256(g) for g in given}]
    if not certs:
        raise MtlsError("give cert_chain (PEM, leaf first) or pkcs12")
    if private_key is not None:
        if key is not None:
            raise MtlsError("give either private_key or pkcs12, not both")
        key = load_private_key(private_key, private_key_password, "private_key")
    bag = list(certs[1:])
    if ca_bundle is not None:
        bag += load_certificates(ca_bundle, "ca_bundle")
    leaf = certs[0]
    if key is not None and not key_matches_certificate(key, leaf):
        # the leaf may not be first when it came from a bundle: look for the certificate of this key
        match = [c for c in certs if key_matches_certificate(key, c)]
        if not match:
            s = chain_summary([leaf])[0]
            raise MtlsError("the private key does not match the leaf certificate %s (sha256 %s) nor any certificate "
                            "of cert_chain" % (s["subject"], s["sha256"]))
        leaf = match[0]
        bag = [c for c in certs + bag if fingerprint_sha256(c) != fingerprint_sha256(leaf)]
    status = validity_status(leaf, at) if at is not None else validity_status(leaf)
    if status != "valid":
        s = chain_summary([leaf])[0]
        raise MtlsError("the leaf certificate %s is %s (valid %s to %s): renew it before uploading"
                        % (s["subject"], str(status).replace("_", " "), s["not_before"], s["not_after"]))
    result = build_chain(leaf, bag)
    warnings = []
    if not result.complete:
        if len(result.path) < 2:
            # not even the leaf's issuer: the chain cannot be completed
            raise MtlsError("the chain of %s cannot be completed: no certificate for its issuer %s in cert_chain or "
                            "ca_bundle" % (chain_summary([leaf])[0]["subject"], result.missing_issuer))
        warnings.append("the chain stops at %s: the certificate of its issuer %s was not given (fine when the backend "
                        "trusts a CA of the chain)" % (chain_summary([result.path[-1]])[0]["subject"],
                                                        result.missing_issuer))
    chain = list(result.path)
    if not include_root and len(chain) > 1 and _is_self_signed(chain[-1]):
        chain = chain[:-1]
    return DesiredChain(chain=chain, key=key, summary=chain_summary(chain), warnings=warnings)


def stored_chain(pem) -> list:
    """The chain read back from Apigee (the alias certificate export), leaf first; [] for nothing."""
    if pem is None:
        return []
    if isinstance(pem, str):
        pem = pem.encode()
    if not pem.strip():
        return []
    return load_certificates(pem, "stored alias chain")


def same_chain(desired: list, stored: list) -> bool:
    """Equal by meaning: the same certificates (SHA-256) in the same order."""
    return [fingerprint_sha256(c) for c in desired] == [fingerprint_sha256(c) for c in stored]


def describe_chain(chain: list) -> str:
    lines = []
    for i, s in enumerate(chain_summary(chain) if chain else []):
        lines.append("%d: subject=%s | issuer=%s | serial=%s | not_after=%s | sha256=%s\n"
                     % (i, s["subject"], s["issuer"], s["serial"], s["not_after"], s["sha256"]))
    return "".join(lines) or "(no certificate)\n"


def chain_diff(stored: list, desired: list, where: str) -> dict:
    return {"before_header": "%s (stored)" % where, "after_header": "%s (desired)" % where,
            "before": describe_chain(stored), "after": describe_chain(desired)}


def rotation_keystore_name(current: str, desired: DesiredChain, base: str | None = None) -> str:
    """The new keystore of a rotation: the base name (the current one without an earlier rotation suffix) followed by
    "-r" and 8 hex digits of the leaf's SHA-256, so that the same chain always rotates to the same name."""
    root = base or ROTATION_SUFFIX.sub("", current)
    return "%s-r%s" % (root, desired.fingerprints[0].replace(":", "").lower()[:8])


@dataclass
class AliasPlan:
    action: str  # none | create | replace | rotate | update_cert
    steps: list
    warnings: list
    diff: dict
    new_keystore: str | None = None
    kept_because: list = field(default_factory=list)  # link ids that name the previous keystore directly

    @property
    def changed(self) -> bool:
        return self.action != "none"


def direct_keystore_users(links, keystore: str) -> list[str]:
    """Ids of the links whose SSLInfo names `keystore` directly (KeyStore "ks-x", not "ref://r").

    links: Link records of mtls_links (or their dicts). A reference repointed by a rotation moves its users to the new
    keystore; a link that names the keystore itself keeps using it, so deleting it would break that traffic."""
    users = set()
    for link in links or ():
        ssl = link.get("ssl") if isinstance(link, dict) else getattr(link, "ssl", None)
        declared = (ssl.get("keystore") if isinstance(ssl, dict) else getattr(ssl, "keystore", None)) if ssl else None
        declared = (declared or "").strip()
        if declared and not declared.startswith(REF_PREFIX) and declared == keystore:
            users.add(link.get("id") if isinstance(link, dict) else link.id)
    return sorted(users)


def kept_keystore_warning(keystore: str, users, references=()) -> str:
    """Why a rotation keeps the previous keystore, and what the operator does next (names only, no material)."""
    ref = list(references)[0] if references else "REFERENCE"
    return ("keystore %s is kept after the rotation: %s name%s it directly in SSLInfo (KeyStore %s, not a ref://), "
            "so %s the previous chain. Rotation of a keystore used by name cannot be zero-downtime: point %s at "
            "ref://%s (or change the alias in place), then delete keystore %s"
            % (keystore, ", ".join(users), "s" if len(users) == 1 else "", keystore,
               "it keeps using" if len(users) == 1 else "they keep using", "it" if len(users) == 1 else "them",
               ref, keystore))


def plan_alias(desired: DesiredChain, stored: list, keystore: str, alias: str, alias_exists: bool,
               keystore_exists: bool = True, strategy: str = "in_place", references=(), keep_previous: bool = False,
               base_name: str | None = None, direct_users=()) -> AliasPlan:
    """What to do so that keystore/alias holds the desired chain (and key). Pure: the caller does the HTTP.

    direct_users: ids of links that name `keystore` directly (see :func:`direct_keystore_users`); a rotation then
    keeps the previous keystore instead of deleting it, and says why."""
    if strategy not in STRATEGIES:
        raise MtlsError("strategy must be one of %s (got %r)" % (", ".join(STRATEGIES), strategy))
    where = "%s/%s" % (keystore, alias)
    diff = chain_diff(stored, desired.chain, where)
    if alias_exists and same_chain(desired.chain, stored):
        return AliasPlan("none", [], [], diff)
    has_key = desired.key is not None
    if not has_key:
        if not alias_exists:
            raise MtlsError("alias %s does not exist in keystore %s and no private key was given: give private_key "
                            "(or pkcs12) to create it" % (alias, keystore))
        return AliasPlan("update_cert", ["update the certificate chain of alias %s (PUT, certificate only)" % where],
                         [CERT_ONLY_WARNING], diff)
    if not keystore_exists or not alias_exists:
        steps = ([] if keystore_exists else ["create keystore %s" % keystore])
        steps.append("create alias %s with the private key and the complete chain" % where)
        return AliasPlan("create", steps, [], diff)
    if strategy == "in_place":
        return AliasPlan("replace", ["delete alias %s" % where,
                                     "create alias %s with the private key and the complete chain" % where],
                         ["in_place replaces the alias: calls that use it fail until the new alias is created; "
                          "strategy rotate avoids that"], diff)
    refs = list(references)
    if not refs:
        raise MtlsError("strategy rotate needs at least one reference that names keystore %s (none found); "
                        "use strategy in_place or create a reference first" % keystore)
    new = rotation_keystore_name(keystore, desired, base_name)
    if new == keystore:
        raise MtlsError("rotation of %s would reuse the same keystore name" % keystore)
    steps = ["create keystore %s" % new,
             "create alias %s/%s with the private key and the complete chain" % (new, alias),
             "verify the chain stored in %s/%s" % (new, alias)]
    steps += ["repoint reference %s from %s to %s" % (r, keystore, new) for r in refs]
    users = sorted(set(direct_users or ()))
    warnings = []
    if keep_previous:
        steps.append("keep keystore %s" % keystore)
    elif users:
        steps.append("keep keystore %s (named directly by %s)" % (keystore, ", ".join(users)))
        warnings.append(kept_keystore_warning(keystore, users, refs))
    else:
        steps.append("delete keystore %s" % keystore)
    diff = chain_diff(stored, desired.chain, where)
    diff["after_header"] = "%s/%s (desired, via %s)" % (new, alias, ", ".join(refs))
    return AliasPlan("rotate", steps, warnings, diff, new_keystore=new, kept_because=users)


def read_material(value, what: str):
    """Bytes of an input given either as content (PEM text) or as a path to a file (PEM or DER). None stays None.

    The value is echoed in an error only when it looks like a path (short, one line), never when it may be key
    material."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    text = str(value)
    if "-----BEGIN" in text:
        return text.encode("utf-8")
    path = os.path.expanduser(text.strip())
    if path and "\n" not in path and len(path) < 4096 and os.path.isfile(path):
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise MtlsError("%s: cannot read %s: %s" % (what, path, exc.strerror)) from None
    if len(text) < 256 and "\n" not in text:
        raise MtlsError("%s: %s is neither PEM content nor a readable file" % (what, text))
    raise MtlsError("%s is neither PEM content nor a readable file" % what)


# ------------------------------------------------------------------------------------------- Apigee calls (a client)
# The functions below take an ApigeeClient (plugins/module_utils/apigee_client.py) and do the HTTP that a plan says.

def _q(value: str) -> str:
    return quote(str(value), safe="")


def keystores_path(env: str) -> str:
    return "/environments/%s/keystores" % _q(env)


def keystore_path(env: str, keystore: str) -> str:
    return "%s/%s" % (keystores_path(env), _q(keystore))


def alias_path(env: str, keystore: str, alias: str) -> str:
    return "%s/aliases/%s" % (keystore_path(env, keystore), _q(alias))


def reference_path(env: str, name: str | None = None) -> str:
    base = "/environments/%s/references" % _q(env)
    return base if name is None else "%s/%s" % (base, _q(name))


def _not_found(exc) -> bool:
    return getattr(exc, "status", None) == 404


def get_or_none(client, path):
    try:
        return client.get(path)
    except ApigeeApiError as exc:
        if _not_found(exc):
            return None
        raise


def alias_names(keystore_doc) -> list[str]:
    names = []
    for item in (keystore_doc or {}).get("aliases") or []:
        name = item.get("aliasName") if isinstance(item, dict) else item
        if name:
            names.append(name)
    return names


def read_alias_chain(client, env: str, keystore: str, alias: str):
    """(keystore exists, alias exists, stored chain leaf first)."""
    doc = get_or_none(client, keystore_path(env, keystore))
    if doc is None:
        return False, False, []
    if alias not in alias_names(doc):
        return True, False, []
    data = client.get_raw(alias_path(env, keystore, alias) + "/certificate")
    return True, True, stored_chain(data)


def create_keystore(client, env: str, name: str) -> None:
    client.post(keystores_path(env), json={"name": name})


def upload_alias(client, env: str, keystore: str, alias: str, desired: DesiredChain) -> None:
    """Create the alias from the key and the complete chain (format keycertfile, multipart)."""
    client.post("%s/aliases" % keystore_path(env, keystore), params={"alias": alias, "format": "keycertfile"},
                files={"keyFile": ("key.pem", desired.key_pem(), "application/x-pem-file"),
                       "certFile": ("chain.pem", desired.chain_pem(), "application/x-pem-file")})


def update_alias_certificate(client, env: str, keystore: str, alias: str, desired: DesiredChain) -> None:
    client.put(alias_path(env, keystore, alias),
               files={"certFile": ("chain.pem", desired.chain_pem(), "application/x-pem-file")})


def keystore_references(client, env: str, keystore: str) -> list[str]:
    """Every reference of the environment whose target is this keystore."""
    names = client.get(reference_path(env)) or []
    out = []
    for name in names:
        ref = get_or_none(client, reference_path(env, name))
        if ref and ref.get("refers") == keystore and (ref.get("resourceType") or "KeyStore").lower() == "keystore":
            out.append(name)
    return sorted(out)


def verify_stored(client, env: str, keystore: str, alias: str, desired: DesiredChain) -> None:
    client.invalidate(keystore_path(env, keystore))
    _, exists, stored = read_alias_chain(client, env, keystore, alias)
    if not exists or not same_chain(desired.chain, stored):
        raise MtlsError("after the upload, %s/%s does not hold the desired chain (stored: %s)"
                        % (keystore, alias, ", ".join(s["subject"] for s in chain_summary(stored)) or "nothing"))


def sync_alias(client, env: str, keystore: str | None, alias: str, desired: DesiredChain, strategy: str = "in_place",
               reference: str | None = None, keep_previous: bool = False, check_mode: bool = False) -> dict:
    """Make keystore/alias hold the desired chain (and key); with strategy rotate, through reference(s).

    Returns a result without key material: changed, action, steps, warnings, keystore (the one in use afterwards),
    chain (summary), stored_before (summary), diff."""
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
    ks_exists, al_exists, stored = read_alias_chain(client, env, current, alias)
    refs = []
    if strategy == "rotate" and ks_exists and al_exists and not same_chain(desired.chain, stored):
        refs = keystore_references(client, env, current)
        if reference and reference not in refs:
            refs.append(reference)
    users = []
    if refs and desired.key is not None and not keep_previous:
        # before a rotation deletes the previous keystore: links that name it directly (not through a reference)
        users = direct_keystore_users(discover_links(client, env, include_plain=True), current)
    base = None
    if strategy == "rotate" and keystore and keystore != current:
        base = ROTATION_SUFFIX.sub("", keystore)
    plan = plan_alias(desired, stored, current, alias, al_exists, ks_exists, strategy, refs, keep_previous, base,
                      users)
    result = {"changed": plan.changed, "action": plan.action, "steps": plan.steps,
              "warnings": (list(desired.warnings) if plan.changed else []) + plan.warnings,
              "keystore": plan.new_keystore or current, "previous_keystore": current if plan.new_keystore else None,
              "alias": alias, "references": refs, "chain": desired.summary,
              "stored_before": chain_summary(stored) if stored else [], "diff": plan.diff,
              "previous_keystore_kept_because": list(plan.kept_because)}
    if check_mode or not plan.changed:
        return result
    if plan.action == "update_cert":
        update_alias_certificate(client, env, current, alias, desired)
        verify_stored(client, env, current, alias, desired)
    elif plan.action == "create":
        if not ks_exists:
            create_keystore(client, env, current)
        upload_alias(client, env, current, alias, desired)
        verify_stored(client, env, current, alias, desired)
    elif plan.action == "replace":
        client.delete(alias_path(env, current, alias))
        upload_alias(client, env, current, alias, desired)
        verify_stored(client, env, current, alias, desired)
    elif plan.action == "rotate":
        new = plan.new_keystore
        new_exists, new_alias, new_stored = read_alias_chain(client, env, new, alias)
        if not new_exists:  # an interrupted earlier rotation may have left it: reuse it
            create_keystore(client, env, new)
        if new_alias and not same_chain(desired.chain, new_stored):
            client.delete(alias_path(env, new, alias))
            new_alias = False
        if not new_alias:
            upload_alias(client, env, new, alias, desired)
        verify_stored(client, env, new, alias, desired)
        for name in refs:
            client.put(reference_path(env, name), json={"name": name, "refers": new, "resourceType": "KeyStore"})
        if not keep_previous and not plan.kept_because:
            client.delete(keystore_path(env, current))
    return result


def ensure_keystore(client, env: str, name: str, state: str = "present", check_mode: bool = False) -> dict:
    """A keystore/truststore present or absent."""
    doc = get_or_none(client, keystore_path(env, name))
    result = {"changed": False, "name": name, "aliases": alias_names(doc),
              "diff": {"before": "keystore %s: %s\n" % (name, "present" if doc is not None else "absent"),
                       "after": "keystore %s: %s\n" % (name, state)}}
    if state == "present" and doc is None:
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
        data = client.get_raw(alias_path(env, truststore, name) + "/certificate")
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
        return "".join("[%s] subject=%s | sha256=%s\n" % (n, chain_summary([c])[0]["subject"],
                                                           fingerprint_sha256(c)) for n, c in items) or "(empty)\n"

    result = {"changed": False, "truststore": truststore, "certificate": summary, "aliases": matching}
    after = list(entries)
    if state == "present" and not matching:
        if not exists and not create:
            raise MtlsError("truststore %s does not exist in environment %s (create: false)" % (truststore, env))
        result["changed"] = True
        taken = {n for n, _ in entries}
        if alias in taken:
            raise MtlsError("alias %s already exists in truststore %s with another certificate" % (alias, truststore))
        after.append((alias, cert))
        result["aliases"] = [alias]
        if not check_mode:
            if not exists:
                create_keystore(client, env, truststore)
            client.post("%s/aliases" % keystore_path(env, truststore), params={"alias": alias, "format": "keycertfile"},
                        files={"certFile": ("ca.pem", _pem(cert), "application/x-pem-file")})
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


# ------------------------------------------------------------------------------------------------- remediation plan
# diagnose report + what the inventory declares -> what to change. Pure: the role applies it.

FIX_ACTIONS = ("upload_chain", "trust_issuer")
LOOPBACK = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}


def _get(d, *names, default=None):
    """The first present, non-empty value among several spellings of a field (report shapes vary by version)."""
    for name in names:
        cur = d
        for part in name.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
            if cur is None:
                break
        if cur not in (None, "", []):
            return cur
    return default


def _verdict_code(link: dict) -> str:
    v = link.get("verdict")
    if isinstance(v, dict):
        return v.get("code") or "unknown"
    return v or link.get("code") or "unknown"


def _remediation(link: dict) -> dict:
    for key in ("remediation", "plan", "fix"):
        value = link.get(key)
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            return {"action": value}
    v = link.get("verdict")
    if isinstance(v, dict):
        return _remediation(v)
    return {}


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


def _m(material, *names):
    return _get(material or {}, *names)


def plan_remediation(report: dict, materials: list, backends: list, strategy: str = "rotate",
                     enable_client_auth: bool = False, backend_group: str = "mtls_backends") -> dict:
    """Per link: fix (with what), none, or manual (with the exact missing input). Secrets stay paths/references.

    enable_client_auth: turn ClientAuthEnabled on for client_auth_disabled links (a target server is updated, a proxy
    gets a new revision deployed); off by default, then those links are manual."""
    links = report.get("links") if isinstance(report, dict) else report
    out = {"links": [], "keystore_items": [], "truststore_certs": {}, "client_auth_links": [], "counts": {}}
    seen_items = {}
    for link in links or []:
        code = _verdict_code(link)
        rem = _remediation(link)
        action = rem.get("action") or ("none" if code == "ok" else "manual")
        env = _get(link, "env", "link.env") or _env_of(link.get("id"))
        keystore = _get(rem, "keystore") or _get(link, "keystore.name", "keystore", "link.keystore.name")
        alias = _get(rem, "alias") or _get(link, "ssl.key_alias", "alias", "link.ssl.key_alias")
        reference = _get(rem, "reference") or _get(link, "keystore.reference", "link.keystore.reference")
        host = _get(rem, "backend.host") or _get(link, "host", "link.host")
        port = _get(rem, "backend.port") or _get(link, "port", "link.port")
        entry = {"id": link.get("id"), "verdict": code, "action": action, "status": "none", "detail": "",
                 "missing": None, "keystore": keystore, "alias": alias, "backend": None}
        material = find_material(materials, env, keystore, alias, reference, link.get("id"))
        if action == "none":
            entry["detail"] = "nothing to do"
        elif action == "upload_chain":
            chain = _m(material, "cert_chain", "chain_pem")
            key = _m(material, "private_key", "key_pem", "pkcs12")
            if not key and not rem.get("key_required", True) and rem.get("certificates") and not chain:
                # the verdict carries the complete chain and the alias keeps its key: certificate-only update
                chain = "".join(c.get("pem") or "" for c in rem["certificates"]) or None
                key = "(kept in Apigee)" if chain else None
            if not keystore and not reference:
                entry.update(status="manual", missing="the keystore of the link is unknown")
            elif not alias:
                entry.update(status="manual", missing="the key alias of the link is unknown")
            elif not chain or not key:
                entry.update(status="manual", missing="cert_chain and private_key for keystore %s alias %s in "
                             "mtls_keystore_material (inventory)" % (keystore or reference, alias))
            else:
                k = (env, reference or keystore, alias)
                if k not in seen_items:
                    item = {"env": env, "keystore": keystore, "alias": alias, "cert_chain": chain,
                            "ca_bundle": _m(material, "ca_bundle", "ca_chain_pem"), "link_ids": []}
                    if _m(material, "pkcs12"):
                        item["pkcs12"] = _m(material, "pkcs12")
                        item.pop("cert_chain")
                    elif key != "(kept in Apigee)":
                        item["private_key"] = key
                    if reference:
                        item["reference"] = reference
                    item["strategy"] = _m(material, "strategy") or (strategy if reference else "in_place")
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
                issuer = _m(material, "issuer_ca", "issuer_ca_pem") or _get(rem, "pem", "ca.pem")
                chain = _m(material, "ca_chain", "ca_chain_pem") or (
                    "".join(c.get("pem") or "" for c in rem.get("ca_chain") or []) or None)
                # OpenSSL-based servers (PEM bundles) need the path up to a self-signed root; JSSE the issuer only.
                certs = [chain] if (fmt == "pem_bundle" and chain) else ([issuer] if issuer else [])
                if not certs:
                    subject = _get(rem, "ca.subject", "ca_subject", "issuer") or "the leaf's issuer"
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


def _env_of(link_id):
    """The environment named in a link id (targetserver:<env>/<name>, proxy:<env>/<api>/<rev>/<target>)."""
    if not link_id or ":" not in str(link_id):
        return None
    return str(link_id).split(":", 1)[1].split("/", 1)[0] or None


def _manual_hint(action, code, link):
    where = link.get("id") or "the link"
    if action == "enable_client_auth" or code == "client_auth_disabled":
        return ("<ClientAuthEnabled>true</ClientAuthEnabled> in the SSLInfo of %s (set it, or let remediate.yml do it "
                "with apigee_mtls_remediate_enable_client_auth: true)" % where)
    if action == "renew_certificate":
        return "a renewed client certificate (the stored one is expired or not yet valid) for %s" % where
    return "a decision by an operator (verdict %s)" % code


# ------------------------------------------------------------------------------------------- client auth in SSLInfo
_CLIENT_AUTH = re.compile(r"(<ClientAuthEnabled>\s*)(false)(\s*</ClientAuthEnabled>)", re.I)
_SSLINFO_OPEN = re.compile(r"<SSLInfo>", re.I)


def set_client_auth_in_xml(text: str):
    """(new text, changed): <ClientAuthEnabled>true</ClientAuthEnabled> in the SSLInfo of a target endpoint, the rest
    of the file kept byte for byte."""
    if "<SSLInfo" not in text and "<sslinfo" not in text.lower():
        raise MtlsError("the target endpoint has no <SSLInfo>: TLS itself is not configured")
    if re.search(r"<ClientAuthEnabled>\s*true\s*</ClientAuthEnabled>", text, re.I):
        return text, False
    new, n = _CLIENT_AUTH.subn(r"\1true\3", text, count=1)
    if n:
        return new, True
    return _SSLINFO_OPEN.sub("<SSLInfo><ClientAuthEnabled>true</ClientAuthEnabled>", text, count=1), True


def set_client_auth_in_bundle(data: bytes, target: str):
    """(new bundle zip, changed) with client auth turned on in apiproxy/targets/<target>.xml."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    name = "apiproxy/targets/%s.xml" % target
    if name not in src.namelist():
        raise MtlsError("the proxy bundle has no %s" % name)
    text, changed = set_client_auth_in_xml(src.read(name).decode("utf-8"))
    if not changed:
        return data, False
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, text.encode("utf-8") if item.filename == name else src.read(item.filename))
    return out.getvalue(), True


def enable_client_auth(client, link_id: str, check_mode: bool = False) -> dict:
    """Turn ClientAuthEnabled on for a link: a target server is updated in place (PUT); a proxy target endpoint gets
    a new revision (the bundle with only that element changed) deployed over the current one. Returns the link's id
    afterwards (a new revision means a new id)."""
    kind, _, rest = str(link_id).partition(":")
    result = {"changed": False, "id": link_id, "new_id": link_id}
    if kind == "targetserver":
        env, _, name = rest.partition("/")
        path = "/environments/%s/targetservers/%s" % (_q(env), _q(name))
        doc = client.get(path, cache=False)
        ssl = dict(doc.get("sSLInfo") or {})
        if str(ssl.get("enabled")).lower() != "true":
            raise MtlsError("target server %s has TLS disabled: enable SSLInfo first" % name)
        if str(ssl.get("clientAuthEnabled")).lower() == "true":
            return result
        if not ssl.get("keyStore") or not ssl.get("keyAlias"):
            raise MtlsError("target server %s has no keyStore/keyAlias in its SSLInfo: declare them before turning on "
                            "client auth" % name)
        ssl["clientAuthEnabled"] = "true"
        result.update(changed=True, detail="PUT target server %s with sSLInfo.clientAuthEnabled=true" % name)
        if not check_mode:
            client.put(path, json=dict(doc, sSLInfo=ssl))
        return result
    if kind == "proxy":
        parts = rest.split("/")
        if len(parts) != 4:
            raise MtlsError("link id %s is not proxy:<env>/<api>/<rev>/<target>" % link_id)
        env, api, rev, target = parts
        data = client.get_raw("/apis/%s/revisions/%s" % (_q(api), _q(rev)), params={"format": "bundle"})
        bundle, changed = set_client_auth_in_bundle(data, target)
        if not changed:
            return result
        result.update(changed=True, detail="import a new revision of %s with ClientAuthEnabled=true in target %s and "
                      "deploy it to %s over revision %s" % (api, target, env, rev))
        if check_mode:
            return result
        made = client.post("/apis", params={"action": "import", "name": api},
                           files={"file": ("%s.zip" % api, bundle, "application/zip")})
        new_rev = str((made or {}).get("revision") or "")
        if not new_rev:
            raise MtlsError("the import of %s answered without a revision number" % api)
        client.post("/environments/%s/apis/%s/revisions/%s/deployments" % (_q(env), _q(api), _q(new_rev)),
                    params={"override": "true"})
        result["new_id"] = "proxy:%s/%s/%s/%s" % (env, api, new_rev, target)
        return result
    raise MtlsError("link id %s: unknown kind %r" % (link_id, kind))


# ------------------------------------------------------------------------------------------- verification calls
# Which verification calls to make after the fixes. A fix may change a link's id (a proxy fixed by a new revision:
# proxy:<env>/<api>/<rev>/<target> -> rev+1); the remediation records old id -> new id, and verification follows it.

def rename_map(renamed=None, rows=None) -> dict:
    """old id -> new id from the remediation report rows (`id` -> `now`, an earlier run) and this run's renames
    (which win). Entries that rename nothing are dropped."""
    out = {}
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
        if present:
            return present[-1]
    return chain[-1]


def report_verdicts(report) -> dict:
    """link id -> verdict code of a diagnosis report (verdict as a code or as {code: ...})."""
    links = report.get("links") if isinstance(report, dict) else report
    return {link.get("id"): _verdict_code(link) for link in links or [] if isinstance(link, dict)}


def verification_calls(urls, report, renamed=None, rows=None, base_url: str = "") -> dict:
    """Split the configured verification calls ({id, url} or {id, basepath}) by the diagnosis after the fixes.

    Each call's id is followed through the remediation's renames to the link's id now. Returns {"calls": those whose
    link is ok now (to be called), "not_ok": those whose link is not ok (a call would fail for a known reason),
    "unknown": those whose link is in the report under neither its id nor its new id}; every entry has id, now,
    verdict and url."""
    mapping = rename_map(renamed, rows)
    verdicts = report_verdicts(report)
    out = {"calls": [], "not_ok": [], "unknown": []}
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
