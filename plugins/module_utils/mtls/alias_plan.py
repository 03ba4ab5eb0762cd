"""Decide first: what to do so that a keystore alias holds the desired chain (pure; the caller does the HTTP).

Nothing, create the alias, replace it in place, rotate through a new keystore and the references, or update the
certificate only (no key given). A rotation keeps the previous keystore when links name it directly.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ansible.module_utils.mtls.alias_chain import DesiredChain, chain_diff, same_chain
from ansible.module_utils.mtls.apigee.resources import check_new_keystore_name
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.links import REF_PREFIX

STRATEGIES = ("in_place", "rotate")
# "rot" + the new chain's 8-hex tag (chain_tag; Apigee keystore names are alphanumeric only); "-r<hex>" is what
# earlier versions of this tool appended, still recognised so that their leftovers are found
ROTATION_SUFFIX = re.compile(r"(?:rot|-r)[0-9a-f]{8}$")
CERT_ONLY_WARNING = "the alias certificate was updated without its private key (certificate-only update)"
# Apigee (update-tls-certificate-cloud / -private-cloud): an MP keeps a keystore it loaded until it restarts; only a
# reference repointed to a new keystore is picked up without one
RESTART_WARNING = ("%s was changed in place (same keystore name): the Message Processors keep the keystore they "
                   "loaded until they restart. Restart them (Private Cloud: one at a time, apigee-service "
                   "edge-message-processor restart; Cloud: only Apigee Support can), or change it by rotation "
                   "(strategy rotate: a new keystore, named through a reference or by the links themselves), which "
                   "needs no restart")


def rotation_family(name: str) -> str:
    """What every keystore of one rotation family shares: the name without a rotation suffix, letters and digits
    only ("ks-one", "ksonerot0123abcd" and "ks-one-r0123abcd" are one family)."""
    return re.sub(r"[^A-Za-z0-9]", "", ROTATION_SUFFIX.sub("", name or ""))


def rotation_keystore_name(current: str, desired: DesiredChain, base: str | None = None) -> str:
    """The new keystore of a rotation: the base name (the current one without an earlier rotation suffix, reduced to
    its letters and digits: Apigee keystore names are alphanumeric only) followed by "rot" and the chain's tag
    (:func:`chain_tag`), so that the same chain always rotates to the same name."""
    root = re.sub(r"[^A-Za-z0-9]", "", base or ROTATION_SUFFIX.sub("", current)) or "keystore"
    return "%srot%s" % (root, chain_tag(desired.fingerprints))


def chain_tag(fingerprints) -> str:
    """8 hex digits of the SHA-256 of a chain's certificate fingerprints in order: the same chain, the same tag; the
    same leaf with other intermediates or without its root, another tag."""
    return hashlib.sha256("/".join(fingerprints).encode("ascii")).hexdigest()[:8]


@dataclass
class AliasPlan:
    action: str  # none | create | replace | rotate | update_cert
    steps: list
    warnings: list
    diff: dict
    new_keystore: str | None = None
    kept_because: list = field(default_factory=list)  # link ids that name the previous keystore directly
    repointed: list = field(default_factory=list)  # link ids whose SSLInfo a rotation points at the new keystore

    restart_required: bool = False  # changed in place a keystore the MPs may have loaded

    @property
    def changed(self) -> bool:
        return self.action != "none"


def _field(obj, name):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def direct_keystore_links(links, keystore: str) -> list:
    """The links whose SSLInfo names `keystore` directly (KeyStore "ks-x", not "ref://r"), sorted by id.

    links: Link records of mtls_links (or their dicts). A reference repointed by a rotation moves its users to the new
    keystore; a link that names the keystore itself keeps using it until its SSLInfo is changed."""
    found = {}
    for link in links or ():
        ssl = _field(link, "ssl")
        declared = (_field(ssl, "keystore") or "").strip() if ssl else ""
        if declared and not declared.startswith(REF_PREFIX) and declared == keystore:
            found[_field(link, "id")] = link
    return [found[k] for k in sorted(found)]


def direct_keystore_users(links, keystore: str) -> list[str]:
    """Ids of the links whose SSLInfo names `keystore` directly (see :func:`direct_keystore_links`)."""
    return [_field(link, "id") for link in direct_keystore_links(links, keystore)]


def key_alias_of(link):
    """The KeyAlias a link's SSLInfo names (None when it names none)."""
    ssl = _field(link, "ssl")
    return (_field(ssl, "key_alias") or None) if ssl else None


