"""The chain an alias should hold: the operator's inputs turned into the complete, checked chain (no HTTP, no Ansible).

- :func:`desired_chain` turns a chain PEM (leaf alone allowed), a CA bundle and a key or a PKCS#12 into the complete
  chain to store, and refuses bad input before anything changes: a key that does not match the leaf, an expired or not
  yet valid leaf, a CA bundle that cannot complete the chain.
- :func:`stored_chain` reads back what Apigee stores; :func:`same_chain` compares by meaning (SHA-256, in order).
- :func:`chain_diff` is what ``--diff`` shows: subjects, issuers, serials, not-after, fingerprints; never key material.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ansible.module_utils.mtls.certcore import (
    build_chain,
    chain_summary,
    describe_certificates,
    dump_pem,
    fingerprint_sha256,
    key_matches_certificate,
    load_certificates,
    load_pkcs12,
    load_private_key,
    validity_status,
)
from ansible.module_utils.mtls.errors import MtlsError
from cryptography.hazmat.primitives import serialization


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
        return b"".join(pem_bytes(c) for c in self.chain)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM, only for the upload body (never logged, never returned)."""
        if self.key is None:
            raise MtlsError("no private key was given")
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def pem_bytes(cert) -> bytes:
    """One certificate as PEM bytes."""
    data = dump_pem(cert)
    return data.encode("ascii") if isinstance(data, str) else data


def _is_self_signed(cert) -> bool:
    return cert.issuer == cert.subject


def desired_chain(cert_chain=None, ca_bundle=None, private_key=None, private_key_password=None, pkcs12=None,
                  pkcs12_password=None, include_root: bool = True, at=None, accepted_keys=None) -> DesiredChain:
    """The complete chain (leaf first) to store, checked. Inputs are bytes/str contents (PEM or DER).

    accepted_keys: the keys the backend lets the MP use (certificate_request.fitting_keys, e.g. ["RSA",
    "EC secp256r1"]); a leaf with another key is refused before any change."""
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
    if accepted_keys:
        from ansible.module_utils.mtls.certificate_request import key_label

        if key_label(leaf) not in accepted_keys:
            raise MtlsError("the leaf certificate %s has a %s key, but the backend lets the MP use only %s: give "
                            "material (cert_chain and private_key, or pkcs12) with one of those keys"
                            % (chain_summary([leaf])[0]["subject"], key_label(leaf), ", ".join(accepted_keys)))
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
    return describe_certificates(chain)


def chain_diff(stored: list, desired: list, where: str) -> dict:
    return {"before_header": "%s (stored)" % where, "after_header": "%s (desired)" % where,
            "before": describe_chain(stored), "after": describe_chain(desired)}


# The options of one keystore item (module apigee_keystore_alias, and each item of apigee_keystore_aliases)
ITEM_OPTIONS = {
    "env": {"type": "str", "required": True},
    "keystore": {"type": "str"},
    "alias": {"type": "str", "required": True},
    "reference": {"type": "str"},
    "cert_chain": {"type": "str"},
    "ca_bundle": {"type": "str"},
    "private_key": {"type": "str", "no_log": True},
    "private_key_password": {"type": "str", "no_log": True},
    "pkcs12": {"type": "path"},
    "pkcs12_password": {"type": "str", "no_log": True},
    "strategy": {"type": "str", "default": "rotate", "choices": ["in_place", "rotate"]},
    "keep_previous": {"type": "bool", "default": False},
    "update_direct_users": {"type": "bool", "default": True},
    "include_root": {"type": "bool", "default": True},
    "accepted_keys": {"type": "list", "elements": "str", "default": []},
}


def item_where(item) -> str:
    """How an item is named in messages: env, keystore (or ref://reference) and alias."""
    return "%s keystore %s alias %s" % (item.get("env"), item.get("keystore") or "ref://%s" % item.get("reference"),
                                        item.get("alias"))


def desired_chain_of(item, read_material) -> DesiredChain:
    """The desired chain of one item's options, its material read (content or path); bad local input (malformed PEM,
    a key that does not match, a wrong password, an expired leaf) raises MtlsError naming the item."""
    try:
        if not (item.get("cert_chain") or item.get("pkcs12")):
            raise MtlsError("give cert_chain or pkcs12")
        if not (item.get("keystore") or item.get("reference")):
            raise MtlsError("give keystore or reference")
        if item.get("private_key") and item.get("pkcs12"):
            raise MtlsError("give private_key or pkcs12, not both")
        return desired_chain(
            cert_chain=read_material(item.get("cert_chain"), "cert_chain"),
            ca_bundle=read_material(item.get("ca_bundle"), "ca_bundle"),
            private_key=read_material(item.get("private_key"), "private_key", secret=True),
            private_key_password=item.get("private_key_password"),
            pkcs12=read_material(item.get("pkcs12"), "pkcs12", secret=True),
            pkcs12_password=item.get("pkcs12_password"),
            include_root=item.get("include_root", True), accepted_keys=item.get("accepted_keys") or None)
    except MtlsError as exc:
        raise MtlsError("%s: %s" % (item_where(item), exc)) from None


def item_options(item, strategy="rotate", include_root=True) -> dict:
    """An item (a plan's keystore item, or an inventory entry carrying other keys too) reduced to ITEM_OPTIONS, with
    ca_chain as the ca_bundle when no ca_bundle is given and the role's defaults for strategy and include_root."""
    out = {k: item[k] for k in ITEM_OPTIONS if k in item and item[k] not in (None, "")}
    if "ca_bundle" not in out and item.get("ca_chain"):
        out["ca_bundle"] = item["ca_chain"]
    out.setdefault("strategy", strategy)
    out.setdefault("include_root", include_root)
    return out
