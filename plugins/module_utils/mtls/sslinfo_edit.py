"""Change the SSLInfo of a link where Apigee declares it: a target server is updated (PUT); a proxy target endpoint or a
ServiceCallout policy gets a new revision of its proxy (the bundle with only that file changed), imported and deployed
over the revision that is deployed.

Apigee's Message Processors pick up both at once (update-tls-certificate-cloud / -private-cloud: "update the target
server" or "redeploy the proxy" after pointing SSLInfo at a new keystore), which a keystore changed under the same name
is not. The edits themselves are plain functions over text and dicts (unit-tested); only :func:`edit_link_sslinfo`
talks to Apigee, through the one client.
"""
from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

from ansible.module_utils.mtls.apigee import resources as res
from ansible.module_utils.mtls.errors import MtlsError

_SSLINFO = re.compile(r"<SSLInfo\b[^>]*>.*?</SSLInfo>", re.S | re.I)


def ssl_block(text: str):
    """The (start, end) of the one <SSLInfo>...</SSLInfo> block of a target endpoint or ServiceCallout file."""
    found = list(_SSLINFO.finditer(text))
    if not found:
        if re.search(r"<SSLInfo\s*/>", text, re.I):
            raise MtlsError("the <SSLInfo/> element is empty: TLS itself is not configured")
        raise MtlsError("there is no <SSLInfo>: TLS itself is not configured")
    if len(found) > 1:
        raise MtlsError("there are %d <SSLInfo> blocks; edit the file by hand" % len(found))
    return found[0].span()


def set_keystore_in_xml(text: str, old: str, new: str):
    """(new text, changed): <KeyStore>new</KeyStore> in the SSLInfo where it named `old` directly; the rest of the
    file kept byte for byte. A file that already names `new` is left as it is."""
    start, end = ssl_block(text)
    block = text[start:end]
    found = re.search(r"(<KeyStore>)\s*([^<]*?)\s*(</KeyStore>)", block)
    current = found.group(2) if found else None
    if current == new:
        return text, False
    if current != old:
        raise MtlsError("its SSLInfo names KeyStore %r, not %r" % (current, old))
    block = block[:found.start()] + "<KeyStore>%s</KeyStore>" % escape(new) + block[found.end():]
    return text[:start] + block + text[end:], True


def set_keystore_in_json(ssl: dict, name: str, old: str, new: str):
    """(new sSLInfo, changed) of a target server whose keyStore named `old` directly, now `new`."""
    current = ssl.get("keyStore")
    if current == new:
        return ssl, False
    if current != old:
        raise MtlsError("target server %s names keyStore %r, not %r" % (name, current, old))
    return dict(ssl, keyStore=new), True


def edit_bundle(data: bytes, member: str, edit):
    """(new bundle zip, changed): `edit(text) -> (text, changed)` applied to one file of a proxy bundle; every other
    file is copied as it is."""
    src = zipfile.ZipFile(io.BytesIO(data))
    if member not in src.namelist():
        raise MtlsError("the proxy bundle has no %s" % member)
    try:
        text, changed = edit(src.read(member).decode("utf-8"))
    except MtlsError as exc:
        raise MtlsError("%s: %s" % (member, exc)) from None
    if not changed:
        return data, False
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, text.encode("utf-8") if item.filename == member else src.read(item.filename))
    return out.getvalue(), True


def deployed_revisions(client, env: str, api: str) -> list[int]:
    """The revisions of `api` deployed in `env`, highest first (GET .../environments/{env}/apis/{api}/deployments)."""
    path = res.api_deployments_path(env, api)
    doc = res.get_or_none(client, path, cache=False)
    revs = []
    for rev in (doc or {}).get("revision") or []:
        if isinstance(rev, dict) and rev.get("state", "deployed") == "deployed" and str(rev.get("name")).isdigit():
            revs.append(int(rev["name"]))
    return sorted(revs, reverse=True)