def kept_keystore_warning(keystore: str, users, references=()) -> str:
    """Why a rotation keeps the previous keystore, and what the operator does next (names only, no material)."""
    ref = list(references)[0] if references else "REFERENCE"
    return ("keystore %s is kept after the rotation: %s name%s it directly in SSLInfo (KeyStore %s, not a ref://) "
            "and %s not moved (another alias, or update_direct_users off), so %s the previous chain. Point %s at "
            "ref://%s or at the new keystore, then delete keystore %s"
            % (keystore, ", ".join(users), "s" if len(users) == 1 else "", keystore,
               "was" if len(users) == 1 else "were",
               "it keeps using" if len(users) == 1 else "they keep using", "it" if len(users) == 1 else "them",
               ref, keystore))


def plan_alias(desired: DesiredChain, stored: list, keystore: str, alias: str, alias_exists: bool,
               keystore_exists: bool = True, strategy: str = "in_place", references=(), keep_previous: bool = False,
               base_name: str | None = None, direct_users=(), repoint=(), other_aliases=()) -> AliasPlan:
    """What to do so that keystore/alias holds the desired chain (and key). Pure: the caller does the HTTP.

    references: the references that name `keystore` (a rotation repoints them to the new keystore).
    repoint: ids of links that name `keystore` directly with this alias; a rotation points their SSLInfo at the new
    keystore (target server updated, proxy redeployed: Apigee's documented path for a keystore used by name).
    direct_users: ids of other links that name `keystore` directly (another alias, or not to be changed); a rotation
    then keeps the previous keystore instead of deleting it, and says why.
    other_aliases: the keystore's other aliases. A rotation cannot carry them over (Apigee never exports a private
    key), so the users the references move would lose them: with other aliases the change is made in place."""
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
                         [CERT_ONLY_WARNING, RESTART_WARNING % where], diff, restart_required=True)
    if not keystore_exists:
        check_new_keystore_name(keystore)  # before any change
        return AliasPlan("create", ["create keystore %s" % keystore,
                                    "create alias %s with the private key and the complete chain" % where], [], diff)
    movers = list(references) + list(repoint)
    kept_note = []
    if strategy == "rotate" and movers and other_aliases:
        kept_note = ["keystore %s also holds alias(es) %s, which a rotation cannot carry over to a new keystore (a "
                     "private key is never exported): changed in place instead" % (keystore, ", ".join(
                         sorted(other_aliases)))]
        strategy, movers = "in_place", []
    if not alias_exists and not (strategy == "rotate" and movers):
        # an alias added to a keystore that exists: an MP that loaded the keystore without it keeps that
        return AliasPlan("create", ["create alias %s with the private key and the complete chain" % where],
                         kept_note + [RESTART_WARNING % where], diff, restart_required=True)
    if strategy == "in_place":
        return AliasPlan("replace", ["delete alias %s" % where,
                                     "create alias %s with the private key and the complete chain" % where],
                         kept_note + ["in_place replaces the alias: calls that use it fail until the new alias is "
                                      "created; strategy rotate avoids that", RESTART_WARNING % where], diff,
                         restart_required=True)
    refs, moved = list(references), sorted(set(repoint or ()))
    if not refs and not moved:
        # nothing names the keystore (no reference, no link by name): there is nothing to move to a new one
        return AliasPlan("replace", ["delete alias %s" % where,
                                     "create alias %s with the private key and the complete chain" % where],
                         ["strategy rotate: no reference and no link of the environment names keystore %s, so it "
                          "was changed in place" % keystore, RESTART_WARNING % where], diff, restart_required=True)
    new = rotation_keystore_name(keystore, desired, base_name)
    if new == keystore:
        raise MtlsError("rotation of %s would reuse the same keystore name" % keystore)
    steps = ["create keystore %s" % new,
             "create alias %s/%s with the private key and the complete chain" % (new, alias),
             "verify the chain stored in %s/%s" % (new, alias)]
    steps += ["repoint reference %s from %s to %s" % (r, keystore, new) for r in refs]
    steps += ["point %s at keystore %s instead of %s (%s)" % (
        lid, new, keystore, "update the target server" if lid.startswith("targetserver:")
        else "import a new proxy revision and deploy it") for lid in moved]
    users = sorted(set(direct_users or ()) - set(moved))
    warnings = []
    if keep_previous:
        steps.append("keep keystore %s" % keystore)
    elif users:
        steps.append("keep keystore %s (named directly by %s)" % (keystore, ", ".join(users)))
        warnings.append(kept_keystore_warning(keystore, users, refs))
    else:
        steps.append("delete keystore %s" % keystore)
    diff = chain_diff(stored, desired.chain, where)
    diff["after_header"] = "%s/%s (desired, via %s)" % (new, alias, ", ".join(refs + moved))
    return AliasPlan("rotate", steps, warnings, diff, new_keystore=new, kept_because=users, repointed=moved)
