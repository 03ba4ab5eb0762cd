"""Turn ClientAuthEnabled on for a link: a target server is updated (PUT); a proxy target endpoint gets a new revision
(the bundle with only that element changed) deployed over the current one."""
from __future__ import annotations

import re

from ansible.module_utils.mtls.apigee import resources as res
from ansible.module_utils.mtls.errors import MtlsError

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


def set_client_auth_in_bundle(data: bytes, target: str, member: str | None = None):
    """(new bundle zip, changed) with client auth turned on in apiproxy/targets/<target>.xml (or in `member`, the
    file of a ServiceCallout policy)."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    name = member or "apiproxy/targets/%s.xml" % target
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
    where = res.parse_link_id(link_id)
    result = {"changed": False, "id": link_id, "new_id": link_id}
    if where["kind"] == "targetserver":
        env, name = where["env"], where["name"]
        path = res.target_server_path(env, name)
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
    if where["kind"] in ("proxy", "callout"):
        env, api, rev = where["env"], where["api"], where["revision"]
        target = where.get("target") or where.get("policy")
        data = client.get_raw(res.revision_path(api, rev), params=res.BUNDLE_PARAMS)
        member = None
        if where["kind"] == "callout":
            from ansible.module_utils.mtls.links import parse_service_callouts

            member = next((c["member"] for c in parse_service_callouts(data) if c["name"] == target), None)
            if member is None:
                raise MtlsError("revision %s of %s has no ServiceCallout policy %s" % (rev, api, target))
        bundle, changed = set_client_auth_in_bundle(data, target, member)
        if not changed:
            return result
        result.update(changed=True, detail="import a new revision of %s with ClientAuthEnabled=true in %s %s and "
                      "deploy it to %s over revision %s" % (api, "target" if member is None else "ServiceCallout",
                                                           target, env, rev))
        if check_mode:
            return result
        made = client.post(res.APIS_PATH, params={"action": "import", "name": api},
                           files={"file": ("%s.zip" % api, bundle, "application/zip")})
        new_rev = str((made or {}).get("revision") or "")
        if not new_rev:
            raise MtlsError("the import of %s answered without a revision number" % api)
        # Edge's deploy takes a form body (Content-Type application/x-www-form-urlencoded, deployments.yaml)
        client.post(res.deployment_path(env, api, new_rev), params={"override": "true"}, data={"override": "true"})
        result["new_id"] = (res.proxy_link_id if member is None else res.callout_link_id)(env, api, new_rev, target)
        return result
    raise MtlsError("link id %s: unknown kind %r" % (link_id, where["kind"]))
