"""Pure diagnosis rules: link + keystore contents + probe -> one verdict, the evidence, and a remediation plan.

No HTTP, no Ansible: inputs are plain data (a ``Link`` or its dict, the keystore read by ``mtls_links.read_keystore``,
the probe of ``mtls_probe.probe``, and a bag of known CA certificates); the JSSE selection model, chain building and
DN forms come from the certificate core.

Precedence (the first rule that applies wins; documented in docs/diagnose.md):

 1. tls_disabled               the link is meant for TLS (an SSLInfo block) but TLS is off (Enabled=false / http URL)
 2. reference_missing          client auth on, KeyStore is ref://name and the reference does not exist / points nowhere
    dynamic_keystore           client auth on, KeyStore or KeyAlias is set from flow variables whose values were not
                               declared: what the MP sends is decided per request, so it is not checked (never ok)
 3. keystore_missing           client auth on, no KeyStore configured, or the keystore does not exist
 4. alias_missing              client auth on, KeyAlias unset or not in a keystore that has other aliases
    no_client_certificate      client auth on, the keystore holds no alias with a certificate and key
 5. client_auth_disabled       ClientAuthEnabled=false but the backend asks for a client certificate
 6. backend_unreachable        no TCP/TLS connection from the probe's vantage point
    server_not_trusted         the MP validates the backend's certificate (SSLInfo TrustStore, validation errors not
                               ignored) and JSSE's PKIX trust manager refuses it (server_trust.py): the MP aborts the
                               handshake before it sends any certificate
 7. backend_no_client_auth     client auth on at the MP, but the backend never asks for a certificate
 8. certificate_expired / certificate_not_yet_valid   the leaf the MP would send is outside its validity (also: a CA
                                                     certificate of the sent chain below the CA the backend trusts)
 9. chain_incomplete           JSSE would not send the stored chain (or would send one with a gap), but completing it
                               from known CAs makes it acceptable -> upload_chain lists the full chain and the missing
    ca_mismatch                JSSE would not send it, and no completion helps -> trust_issuer: the leaf's issuing CA
                               (plus ca_chain up to the root for OpenSSL-based backends)
10. rejected_by_backend        JSSE sends a chain but the backend still refuses it (real handshake with the
                               operator's material, or a leaf without the clientAuth extended key usage)
    alias_key_unknown          everything above says ok, but Apigee did not say whether the alias holds a private key
                               (an X / hybrid alias read without its type): whether the MP sends a certificate at all
                               was not checked, so never ok
    server_trust_unknown       everything above says ok, but whether JSSE trusts the backend's certificate could not
                               be decided (a check server_trust.py does not model, or the certificate was not seen)
    mp_restart_pending         everything above says ok, but the keystore was changed in place (same name) by a fix
                               and no Message Processor restart has been recorded since: the MPs may still use the
                               chain they loaded before (Apigee keeps it until they restart), so never ok
11. ok
Links with client auth off and a backend that does not ask for a certificate are ``ok`` (plain one-way TLS).
"""
from __future__ import annotations

from ansible.module_utils.mtls import certcore
from ansible.module_utils.mtls.certificate_request import (
    JSSE_EC_CURVES,
    certificate_verify_scheme,
    fitting_keys,
    jsse_key_types,
    jsse_permitted_cert_signatures,
    key_label,
)
from ansible.module_utils.mtls.links import flow_variables_of
from ansible.module_utils.mtls.server_trust import host_matches, jsse_sni, sends_sni, server_trust

VERDICTS = (
    "ok", "backend_no_client_auth", "backend_unreachable", "tls_disabled", "client_auth_disabled",
    "reference_missing", "keystore_missing", "alias_missing", "no_client_certificate", "chain_incomplete",
    "ca_mismatch", "certificate_expired", "certificate_not_yet_valid", "rejected_by_backend",
    "key_type_not_accepted", "signature_algorithm_rejected", "no_certificate_verify_scheme",
    "certificate_request_unreadable", "dynamic_keystore", "alias_key_unknown", "mp_restart_pending",
    "server_not_trusted", "server_trust_unknown",
)
PRECEDENCE = (
    "tls_disabled", "reference_missing", "dynamic_keystore", "keystore_missing", "alias_missing",
    "no_client_certificate", "backend_unreachable", "server_not_trusted", "client_auth_disabled",
    "backend_no_client_auth",
    "certificate_expired", "certificate_not_yet_valid", "key_type_not_accepted", "signature_algorithm_rejected",
    "chain_incomplete", "ca_mismatch", "no_certificate_verify_scheme", "rejected_by_backend",
    "certificate_request_unreadable", "alias_key_unknown", "server_trust_unknown", "mp_restart_pending", "ok",
)
ACTIONS = ("none", "upload_chain", "trust_issuer", "enable_client_auth", "renew_certificate", "manual")