def _member(where, bundle):
    if where["kind"] == "proxy":
        from ansible.module_utils.mtls.links import parse_target_endpoints

        found = [t["member"] for t in parse_target_endpoints(bundle) if t["name"] == where["target"]]
        return found[0] if found else "apiproxy/targets/%s.xml" % where["target"]
    from ansible.module_utils.mtls.links import parse_service_callouts

    found = [c["member"] for c in parse_service_callouts(bundle) if c["name"] == where["policy"]]
    if not found:
        raise MtlsError("revision %s of %s has no ServiceCallout policy %s" % (where["revision"], where["api"],
                                                                            where["policy"]))
    return found[0]


def edit_link_sslinfo(client, link_id: str, json_edit, xml_edit, what: str, check_mode: bool = False) -> dict:
    """Apply one SSLInfo change to a link where it is declared.

    json_edit(sSLInfo dict, target server name) -> (dict, changed) for a target server (PUT);
    xml_edit(text) -> (text, changed) for a proxy target endpoint / ServiceCallout file: a new revision is imported
    from the bundle of the revision deployed now (which holds the changes of earlier edits of this run, so two edits
    to one proxy never undo each other) and deployed over it (override). `what` says the change in words.

    Returns {"changed", "id", "new_id", "detail"}: a new revision gives the link a new id."""
    where = res.parse_link_id(link_id)
    result = {"changed": False, "id": link_id, "new_id": link_id, "detail": ""}
    if where["kind"] == "targetserver":
        env, name = where["env"], where["name"]
        path = res.target_server_path(env, name)
        doc = res.get_or_none(client, path, cache=False)
        if doc is None:
            raise MtlsError("target server %s does not exist in environment %s" % (name, env))
        ssl, changed = json_edit(dict(doc.get("sSLInfo") or {}), name)
        if not changed:
            return result
        result.update(changed=True, detail="update target server %s: %s" % (name, what))
        if not check_mode:
            client.put(path, json=dict(doc, sSLInfo=ssl))
        return result
    if where["kind"] not in ("proxy", "callout"):
        raise MtlsError("link id %s: unknown kind %r" % (link_id, where["kind"]))
    env, api, rev = where["env"], where["api"], int(where["revision"])
    deployed = deployed_revisions(client, env, api)
    base = deployed[0] if deployed else rev
    data = client.get_raw(res.revision_path(api, base), params=res.BUNDLE_PARAMS)
    name = where.get("target") or where.get("policy")
    bundle, changed = edit_bundle(data, _member(dict(where, revision=base), data), xml_edit)
    kind = "target endpoint" if where["kind"] == "proxy" else "ServiceCallout"
    build = res.proxy_link_id if where["kind"] == "proxy" else res.callout_link_id
    if not changed:
        if base != rev:  # an earlier edit of this run (or someone else) deployed a newer revision that has it
            result["new_id"] = build(env, api, base, name)
        return result
    result.update(changed=True, detail="import a new revision of %s with %s in %s %s and deploy it to %s over "
                  "revision %d" % (api, what, kind, name, env, base))
    if check_mode:
        return result
    made = client.post(res.APIS_PATH, params={"action": "import", "name": api},
                       files={"file": ("%s.zip" % api, bundle, "application/zip")})
    new_rev = str((made or {}).get("revision") or "")
    if not new_rev:
        raise MtlsError("the import of %s answered without a revision number" % api)
    res.deploy_over(client, env, api, new_rev)
    # what is deployed changed: listings read before (this run's discovery) must be read again
    client.invalidate(res.deployments_path(env))
    client.invalidate(res.api_deployments_path(env, api))
    result["new_id"] = build(env, api, new_rev, name)
    return result


def repoint_keystore(client, link_id: str, old: str, new: str, check_mode: bool = False) -> dict:
    """A link that names keystore `old` directly in its SSLInfo names `new` afterwards (Apigee's documented path for
    a keystore used by name: a new keystore, then the target server updated or the proxy redeployed)."""
    return edit_link_sslinfo(client, link_id, lambda ssl, name: set_keystore_in_json(ssl, name, old, new),
                             lambda text: set_keystore_in_xml(text, old, new), "KeyStore %s (was %s)" % (new, old),
                             check_mode=check_mode)
