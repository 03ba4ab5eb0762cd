"""Turn ClientAuthEnabled on for a link: a target server is updated (PUT); a proxy target endpoint or a ServiceCallout
gets a new revision (the bundle with only that element changed) deployed over the current one (:mod:`sslinfo_edit`)."""
from __future__ import annotations

import re

from ansible.module_utils.mtls.apigee import resources as res
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.sslinfo_edit import edit_bundle, edit_link_sslinfo, ssl_block

_CLIENT_AUTH = re.compile(r"(<ClientAuthEnabled>\s*)(false)(\s*</ClientAuthEnabled>)", re.I)
_SSLINFO_OPEN = re.compile(r"<SSLInfo>", re.I)


def set_client_auth_in_xml(text: str):
    """(new text, changed): <ClientAuthEnabled>true</ClientAuthEnabled> in the SSLInfo, the rest of the file kept
    byte for byte."""
    start, end = ssl_block(text)
    block = text[start:end]
    if re.search(r"<ClientAuthEnabled>\s*true\s*</ClientAuthEnabled>", block, re.I):
        return text, False
    new, n = _CLIENT_AUTH.subn(r"\1true\3", block, count=1)
    if not n:
        new = _SSLINFO_OPEN.sub("<SSLInfo><ClientAuthEnabled>true</ClientAuthEnabled>", block, count=1)
    return text[:start] + new + text[end:], True


def set_client_auth_in_json(ssl: dict, name: str):
    """(new sSLInfo, changed) of a target server with clientAuthEnabled true."""
    if str(ssl.get("enabled")).lower() != "true":
        raise MtlsError("target server %s has TLS disabled: enable SSLInfo first" % name)
    if str(ssl.get("clientAuthEnabled")).lower() == "true":
        return ssl, False
    if not ssl.get("keyStore") or not ssl.get("keyAlias"):
        raise MtlsError("target server %s has no keyStore/keyAlias in its SSLInfo: declare them before turning on "
                        "client auth" % name)
    return dict(ssl, clientAuthEnabled=res.json_bool(ssl.get("enabled"), True)), True


def set_client_auth_in_bundle(data: bytes, target: str, member: str | None = None):
    """(new bundle zip, changed) with client auth turned on in apiproxy/targets/<target>.xml (or in `member`, the
    file of a ServiceCallout policy)."""
    return edit_bundle(data, member or "apiproxy/targets/%s.xml" % target, set_client_auth_in_xml)


def enable_client_auth(client, link_id: str, check_mode: bool = False) -> dict:
    """Turn ClientAuthEnabled on for a link where it is declared. Returns {"changed", "id", "new_id", "detail"}: a
    new proxy revision means a new id."""
    return edit_link_sslinfo(client, link_id, set_client_auth_in_json, set_client_auth_in_xml,
                             "ClientAuthEnabled=true", check_mode=check_mode)


def client_auth_diff(result: dict) -> dict:
    """The diff of enable_client_auth's result: the link by its id, its SSLInfo ClientAuthEnabled before and after,
    and what the change is (a target server updated, or a new proxy revision imported and deployed)."""
    where = result.get("id") or "?"
    now = result.get("new_id") or where
    before = "%s\n  SSLInfo ClientAuthEnabled: %s\n" % (where, "false" if result.get("changed") else "true")
    after = "%s\n  SSLInfo ClientAuthEnabled: true\n" % now
    if result.get("changed") and result.get("detail"):
        after += "  change: %s\n" % result["detail"]
    return {"before_header": where, "after_header": now, "before": before, "after": after}
