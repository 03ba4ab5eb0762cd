"""Filters over the certificate core: certificate facts, fingerprints, DN forms and JSSE DN equality, chains.

    {{ pem | cert_info }}                      Apigee certInfo of the first certificate in the PEM
    {{ pem | cert_info(all=true) }}            ... of every certificate (a list)
    {{ pem | cert_fingerprint }}               SHA-256 "AB:CD:..." (alg='sha1' or 'spki_sha256' for the others)
    {{ dn_a | dn_equal(dn_b) }}                X500Principal.equals (any DN text form, or PEM: its subject)
    {{ dn | dn_openssl }} / dn_java / dn_rfc4514   render a DN text (or a PEM's subject) in one form
    {{ leaf_pem | chain_complete(bundle_pem) }}    ordered PEM chain leaf -> root (error if an issuer is missing,
                                                   unless allow_incomplete=true)
    {{ pem | chain_summary }}                  list of secret-free facts per certificate
"""
import importlib.util
import os

# plugins/filter/_path.py makes ansible.module_utils.mtls importable on the controller (as AnsiballZ does on a host).
_spec = importlib.util.spec_from_file_location("_mtls_filter_path", os.path.join(os.path.dirname(__file__), "_path.py"))
_path = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_path)

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible.module_utils.mtls.errors import MtlsError  # noqa: E402  (no imports of its own)

certcore = _path.lazy_module("mtls.certcore")


def _certs(pem, what="certificate"):
    if isinstance(pem, list | tuple):
        pem = "".join(str(p) for p in pem)
    try:
        return certcore.load_certificates(str(pem), source=what)
    except MtlsError as exc:
        raise AnsibleFilterError(exc.msg) from None


def _name(value, what):
    text = str(value)
    if "-----BEGIN" in text:
        return _certs(text, what)[0].subject
    try:
        return certcore.parse_dn(text)
    except MtlsError as exc:
        raise AnsibleFilterError(exc.msg) from None


def cert_info(pem, all=False):  # noqa: A002 - filter keyword
    infos = [certcore.cert_info(c) for c in _certs(pem)]
    return infos if all else infos[0]


def cert_fingerprint(pem, alg="sha256"):
    cert = _certs(pem)[0]
    funcs = {"sha256": certcore.fingerprint_sha256, "sha1": certcore.fingerprint_sha1,
             "spki_sha256": certcore.spki_sha256}
    if alg not in funcs:
        raise AnsibleFilterError("cert_fingerprint: alg must be one of %s" % ", ".join(sorted(funcs)))
    return funcs[alg](cert)


def dn_equal(a, b):
    return certcore.dn_equal(_name(a, "first DN"), _name(b, "second DN"))


def dn_openssl(value):
    return certcore.dn_openssl(_name(value, "DN"))


def dn_java(value):
    return certcore.dn_java(_name(value, "DN"))


def dn_rfc4514(value):
    return certcore.dn_rfc4514(_name(value, "DN"))


def chain_complete(leaf_pem, bundle_pem="", allow_incomplete=False):
    leaf = _certs(leaf_pem, "leaf")[0]
    bag = _certs(bundle_pem, "bundle") if str(bundle_pem or "").strip() else []
    result = certcore.build_chain(leaf, bag)
    if not result.complete and not allow_incomplete:
        raise AnsibleFilterError("chain_complete: the issuer %s of %s is not in the bundle"
                                 % (result.missing_issuer, certcore.dn_rfc4514(result.path[-1].subject)))
    return certcore.dump_pem(result.path)


def chain_summary(pem):
    return certcore.chain_summary(_certs(pem))


class FilterModule:
    """Certificate core filters."""

    def filters(self):
        return {
            "cert_info": cert_info, "cert_fingerprint": cert_fingerprint, "dn_equal": dn_equal,
            "dn_openssl": dn_openssl, "dn_java": dn_java, "dn_rfc4514": dn_rfc4514,
            "chain_complete": chain_complete, "chain_summary": chain_summary,
        }