def _get(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def link_view(link):
    """The fields the rules need, from a Link or its dict."""
    ssl = _get(link, "ssl") or {}
    ks = _get(link, "keystore") or {}
    ts = _get(link, "truststore") or {}
    source = _get(link, "source")
    scheme = _get(link, "scheme") or "https"
    ssl_enabled = bool(_get(ssl, "enabled"))
    tls_enabled = _get(link, "tls_enabled")
    if tls_enabled is None:
        tls_enabled = (scheme == "https" or ssl_enabled) if source in ("proxy", "callout") else ssl_enabled
    return {
        "id": _get(link, "id"), "source": source, "host": _get(link, "host"), "port": _get(link, "port"),
        "sni": _get(link, "sni"), "tls_enabled": bool(tls_enabled), "ssl_present": bool(_get(ssl, "present")),
        "client_auth_enabled": bool(_get(ssl, "client_auth_enabled")),
        "keystore_declared": _get(ks, "declared"), "keystore_reference": _get(ks, "reference"),
        "reference_found": _get(ks, "reference_found"), "keystore": _get(ks, "name"),
        "keystore_error": _get(ks, "error"), "alias": _get(ssl, "key_alias"),
        "keystore_dynamic": bool(_get(ks, "dynamic")), "keystore_variables": list(_get(ks, "variables") or []),
        "truststore": _get(ts, "name"), "enabled": _get(link, "enabled", True),
        "truststore_declared": _get(ts, "declared") or _get(ssl, "truststore"),
        "truststore_reference": _get(ts, "reference"), "truststore_error": _get(ts, "error"),
        "ignore_validation_errors": bool(_get(ssl, "ignore_validation_errors")),
        "truststore_dynamic": bool(_get(ts, "dynamic")),
    }


def cert_ref(cert, at=None, with_pem=True):
    """A certificate as the report and the plans name it (public data only)."""
    out = {
        "subject": certcore.dn_rfc4514(cert.subject),
        "subject_openssl": certcore.dn_openssl(cert.subject),
        "issuer": certcore.dn_rfc4514(cert.issuer),
        "sha256": certcore.fingerprint_sha256(cert),
        "not_after": cert.not_valid_after_utc.isoformat(),
    }
    if with_pem:
        out["pem"] = certcore.dump_pem([cert])
    return out


def plan(action, text, **fields):
    out = {"action": action, "text": text}
    out.update(fields)
    return out


def _result(verdict, evidence, remediation):
    assert verdict in VERDICTS, verdict
    assert remediation["action"] in ACTIONS, remediation["action"]
    return {"verdict": verdict, "evidence": evidence, "remediation": remediation}


def _same(a, b):
    return certcore.fingerprint_sha256(a) == certcore.fingerprint_sha256(b)


def _selection_evidence(sel):
    matched = _get(sel, "matched_issuer")
    if matched is not None and not isinstance(matched, str):
        matched = certcore.dn_rfc4514(matched)
    return {"sent": bool(_get(sel, "sent")), "matched_index": _get(sel, "matched_index"),
            "matched_issuer": matched, "reason": _get(sel, "reason")}


def _chain_gap(chain):
    """Index i where chain[i+1] is not the issuer of chain[i] (by DN), or None when the order is sound."""
    for i in range(len(chain) - 1):
        if not certcore.dn_equal(chain[i].issuer, chain[i + 1].subject):
            return i
    return None


def diagnose(link, keystore, probe, ca_bag=(), at=None, key_manager="SunX509", backend_kind=None, java=None,
             truststore=None):
    """One verdict for one link. keystore: read_keystore() output or None; probe: probe() output (with the
    internal 'acceptable_ca_names' list of x509.Name and 'server_certificates') or None; ca_bag: known CA certificates
    (truststores, ca_bundle); java: the MP's Java profile (jsse_profile, default 17); truststore: read_keystore()
    output of the link's TrustStore (None when it has none, or it was not read).
    """
    lv = link_view(link)
    ev = {"link": {k: lv[k] for k in ("source", "host", "port", "sni", "tls_enabled", "client_auth_enabled",
                                      "keystore_declared", "keystore_reference", "keystore", "alias",
                                      "truststore")}}
    # 1. TLS off
    if not lv["tls_enabled"]:
        return _result("tls_disabled", ev, plan(
            "manual", "TLS is off for %s: set <SSLInfo><Enabled>true</Enabled> (and an https URL / TLS port) so the "
            "MP opens TLS to %s:%s." % (lv["id"], lv["host"], lv["port"])))

    chain = []
    alias_rec = None
    if lv["client_auth_enabled"]:
        # 2. reference
        if lv["keystore_reference"] and not lv["keystore"]:
            ev["reference"] = {"name": lv["keystore_reference"], "found": lv["reference_found"],
                               "error": lv["keystore_error"]}
            return _result("reference_missing", ev, plan(
                "manual", "KeyStore is ref://%s but %s. Create the reference in the environment pointing at the "
                "keystore that holds the client certificate (resourceType KeyStore), or fix <KeyStore>."
                % (lv["keystore_reference"], lv["keystore_error"] or "it does not resolve"),
                reference=lv["keystore_reference"]))
        # 2b. set per request from flow variables nobody declared a value for
        alias_vars = flow_variables_of(lv["alias"])
        if lv["keystore_dynamic"] or alias_vars:
            names = sorted(set(lv["keystore_variables"] if lv["keystore_dynamic"] else []) | set(alias_vars))
            ev["flow_variables"] = {"keystore": lv["keystore_declared"], "alias": lv["alias"], "undeclared": names}
            return _result("dynamic_keystore", ev, plan(
                "manual", "%s sets its client certificate at run time: %s from flow variable(s) %s, whose values are "
                "not known here, so which keystore and alias the MP uses (and whether it sends a chain) was not "
                "checked. Declare the values the proxy sets (mtls_flow_variables, e.g. {%s}) to diagnose against "
                "them." % (lv["id"], " and ".join(x for x in (
                    "KeyStore %s" % lv["keystore_declared"] if lv["keystore_dynamic"] else "",
                    "KeyAlias %s" % lv["alias"] if alias_vars else "") if x), ", ".join(names),
                    ", ".join("%s: ..." % n for n in names)), variables=names))
        # 3. keystore
        if not lv["keystore"]:
            return _result("keystore_missing", ev, plan(
                "manual", "Client auth is on but no <KeyStore> is configured for %s: create a keystore with the "
                "client certificate chain and key, then set <KeyStore>ref://...</KeyStore> and <KeyAlias>."
                % lv["id"]))
        if not keystore or not keystore.get("exists"):
            return _result("keystore_missing", ev, plan(
                "manual", "Keystore %r (used by %s%s) does not exist: create it and upload the complete client "
                "certificate chain with its key." % (lv["keystore"], lv["id"],
                                                    " via ref://%s" % lv["keystore_reference"]
                                                    if lv["keystore_reference"] else ""),
                keystore=lv["keystore"], reference=lv["keystore_reference"]))
        aliases = keystore.get("aliases") or {}
        usable = {a: r for a, r in aliases.items() if r.get("chain") and r.get("has_key") is not False}
        ev["keystore"] = {"name": lv["keystore"], "aliases": sorted(aliases),
                          "aliases_with_key_and_certificate": sorted(usable)}
        upload_target = {"keystore": lv["keystore"], "alias": lv["alias"], "reference": lv["keystore_reference"]}
        # 4. alias / certificate
        if not usable:
            return _result("no_client_certificate", ev, plan(
                "upload_chain", "Keystore %r holds no client certificate with a private key, so the MP sends an "
                "empty Certificate message and the backend answers with a fatal alert. Upload the complete chain "
                "(leaf + intermediates) and its key to alias %r." % (lv["keystore"], lv["alias"] or "<KeyAlias>"),
                certificates=[], missing=[], key_required=True, **upload_target))
        if not lv["alias"] or lv["alias"] not in aliases:
            return _result("alias_missing", ev, plan(
                "upload_chain", "KeyAlias %r is %s keystore %r (aliases there: %s). Upload the chain and key under "
                "that alias, or point <KeyAlias> at one of the existing aliases."
                % (lv["alias"], "not set for" if not lv["alias"] else "not in", lv["keystore"],
                   ", ".join(sorted(aliases)) or "none"),
                certificates=[], missing=[], key_required=True, existing_aliases=sorted(aliases), **upload_target))
        alias_rec = aliases[lv["alias"]]
        if lv["alias"] not in usable:
            ev["alias"] = {"name": lv["alias"], "has_key": alias_rec.get("has_key"), "error": alias_rec.get("error")}
            return _result("no_client_certificate", ev, plan(
                "upload_chain", "Alias %r in keystore %r has %s, so the MP has no client certificate to send. "
                "Upload the complete chain (leaf + intermediates) with its key."
                % (lv["alias"], lv["keystore"], "no private key" if alias_rec.get("chain") else "no certificate"),
                certificates=[], missing=[], key_required=True, **upload_target))
        chain = list(alias_rec["chain"])
        ev["stored_chain"] = certcore.chain_summary(chain, at)

    # probe facts
    if probe is not None:
        ev["probe"] = {k: probe.get(k) for k in ("reachable", "error", "protocol", "client_auth_requested",
                                                 "acceptable_client_cas", "acceptable_client_cas_openssl",
                                                 "handshake_without_certificate") if k in probe}
    reachable = bool(probe and probe.get("reachable"))
    requested = bool(probe and probe.get("client_auth_requested"))

    failed_early = _failed_before_certificate_request(probe) if reachable and not requested else None
    if not lv["client_auth_enabled"]:
        if probe is None or not reachable or failed_early:
            return _unreachable(lv, ev, probe, failed_early)
        untrusted = _server_trust(lv, ev, truststore, probe, at)
        if untrusted is not None:
            return untrusted
        if requested:
            return _result("client_auth_disabled", ev, plan(
                "enable_client_auth", "The backend %s:%s asks for a client certificate but ClientAuthEnabled is "
                "false for %s, so the MP sends none. Set <ClientAuthEnabled>true</ClientAuthEnabled> with "
                "<KeyStore> and <KeyAlias>." % (lv["host"], lv["port"], lv["id"]),
                keystore=lv["keystore"], alias=lv["alias"], reference=lv["keystore_reference"]))
        return _ok_unless_trust_unknown(lv, ev, plan(
            "none", "One-way TLS: the backend does not ask for a client certificate."))

    # 6-7
    if probe is None or not reachable or failed_early:
        return _unreachable(lv, ev, probe, failed_early)
    untrusted = _server_trust(lv, ev, truststore, probe, at)
    if untrusted is not None:
        return untrusted
    if not requested:
        return _result("backend_no_client_auth", ev, plan(
            "manual", "Client auth is on at the MP for %s but %s:%s never asks for a client certificate, so none "
            "is sent. If the backend should authenticate the MP, enable client certificate verification there "
            "(e.g. nginx ssl_verify_client on; JSSE needClientAuth)." % (lv["id"], lv["host"], lv["port"])))

    # 8. validity of the leaf
    leaf = chain[0]
    validity = certcore.validity_status(leaf, at)
    renew = {"keystore": lv["keystore"], "alias": lv["alias"], "reference": lv["keystore_reference"],
             "certificate": cert_ref(leaf, at, with_pem=False)}
    if validity == "expired":
        return _result("certificate_expired", ev, plan(
            "renew_certificate", "The client certificate %s in %s/%s expired on %s: issue a new one and upload it "
            "(rotate through the reference)." % (certcore.dn_rfc4514(leaf.subject), lv["keystore"], lv["alias"],
                                                 leaf.not_valid_after_utc.isoformat()), **renew))
    if validity == "not_yet_valid":
        return _result("certificate_not_yet_valid", ev, plan(
            "renew_certificate", "The client certificate %s in %s/%s is not valid before %s (check the clocks, or "
            "upload a certificate that is valid now)." % (certcore.dn_rfc4514(leaf.subject), lv["keystore"],
                                                           lv["alias"], leaf.not_valid_before_utc.isoformat()),
            **renew))

    # 8b. what the server's CertificateRequest allows: the key types JSSE asks its key manager for, and (PKIX) the
    # signature algorithms every certificate of the chain must be signed with
    req = probe.get("certificate_request")
    key_types = signatures = None
    key = certcore.java_key_algorithm(leaf)
    curve = getattr(getattr(leaf.public_key(), "curve", None), "name", None)
    if req is None:
        ev["certificate_request"] = {"read": False, "error": probe.get("certificate_request_error")}
    else:
        key_types, signatures = jsse_key_types(req, java), jsse_permitted_cert_signatures(req, java)
        ev["certificate_request"] = dict(req, read=True, jsse_key_types=key_types,
                                         pkix_certificate_signatures=signatures)
        if key not in key_types or (key == "EC" and curve not in JSSE_EC_CURVES):
            why = ("the backend's CertificateRequest (%s) lets JSSE offer only %s keys" % (
                req.get("tls_version"), ", ".join(key_types) or "no") if key not in key_types else
                "its %s key is on curve %s, which a JSSE client does not offer" % (key, curve))
            fitting = fitting_keys(req, java)
            return _result("key_type_not_accepted", ev, plan(
                "upload_chain", "The MP's client certificate %s has a %s key, but %s: JSSE sends an empty Certificate "
                "message whatever CAs the backend names (signature algorithms offered: %s). Upload a client "
                "certificate with a %s key (declared material, or issue one) to %s/%s, or let the backend accept %s "
                "signatures." % (
                    certcore.dn_rfc4514(leaf.subject), key_label(leaf), why,
                    ", ".join(req.get("signature_algorithms") or []) or "none", " or ".join(fitting) or "supported",
                    lv["keystore"], lv["alias"], key),
                key_type=key_label(leaf), accepted_key_types=key_types, accepted_keys=fitting, certificates=[],
                missing=[], key_required=True, **upload_target_of(lv)))
        if key_manager.replace("-", "").upper() != "SUNX509":
            refused = certcore.pkix_constraint_failure(chain, signatures)
            if refused:
                without_root = chain[:-1] if len(chain) > 1 and certcore.is_self_signed(chain[-1]) else None
                if without_root and not certcore.pkix_constraint_failure(without_root, signatures):
                    return _result("signature_algorithm_rejected", ev, plan(
                        "upload_chain", "%s. The attached root %s is what the backend's signature algorithms refuse: "
                        "upload the chain without it to %s/%s." % (refused[0].upper() + refused[1:],
                                                                  certcore.dn_rfc4514(chain[-1].subject),
                                                                  lv["keystore"], lv["alias"]),
                        certificates=[cert_ref(c, at) for c in without_root], missing=[], key_required=False,
                        include_root=False, **upload_target_of(lv)))
                return _result("signature_algorithm_rejected", ev, plan(
                    "manual", "%s, so the MP (PKIX key manager) sends an empty Certificate message. Issue the client "
                    "certificate (and its CA chain) signed with one of %s, or let the backend accept the chain's "
                    "signature algorithm." % (refused[0].upper() + refused[1:], ", ".join(signatures) or "none"),
                    **renew))

    # 9. what JSSE does with the stored chain
    acceptable = list(probe.get("acceptable_ca_names") or [])
    sel = certcore.jsse_select(chain, acceptable, key_manager=key_manager, at=at, key_types=key_types,
                               cert_signatures=signatures)
    ev["jsse_selection"] = _selection_evidence(sel)
    bag = list(chain) + [c for c in ca_bag if c is not None]
    built = certcore.build_chain(leaf, bag)
    path = list(_get(built, "path") or [leaf])
    ev["chain_completion"] = {"complete": bool(_get(built, "complete")),
                              "missing_issuer": _dn_or_none(_get(built, "missing_issuer")),
                              "path": [certcore.dn_rfc4514(c.subject) for c in path]}
    gap = _chain_gap(chain)
    if not _get(sel, "sent") or gap is not None:
        completed = path if len(path) > 1 else None
        if completed is not None:
            sel2 = certcore.jsse_select(completed, acceptable, key_manager=key_manager, at=at, key_types=key_types,
                                        cert_signatures=signatures)
            ev["jsse_selection_with_completed_chain"] = _selection_evidence(sel2)
            differs = [certcore.fingerprint_sha256(c) for c in completed] != \
                [certcore.fingerprint_sha256(c) for c in chain]
            if _get(sel2, "sent") and differs:
                missing = [c for c in completed if not any(_same(c, s) for s in chain)]
                reason = ("the stored chain has a gap after %s" % certcore.dn_rfc4514(chain[gap].subject)
                          if gap is not None and _get(sel, "sent") else
                          "no certificate in the stored chain was issued by a CA the backend accepts")
                return _result("chain_incomplete", ev, plan(
                    "upload_chain", "%s; with the complete chain (%s) the MP would send it (issuer %s is "
                    "acceptable). Upload the complete chain to %s/%s." % (
                        reason[0].upper() + reason[1:], " -> ".join(certcore.dn_rfc4514(c.subject) for c in completed),
                        ev["jsse_selection_with_completed_chain"]["matched_issuer"], lv["keystore"], lv["alias"]),
                    keystore=lv["keystore"], alias=lv["alias"], reference=lv["keystore_reference"],
                    certificates=[cert_ref(c, at) for c in completed],
                    missing=[cert_ref(c, at) for c in missing], key_required=False))
        if not _get(sel, "sent"):
            issuer_cert = path[1] if len(path) > 1 else None
            ca_chain = path[1:]
            fields = {
                "backend": {"host": lv["host"], "port": lv["port"], "kind": backend_kind},
                "subject": certcore.dn_rfc4514(leaf.issuer),
                "subject_openssl": certcore.dn_openssl(leaf.issuer),
                "sha256": certcore.fingerprint_sha256(issuer_cert) if issuer_cert is not None else None,
                "pem": cert_ref(issuer_cert, at)["pem"] if issuer_cert is not None else None,
                "ca_chain": [cert_ref(c, at) for c in ca_chain],
            }
            text = ("The backend %s:%s accepts client certificates from %s, but the MP's leaf %s was issued by %s, "
                    "which is not among them, so JSSE sends no certificate. Put the issuing CA certificate (%s) "
                    "into the backend truststore%s and reload the backend." % (
                        lv["host"], lv["port"], "; ".join(probe.get("acceptable_client_cas") or []) or "no named CA",
                        certcore.dn_rfc4514(leaf.subject), fields["subject"],
                        ("SHA-256 " + fields["sha256"]) if fields["sha256"] else "not found in any known truststore; "
                        "get it from the certificate's issuer", " (OpenSSL-based backends also need the rest of "
                        "ca_chain up to the root)" if len(ca_chain) > 1 else ""))
            return _result("ca_mismatch", ev, plan("trust_issuer", text, **fields))

    # 10. the chain is sent: does the backend accept it?
    # the backend validates every certificate it gets between the leaf and the CA it trusts (PKIX, OpenSSL): one that
    # expired (or is not valid yet) in that part of the stored chain makes it refuse the chain
    matched_index = _get(sel, "matched_index")
    for cert in chain[1:(matched_index or 0) + 1]:
        status = certcore.validity_status(cert, at)
        if status in ("expired", "not_yet_valid"):
            verdict = "certificate_expired" if status == "expired" else "certificate_not_yet_valid"
            when = cert.not_valid_after_utc if status == "expired" else cert.not_valid_before_utc
            ev["invalid_chain_certificate"] = cert_ref(cert, at, with_pem=False)
            if probe.get("handshake"):
                ev["handshake"] = probe["handshake"]
            return _result(verdict, ev, plan(
                "renew_certificate", "The stored chain of %s/%s holds the CA certificate %s, which %s %s: the backend "
                "validates it between the MP's leaf and the CA it trusts (%s) and refuses the chain. Upload the chain "
                "with that CA's current certificate (the same subject and key, valid now)." % (
                    lv["keystore"], lv["alias"], certcore.dn_rfc4514(cert.subject),
                    "expired on" if status == "expired" else "is not valid before", when.isoformat(),
                    ev["jsse_selection"]["matched_issuer"]), **renew))
    handshake = probe.get("handshake")
    if handshake and handshake.get("client_certificate_presented") and not handshake.get("ok"):
        ev["handshake"] = handshake
        return _result("rejected_by_backend", ev, plan(
            "manual", "The MP sends its chain (issuer %s matched) but %s:%s still refuses it: %s. Check the "
            "backend's truststore, revocation and certificate policy." % (
                ev["jsse_selection"]["matched_issuer"], lv["host"], lv["port"],
                handshake.get("alert_text") or handshake.get("error") or
                "HTTP %s" % handshake.get("http_status"))))
    if not certcore.has_client_auth_eku(leaf):
        ev["leaf_extended_key_usage"] = "no clientAuth"
        return _result("rejected_by_backend", ev, plan(
            "renew_certificate", "The MP sends %s, but its extended key usage does not allow client authentication, "
            "so the backend refuses it. Issue a certificate with the clientAuth EKU." % certcore.dn_rfc4514(
                leaf.subject), **renew))
    key_size = getattr(leaf.public_key(), "key_size", None)
    if req is not None and certificate_verify_scheme(req, key, curve, key_size, java) is None:
        fitting = [k for k in fitting_keys(req, java) if k != key_label(leaf)]
        return _result("no_certificate_verify_scheme", ev, plan(
            "upload_chain", "The MP sends its chain, then aborts the handshake itself: no signature algorithm the "
            "backend allows (%s) can sign the CertificateVerify with its %s key%s (JSSE: \"No supported "
            "CertificateVerify signature algorithm\"). Upload a client certificate with a %s key (declared "
            "material, or issue one) to %s/%s, or let the backend accept a scheme for this key." % (
                ", ".join(req.get("signature_algorithms") or []) or "none", key,
                " on " + curve if curve else " of %s bits" % key_size if key_size else "",
                " or ".join(fitting) or "supported", lv["keystore"], lv["alias"]),
            key_type=key_label(leaf), accepted_keys=fitting, certificates=[], missing=[], key_required=True,
            **upload_target_of(lv)))
    if req is None:
        return _result("certificate_request_unreadable", ev, plan(
            "manual", "The backend asks for a client certificate and names an acceptable CA of the stored chain, "
            "but its CertificateRequest could not be read (%s), so the key types and signature algorithms it allows "
            "are not checked: this link is not known to work. Take a packet capture of the handshake and read the "
            "CertificateRequest." % (probe.get("certificate_request_error") or "not captured")))
    if lv["client_auth_enabled"] and alias_rec is not None and alias_rec.get("has_key") is None:
        ev["alias"] = {"name": lv["alias"], "has_key": None, "error": alias_rec.get("error")}
        return _result("alias_key_unknown", ev, plan(
            "manual", "The stored chain of %s/%s would be sent and accepted, but Apigee did not say whether alias %r "
            "holds a private key (its type, KEY_CERT or CERT, was not read%s): an alias without one gives the MP no "
            "client certificate to send, so this link is not known to work. Read the alias (GET .../keystores/%s/"
            "aliases/%s) and check that its type is KEY_CERT." % (
                lv["keystore"], lv["alias"], lv["alias"],
                ": " + alias_rec["error"] if alias_rec.get("error") else "", lv["keystore"], lv["alias"]),
            keystore=lv["keystore"], alias=lv["alias"], reference=lv["keystore_reference"]))
    return _ok_unless_trust_unknown(lv, ev, plan("none", "The MP sends its chain: the backend accepts a CA in it (%s)."
                                                 % ev["jsse_selection"]["matched_issuer"]))


def _server_trust(lv, ev, truststore, probe, at):
    """server_not_trusted when the MP validates the backend's certificate and JSSE would refuse it; else None (the
    outcome, checked or not, is in ev["server_trust"])."""
    name = lv["truststore"] or lv["truststore_declared"]
    sent = list(probe.get("server_certificates") or [])
    if sent and sends_sni(lv["sni"]):
        ev["host_name"] = {"host": jsse_sni(lv["sni"]), "sni": True,
                           "matches": host_matches(sent[0], jsse_sni(lv["sni"]))}
    if not lv["truststore_declared"]:
        ev["server_trust"] = {"checked": False, "truststore": None,
                              "reason": "no TrustStore in SSLInfo: the MP accepts the backend's certificate unchecked"}
        return None
    if lv["ignore_validation_errors"]:
        ev["server_trust"] = {"checked": False, "truststore": name,
                              "reason": "IgnoreValidationErrors is true: the MP accepts the backend's certificate "
                                        "unchecked"}
        return None
    if lv["truststore_dynamic"]:   # set per request from flow variables whose values were not declared
        ev["server_trust"] = {"checked": True, "truststore": lv["truststore_declared"], "trusted": None,
                              "reason": "TrustStore %s is set from flow variables whose values were not declared, so "
                                        "which truststore the MP uses is not known" % lv["truststore_declared"]}
        return None
    if not lv["truststore"] or truststore is None or not truststore.get("exists"):
        why = ("TrustStore is ref://%s, which %s" % (lv["truststore_reference"], lv["truststore_error"] or
                                                      "does not resolve")
               if lv["truststore_reference"] and not lv["truststore"]
               else "truststore %r does not exist in the environment" % name)
        ev["server_trust"] = {"checked": True, "truststore": name, "trusted": False, "reason": why}
        return _result("server_not_trusted", ev, plan(
            "manual", "%s: the MP has no truststore to validate %s:%s's certificate with, and the call fails before "
            "any client certificate is sent. Create the truststore with the CA that issues the backend's "
            "certificate (and the reference, if SSLInfo names one), or fix <TrustStore>." % (
                why[0].upper() + why[1:], lv["host"], lv["port"]), truststore=name,
            reference=lv["truststore_reference"]))
    anchors = [cert for rec in (truststore.get("aliases") or {}).values() for cert in rec.get("chain") or []]
    verdict = server_trust(sent, anchors, at, protocol=probe.get("protocol"), cipher=probe.get("cipher"))
    ev["server_trust"] = {"checked": True, "truststore": name, "trusted": verdict["trusted"],
                          "reason": verdict["reason"], "server_chain": certcore.chain_summary(sent, at),
                          "anchor": certcore.dn_rfc4514(verdict["anchor"].subject) if verdict["anchor"] else None}
    if verdict["trusted"] is False:
        top = sent[-1] if sent else None
        return _result("server_not_trusted", ev, plan(
            "manual", "The MP does not trust %s:%s's certificate with truststore %r: %s. The MP aborts the "
            "handshake before it sends a client certificate (503). Add the CA that issues the backend's chain%s to "
            "truststore %r (on Edge, restart the MPs or rotate through a reference: an MP keeps the truststore it "
            "loaded), or have the backend send a chain that ends under a CA the truststore holds." % (
                lv["host"], lv["port"], name, verdict["reason"],
                " (%s)" % certcore.dn_rfc4514(top.issuer) if top is not None else "", name),
            truststore=name, reference=lv["truststore_reference"],
            issuer=certcore.dn_rfc4514(top.issuer) if top is not None else None))
    return None


def _ok_unless_trust_unknown(lv, ev, ok_plan):
    """ok, unless whether the MP trusts the backend's certificate could not be decided: then server_trust_unknown."""
    trust = ev.get("server_trust") or {}
    name = ev.get("host_name") or {}
    if name.get("sni") and name.get("matches") is False:
        return _result("server_trust_unknown", ev, plan(
            "manual", "Everything else says this link works, but %s:%s, reached with SNI %s, sends a certificate that "
            "does not name it: Apigee documents that then \"there is no way to ignore the error and the connection "
            "fails\" (TlsInfo.ignoreValidationErrors), so this link is not known to work. Give the backend a "
            "certificate that names %s (subjectAltName), or reach it by the name its certificate has." % (
                lv["host"], lv["port"], name.get("host"), name.get("host")),
            truststore=trust.get("truststore")))
    if trust.get("checked") and trust.get("trusted") is None:
        return _result("server_trust_unknown", ev, plan(
            "manual", "Everything else says this link works, but whether the MP trusts %s:%s's certificate with "
            "truststore %r was not decided: %s. Check the backend's chain against the truststore (openssl verify "
            "-CAfile <the truststore's certificates> -untrusted <the chain> <the leaf>)." % (
                lv["host"], lv["port"], trust.get("truststore"), trust.get("reason")),
            truststore=trust.get("truststore")))
    return _result("ok", ev, ok_plan)


def upload_target_of(lv):
    return {"keystore": lv["keystore"], "alias": lv["alias"], "reference": lv["keystore_reference"]}


def _dn_or_none(name):
    if name is None or isinstance(name, str):
        return name
    return certcore.dn_rfc4514(name)


def _failed_before_certificate_request(probe):
    """The alert or error that ended the probe's handshake before the backend asked for a certificate (a version or
    cipher the backend refuses), or None when the handshake got that far or completed."""
    h = (probe or {}).get("handshake_without_certificate") or {}
    if h.get("completed") or not (h.get("alert") or h.get("error") or h.get("alert_text")):
        return None
    return h.get("alert_text") or h.get("alert") or h.get("error")


def _unreachable(lv, ev, probe, failed_early=None):
    if failed_early:
        return _result("backend_unreachable", ev, plan(
            "manual", "TLS to %s:%s fails before the backend asks for a client certificate (%s, %s): the MP cannot "
            "complete a handshake with the TLS versions and ciphers it offers. Compare the link's SSLInfo "
            "<Protocols>/<Ciphers> with what the backend accepts." % (
                lv["host"], lv["port"], (probe or {}).get("protocol") or "TLS", failed_early)))
    why = (probe or {}).get("error") or "not probed"
    return _result("backend_unreachable", ev, plan(
        "manual", "Cannot open TLS to %s:%s from the probe's host (%s). Check the host, port, DNS and firewalls "
        "from the MP's network (delegate the probe to a host there)." % (lv["host"], lv["port"], why)))


def summarize(results):
    """{verdict: count} over diagnosed links, every verdict present (0 when unused), plus totals."""
    counts = {v: 0 for v in VERDICTS}
    for r in results:
        counts[r["verdict"]] += 1
    broken = sum(n for v, n in counts.items() if v != "ok")
    return {"total": len(results), "ok": counts["ok"], "broken": broken, "by_verdict": counts}


def restart_pending(result: dict, env: str, keystore: str | None, pending) -> dict:
    """An ``ok`` verdict becomes ``mp_restart_pending`` when the link's keystore is one a fix changed in place (same
    name) and no MP restart was recorded since: what the management API holds is right, but Apigee's MPs keep the
    keystore they loaded until they restart (update-tls-certificate-cloud / -private-cloud), so the traffic may still
    break. pending: {"env/keystore": when it was changed}. Any other verdict is returned as it is."""
    key = "%s/%s" % (env, keystore)
    if result.get("verdict") != "ok" or not keystore or key not in (pending or {}):
        return result
    since = pending[key]
    return _result("mp_restart_pending", dict(result.get("evidence") or {}, changed_in_place=key, since=since), plan(
        "manual", "keystore %s was changed in place%s and the Message Processors keep the keystore they loaded until "
        "they restart: restart them (Private Cloud: remediate.yml -e mtls_mp_restart=true, one MP at a time; Cloud: "
        "Apigee Support), or rotate it to a new keystore (strategy rotate), which they use at once. Once they are "
        "restarted, run with mtls_mp_restarted=true to clear this" % (key, " (%s)" % since if since else ""),
        missing="a restart of the Message Processors (or a rotation of keystore %s)" % key))
