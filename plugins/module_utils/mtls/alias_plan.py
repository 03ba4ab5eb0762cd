"""Decide first: what to do so that a keystore alias holds the desired chain (pure; the caller does the HTTP).

Nothing, create the alias, replace it in place, rotate through a new keystore and the references, or update the
certificate only (no key given). A rotation keeps the previous keystore when links name it directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible.module_utils.mtls.alias_chain import DesiredChain, chain_diff, same_chain
from ansible.module_utils.mtls.apigee.resources import check_new_keystore_name
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.links import REF_PREFIX

STRATEGIES = ("in_place", "rotate")
# "rot" + 8 hex digits of the new leaf's SHA-256 (Apigee keystore names are alphanumeric only); "-r<hex>" is what
# earlier versions of this tool appended, still recognised so that their leftovers are found
ROTATION_SUFFIX = re.compile(r"(?:rot|-r)[0-9a-f]{8}$")
CERT_ONLY_WARNING = "the alias certificate was updated without its private key (certificate-only update)"
# Apigee (update-tls-certificate-cloud / -private-cloud): an MP keeps a keystore it loaded until it restarts; only a
# reference repointed to a new keystore is picked up without one
RESTART_WARNING = ("%s was changed in place (same keystore name): the Message Processors keep the keystore they "
                   "loaded until they restart. Restart them (Private Cloud: one at a time, apigee-service "
                   "edge-message-processor restart; Cloud: only Apigee Support can), or change it by rotation "
                   "through a reference (strategy rotate), which needs no restart")


def rotation_family(name: str) -> str:
    """What every keystore of one rotation family shares: the name without a rotation suffix, letters and digits
    only ("ks-one", "ksonerot0123abcd" and "ks-one-r0123abcd" are one family)."""
    return re.sub(r"[^A-Za-z0-9]", "", ROTATION_SUFFIX.sub("", name or ""))


def rotation_keystore_name(current: str, desired: DesiredChain, base: str | None = None) -> str:
    """The new keystore of a rotation: the base name (the current one without an earlier rotation suffix, reduced to
    its letters and digits: Apigee keystore names are alphanumeric only) followed by "rot" and 8 hex digits of the
    leaf's SHA-256, so that the same chain always rotates to the same name."""
    root = re.sub(r"[^A-Za-z0-9]", "", base or ROTATION_SUFFIX.sub("", current)) or "keystore"
    return "%srot%s" % (root, desired.fingerprints[0].replace(":", "").lower()[:8])


@dataclass
class AliasPlan:
    action: str  # none | create | replace | rotate | update_cert
    steps: list
    warnings: list
    diff: dict
    new_keystore: str | None = None
    kept_because: list = field(default_factory=list)  # link ids that name the previous keystore directly

    restart_required: bool = False  # changed in place a keystore the MPs may have loaded

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
                         [CERT_ONLY_WARNING, RESTART_WARNING % where], diff, restart_required=True)
    if not keystore_exists:
        check_new_keystore_name(keystore)  # before any change
        return AliasPlan("create", ["create keystore %s" % keystore,
                                    "create alias %s with the private key and the complete chain" % where], [], diff)
    if not alias_exists and not (strategy == "rotate" and references):
        # an alias added to a keystore that exists: an MP that loaded the keystore without it keeps that
        return AliasPlan("create", ["create alias %s with the private key and the complete chain" % where],
                         [RESTART_WARNING % where], diff, restart_required=True)
    if strategy == "in_place":
        return AliasPlan("replace", ["delete alias %s" % where,
                                     "create alias %s with the private key and the complete chain" % where],
                         ["in_place replaces the alias: calls that use it fail until the new alias is created; "
                          "strategy rotate avoids that", RESTART_WARNING % where], diff, restart_required=True)
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
