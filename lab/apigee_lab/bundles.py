"""API proxy bundles: the zip Edge imports (``apiproxy/<name>.xml``, ``apiproxy/proxies/*.xml``,
``apiproxy/targets/*.xml``, ``apiproxy/policies/*.xml``, ``apiproxy/resources/<type>/<file>``).

``parse_bundle(data)`` validates the zip the way an import needs (readable zip, an ``apiproxy/`` tree, well-formed XML
for every endpoint) and returns the manifest the management API reports for a revision: base paths, proxy and target
endpoints, policies, resources, the target servers named by ``<LoadBalancer><Server name=.../>``, and for each target
endpoint its ``<URL>`` / servers / ``<Path>`` and ``<SSLInfo>``; for each proxy endpoint its route rules and its
request PreFlow steps; for each ServiceCallout policy that calls out over HTTP its ``<URL>`` and ``<SSLInfo>``.
The management API reports the manifest; the MP runtime (``runtime.py``) executes the same parse, so both read a
bundle one way.
"""
from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ET
import zipfile

MAX_BUNDLE_BYTES = 15 * 1024 * 1024   # Edge's documented limit for a proxy bundle


class BundleError(ValueError):
    """The bundle cannot be imported; the message names the file and the problem."""


def _text(elem, path):
    if elem is None:
        return None
    child = elem.find(path)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def _parse_xml(zf: zipfile.ZipFile, name: str):
    try:
        return ET.fromstring(zf.read(name))
    except ET.ParseError as exc:
        raise BundleError("%s is not well-formed XML: %s" % (name, exc)) from None


def ssl_info_from_xml(elem) -> dict | None:
    """The <SSLInfo> of a target endpoint as a plain dict (Edge's JSON names), or None when absent."""
    if elem is None:
        return None

    def items(tag, inner):
        parent = elem.find(tag)
        if parent is None:
            return []
        return [c.text.strip() for c in parent.findall(inner) if c.text and c.text.strip()]

    return {
        "enabled": _text(elem, "Enabled"),
        "clientAuthEnabled": _text(elem, "ClientAuthEnabled"),
        "keyStore": _text(elem, "KeyStore"),
        "keyAlias": _text(elem, "KeyAlias"),
        "trustStore": _text(elem, "TrustStore"),
        "ignoreValidationErrors": _text(elem, "IgnoreValidationErrors"),
        "protocols": items("Protocols", "Protocol"),
        "ciphers": items("Ciphers", "Cipher"),
    }


def parse_bundle(data: bytes, expected_name: str | None = None) -> dict:
    """Validate a bundle and return its manifest.

    Returns {"name", "displayName", "description", "basepaths", "proxyEndpoints", "targetEndpoints", "policies",
    "resources", "targetServers", "targets": [{"name", "url", "servers", "path", "ssl_info"}],
    "proxies": [{"name", "basepath", "routes": [{"name", "target", "condition"}], "request_steps"}],
    "callouts": [{"name", "url", "ssl_info"}]}; the last three are what the runtime executes, not what the
    management API reports.
    """
    if not data:
        raise BundleError("the bundle is empty")
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError("the bundle is larger than %d bytes" % MAX_BUNDLE_BYTES)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BundleError("the bundle is not a zip file") from None
    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        for n in names:
            norm = posixpath.normpath(n)
            if norm.startswith("/") or norm.startswith(".."):
                raise BundleError("the bundle holds an unsafe path: %r" % n)
        inside = [n for n in names if n.startswith("apiproxy/")]
        if not inside:
            raise BundleError("the bundle has no apiproxy/ folder")

        descriptor = None
        top = [n for n in inside if n.count("/") == 1 and n.endswith(".xml")]
        if top:
            descriptor = _parse_xml(zf, top[0])
        name = (descriptor.get("name") if descriptor is not None else None) or expected_name
        display = _text(descriptor, "DisplayName") or name
        description = _text(descriptor, "Description") or ""

        proxies, basepaths, proxy_flows = [], [], []
        for n in sorted(x for x in inside if x.startswith("apiproxy/proxies/") and x.endswith(".xml")):
            root = _parse_xml(zf, n)
            if root.tag != "ProxyEndpoint":
                raise BundleError("%s: the root element must be <ProxyEndpoint>, not <%s>" % (n, root.tag))
            pname = root.get("name") or posixpath.splitext(posixpath.basename(n))[0]
            proxies.append(pname)
            bp = _text(root, "HTTPProxyConnection/BasePath")
            if bp and bp not in basepaths:
                basepaths.append(bp)
            proxy_flows.append({
                "name": pname, "basepath": bp or "/",
                "routes": [{"name": rr.get("name"), "target": _text(rr, "TargetEndpoint"),
                            "condition": _text(rr, "Condition")} for rr in root.findall("RouteRule")],
                "request_steps": [st.text.strip() for st in root.findall("PreFlow/Request/Step/Name")
                                  if st.text and st.text.strip()]})

        targets, servers_used = [], []
        for n in sorted(x for x in inside if x.startswith("apiproxy/targets/") and x.endswith(".xml")):
            root = _parse_xml(zf, n)
            if root.tag != "TargetEndpoint":
                raise BundleError("%s: the root element must be <TargetEndpoint>, not <%s>" % (n, root.tag))
            conn = root.find("HTTPTargetConnection")
            tname = root.get("name") or posixpath.splitext(posixpath.basename(n))[0]
            servers = []
            if conn is not None:
                for s in conn.findall("LoadBalancer/Server"):
                    sname = (s.get("name") or "").strip()
                    if not sname:
                        raise BundleError("%s: <Server> in <LoadBalancer> needs a name attribute" % n)
                    servers.append(sname)
                    if sname not in servers_used:
                        servers_used.append(sname)
            url = _text(conn, "URL")
            if conn is not None and url and servers:
                raise BundleError("%s: <HTTPTargetConnection> has both <URL> and <LoadBalancer>" % n)
            targets.append({"name": tname, "url": url, "servers": servers, "path": _text(conn, "Path"),
                            "ssl_info": ssl_info_from_xml(conn.find("SSLInfo") if conn is not None else None)})

        policies, callouts = [], []
        for n in sorted(x for x in inside if x.startswith("apiproxy/policies/") and x.endswith(".xml")):
            root = _parse_xml(zf, n)
            pname = posixpath.splitext(posixpath.basename(n))[0]
            policies.append(pname)
            conn = root.find("HTTPTargetConnection") if root.tag == "ServiceCallout" else None
            if conn is not None and _text(conn, "URL"):
                callouts.append({"name": root.get("name") or pname, "url": _text(conn, "URL"),
                                 "ssl_info": ssl_info_from_xml(conn.find("SSLInfo"))})
        policies.sort()
        resources = []
        for x in sorted(inside):
            parts = x.split("/")
            if len(parts) == 4 and parts[1] == "resources":
                resources.append("%s://%s" % (parts[2], parts[3]))

    if not proxies:
        raise BundleError("the bundle has no proxy endpoint (apiproxy/proxies/*.xml)")
    return {
        "name": name,
        "displayName": display,
        "description": description,
        "basepaths": basepaths,
        "proxyEndpoints": proxies,
        "targetEndpoints": [t["name"] for t in targets],
        "policies": policies,
        "resources": resources,
        "targetServers": servers_used,
        "targets": targets,
        "proxies": proxy_flows,
        "callouts": callouts,
    }


RUNTIME_ONLY = ("targets", "proxies", "callouts")   # what the runtime executes; not part of a revision's manifest
