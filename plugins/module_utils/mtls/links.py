"""Link model: every southbound TLS link of an org/env, where it is declared, and its references resolved.

A *link* is one place where the Message Processor opens TLS towards a backend:
- a target server (``targetserver:<env>/<name>``): host, port and ``sSLInfo`` from the environment's target servers;
  proxy target endpoints that use ``<LoadBalancer><Server name=.../>`` are recorded in its ``used_by``;
- a target endpoint of a deployed proxy revision with its own ``<URL>`` (``proxy:<env>/<api>/<rev>/<target>``),
  read from the revision bundle (``apiproxy/targets/*.xml``).

``ref://name`` in KeyStore/TrustStore is resolved through the environment's references. Plain functions over plain data:
the only I/O is through the client object passed in (anything with ``.get(path)`` and ``.get_raw(path, params)``).
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from ansible.module_utils.mtls.apigee import resources as res
from ansible.module_utils.mtls.apigee.resources import callout_link_id, proxy_link_id, target_server_link_id
from ansible.module_utils.mtls.errors import MtlsError

REF_PREFIX = "ref://"


def as_bool(value, default=False):
    """Edge JSON and XML carry booleans as true/false, "true"/"false" or absent."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "on")


@dataclass
class SslInfo:
    enabled: bool = False
    client_auth_enabled: bool = False
    keystore: str | None = None          # as written: a name or ref://name
    key_alias: str | None = None
    truststore: str | None = None
    ignore_validation_errors: bool = False
    protocols: list = field(default_factory=list)
    ciphers: list = field(default_factory=list)
    present: bool = False                 # an SSLInfo block exists at all

    @classmethod
    def from_edge_json(cls, data):
        if not data:
            return cls()
        return cls(
            enabled=as_bool(data.get("enabled")),
            client_auth_enabled=as_bool(data.get("clientAuthEnabled")),
            keystore=data.get("keyStore") or None,
            key_alias=data.get("keyAlias") or None,
            truststore=data.get("trustStore") or None,
            ignore_validation_errors=as_bool(data.get("ignoreValidationErrors")),
            protocols=list(data.get("protocols") or []),
            ciphers=list(data.get("ciphers") or []),
            present=True,
        )

    @classmethod
    def from_xml(cls, elem):
        if elem is None:
            return cls()

        def text(tag):
            child = elem.find(tag)
            return child.text.strip() if child is not None and child.text and child.text.strip() else None

        def items(tag, inner):
            parent = elem.find(tag)
            if parent is None:
                return []
            return [c.text.strip() for c in parent.findall(inner) if c.text and c.text.strip()]

        return cls(
            enabled=as_bool(text("Enabled")),
            client_auth_enabled=as_bool(text("ClientAuthEnabled")),
            keystore=text("KeyStore"),
            key_alias=text("KeyAlias"),
            truststore=text("TrustStore"),
            ignore_validation_errors=as_bool(text("IgnoreValidationErrors")),
            protocols=items("Protocols", "Protocol"),
            ciphers=items("Ciphers", "Cipher"),
            present=True,
        )


@dataclass
class Resolved:
    """A KeyStore/TrustStore value after following ref:// once."""
    declared: str | None = None       # what SSLInfo says
    reference: str | None = None      # the reference name when declared is ref://name
    name: str | None = None           # the keystore name finally used (None when unresolved)
    reference_found: bool | None = None  # None when no reference is involved
    error: str | None = None
    variables: list = field(default_factory=list)  # flow variables ({name}) the value is made of
    dynamic: bool = False             # set at run time by flow variables whose values were not declared


FLOW_VARIABLE = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")


def flow_variables_of(value) -> list[str]:
    """The flow variables ({name}) a target endpoint SSLInfo value is set from (Apigee resolves them per request)."""
    return FLOW_VARIABLE.findall(value or "")


def substitute(value, values):
    """(value with every {var} replaced by its declared value, names of the variables without one)."""
    missing = [v for v in flow_variables_of(value) if v not in (values or {})]
    if missing or not value:
        return value, missing
    return FLOW_VARIABLE.sub(lambda m: str(values[m.group(1)]), value), []


@dataclass
class Link:
    id: str
    env: str
    source: str                        # "targetserver" | "proxy" | "callout" (a ServiceCallout policy)
    name: str                          # target server name, or target endpoint name
    host: str | None
    port: int | None
    sni: str | None
    scheme: str = "https"
    enabled: bool = True               # target server isEnabled
    ssl: SslInfo = field(default_factory=SslInfo)
    keystore: Resolved = field(default_factory=Resolved)
    truststore: Resolved = field(default_factory=Resolved)
    api: str | None = None
    revision: int | None = None
    target: str | None = None
    url: str | None = None
    basepaths: list = field(default_factory=list)
    used_by: list = field(default_factory=list)   # [{"api","revision","target","basepaths"}]
    notes: list = field(default_factory=list)

    @property
    def tls_enabled(self):
        if self.source in ("proxy", "callout"):
            return self.scheme == "https" or self.ssl.enabled
        return self.ssl.enabled

    @property
    def has_tls_intent(self):
        """Any sign this link is meant to use TLS (so it belongs in the report)."""
        return self.tls_enabled or self.ssl.present

    def to_dict(self):
        out = asdict(self)
        out["tls_enabled"] = self.tls_enabled
        return out


# --------------------------------------------------------------------------- revision bundles
def _connections(bundle, folder, tag):
    """(name, member, HTTPTargetConnection element or None) of each <tag> file in apiproxy/<folder>/ of a bundle."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(bundle))
    except zipfile.BadZipFile:
        raise MtlsError("the revision bundle is not a zip file") from None
    out = []
    with zf:
        prefix = "apiproxy/%s/" % folder
        for member in sorted(n for n in zf.namelist()
                             if n.startswith(prefix) and n.endswith(".xml") and not n.endswith("/")):
            try:
                root = ET.fromstring(zf.read(member))
            except ET.ParseError as exc:
                raise MtlsError("cannot parse %s in the revision bundle: %s" % (member, exc)) from None
            if root.tag == tag:
                out.append((root.get("name") or member.rsplit("/", 1)[-1][:-4], member,
                            root.find("HTTPTargetConnection")))
    return out


def _connection(name, member, conn):
    if conn is None:
        return {"name": name, "member": member, "url": None, "servers": [], "ssl": SslInfo(), "kind": "other"}
    url_el = conn.find("URL")
    url = url_el.text.strip() if url_el is not None and url_el.text else None
    servers = [s.get("name") for s in conn.findall("LoadBalancer/Server") if s.get("name")]
    return {"name": name, "member": member, "url": url, "servers": servers,
            "ssl": SslInfo.from_xml(conn.find("SSLInfo")), "kind": "loadbalancer" if servers else "url"}


def parse_target_endpoints(bundle):
    """Target endpoints of a revision bundle (zip bytes): list of dicts name, member, url, servers, ssl (SslInfo)."""
    return [_connection(*c) for c in _connections(bundle, "targets", "TargetEndpoint")]


def parse_service_callouts(bundle):
    """ServiceCallout policies of a revision bundle that call out over HTTP (an <HTTPTargetConnection>, with the same
    <SSLInfo> as a target endpoint, as Apigee documents the policy); callouts to a local proxy
    (<LocalTargetConnection>) are not southbound TLS and are left out."""
    return [_connection(*c) for c in _connections(bundle, "policies", "ServiceCallout") if c[2] is not None]


def bundle_base_path(bundle):
    """The base path of a revision bundle's first proxy endpoint (``<HTTPProxyConnection><BasePath>``), or None:
    where the deployment listing does not say it (Apigee X / hybrid)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(bundle))
    except zipfile.BadZipFile:
        return None
    with zf:
        for member in sorted(n for n in zf.namelist() if n.startswith("apiproxy/proxies/") and n.endswith(".xml")):
            try:
                el = ET.fromstring(zf.read(member)).find("HTTPProxyConnection/BasePath")
            except ET.ParseError:
                continue
            if el is not None and el.text and el.text.strip():
                return el.text.strip()
    return None


def _split_url(url):
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    host = parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, host, port


# --------------------------------------------------------------------------- resolution
def resolve_store(client, env, declared, cache=None, flow_values=None):
    """Follow ref:// once. A value made of flow variables is resolved with their declared values (flow_values), or
    left dynamic (never guessed) when one has none."""
    out = Resolved(declared=declared, variables=flow_variables_of(declared))
    if not declared:
        return out
    if out.variables:
        declared, missing = substitute(declared, flow_values)
        if missing:
            out.dynamic = True
            out.error = "set at run time from flow variable(s) %s, whose value is not declared" % ", ".join(missing)
            return out
    if not declared.startswith(REF_PREFIX):
        out.name = declared
        return out
    ref = declared[len(REF_PREFIX):]
    out.reference = ref
    data = res.get_or_none(client, res.reference_path(env, ref))
    if data is None:
        out.reference_found = False
        out.error = "reference %r does not exist in environment %r" % (ref, env)
        return out
    out.reference_found = True
    refers = data.get("refers") if isinstance(data, dict) else None
    if not refers:
        out.error = "reference %r points at nothing" % ref
        return out
    out.name = refers
    return out


def check_org(client):
    """Fail clearly when the organization does not exist (or the account cannot see it)."""
    doc = res.get_or_none(client, "")
    if doc is None:
        raise MtlsError("organization %r does not exist at %s" % (client.org, client.mgmt_url))
    return doc


def check_env(client, env):
    doc = res.get_or_none(client, res.environment_path(env))
    if doc is None:
        raise MtlsError("environment %r does not exist in organization %r" % (env, getattr(client, "org", "?")))
    return doc


def _each(items, fn, workers):
    """fn(item) for every item, `workers` at a time (the client is thread-safe and shares one cache); results in
    order. The first error is raised, as a plain loop would."""
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def discover_links(client, env, target_servers=None, proxies=None, include_plain=False, flow_values=None, workers=8):
    """Every TLS link of one environment, references resolved.

    target_servers / proxies: optional name filters (lists). A target server filter keeps the named target servers
    (and the proxies that use them through a LoadBalancer); a proxy filter keeps only those proxies' endpoints and the
    target servers they use. Links with no TLS at all (plain http, no SSLInfo) are left out unless include_plain.
    workers: documents read at a time (target servers, revision bundles, references), through the one cached client.
    """
    check_env(client, env)
    links = {}
    ts_names = res.names(client.get(res.target_server_path(env)), res.target_server_path(env))
    wanted = [n for n in ts_names if not (target_servers and not proxies and n not in target_servers)]
    _each(wanted, lambda n: client.get(res.target_server_path(env, n)), workers)  # read at once, used from the cache
    for name in ts_names:
        if target_servers and not proxies and name not in target_servers:
            continue
        data = res.document(client.get(res.target_server_path(env, name)), res.target_server_path(env, name))
        ssl = SslInfo.from_edge_json(data.get("sSLInfo"))
        port = data.get("port")
        link = Link(id=target_server_link_id(env, name), env=env, source="targetserver", name=name,
                    host=data.get("host"), port=int(port) if port not in (None, "") else None, sni=data.get("host"),
                    scheme="https" if ssl.enabled else "http", enabled=as_bool(data.get("isEnabled"), True), ssl=ssl)
        links[link.id] = link

    used_servers = set()
    deployed = [d for d in res.deployed_revisions(client.get(res.deployments_path(env)), res.deployments_path(env))
                if not (proxies and d[0] not in proxies)]
    _each([(api, rev) for api, rev, _ in deployed],
          lambda ar: client.get_raw(res.revision_path(*ar), params=res.BUNDLE_PARAMS, cache=True), workers)
    for api, revision, basepath in deployed:
        bundle = client.get_raw(res.revision_path(api, revision), params=res.BUNDLE_PARAMS, cache=True)
        basepath = basepath or bundle_base_path(bundle)
        endpoints = [(te, "target") for te in parse_target_endpoints(bundle)]
        endpoints += [(sc, "callout") for sc in parse_service_callouts(bundle)]
        for te, role in endpoints:
            usage = {"api": api, "revision": revision, role: te["name"],
                     "basepaths": [basepath] if basepath else []}
            if te["kind"] == "loadbalancer":
                for server in te["servers"]:
                    used_servers.add(server)
                    lid = target_server_link_id(env, server)
                    if lid in links:
                        links[lid].used_by.append(usage)
                    else:
                        # a LoadBalancer naming a target server that does not exist in this env
                        links[lid] = Link(id=lid, env=env, source="targetserver", name=server, host=None,
                                          port=None, sni=None, enabled=False, used_by=[usage],
                                          notes=["target server %r is used by %s rev %d but does not exist in "
                                                 "environment %r" % (server, api, revision, env)])
                if te["ssl"].present:
                    for server in te["servers"]:
                        links[target_server_link_id(env, server)].notes.append(
                            "%s rev %d %s %s also has an SSLInfo block; the target server's SSLInfo is "
                            "what the MP uses" % (api, revision, role, te["name"]))
                continue
            if te["kind"] != "url" or not te["url"]:
                continue
            scheme, host, port = _split_url(te["url"])
            lid = (proxy_link_id if role == "target" else callout_link_id)(env, api, revision, te["name"])
            link = Link(id=lid, env=env, source="proxy" if role == "target" else "callout",
                        name=te["name"], host=host, port=port, sni=host, scheme=scheme, ssl=te["ssl"], api=api,
                        revision=revision, target=te["name"], url=te["url"], basepaths=usage["basepaths"],
                        used_by=[usage])
            links[link.id] = link

    selected = []
    for link in links.values():
        if link.source == "targetserver":
            if target_servers and link.name not in target_servers:
                continue
            if proxies and not target_servers and link.name not in used_servers:
                continue
        elif target_servers and not proxies:
            continue
        if not include_plain and not link.has_tls_intent:
            continue
        selected.append(link)

    def resolve(link):
        link.keystore = resolve_store(client, env, link.ssl.keystore, flow_values=flow_values)
        link.truststore = resolve_store(client, env, link.ssl.truststore, flow_values=flow_values)

    _each(selected, resolve, workers)
    for link in selected:
        if flow_variables_of(link.ssl.key_alias):
            alias, missing = substitute(link.ssl.key_alias, flow_values)
            if missing:
                link.notes.append("KeyAlias is set at run time from flow variable(s) %s" % ", ".join(missing))
            else:
                link.notes.append("KeyAlias %s is the declared value of %s" % (alias, link.ssl.key_alias))
                link.ssl.key_alias = alias
        if link.keystore.variables and not link.keystore.dynamic:
            link.notes.append("KeyStore %s is the declared value of %s" % (link.keystore.name,
                                                                        link.keystore.declared))
    selected.sort(key=lambda lk: lk.id)
    return selected


def discover_all(client, envs, target_servers=None, proxies=None, include_plain=False, flow_values=None, workers=8):
    out = []
    for env in envs:
        out.extend(discover_links(client, env, target_servers=target_servers, proxies=proxies,
                                  include_plain=include_plain, flow_values=flow_values, workers=workers))
    return out


# --------------------------------------------------------------------------- keystores
def read_keystore(client, env, name, load_certificates):
    """A keystore's aliases and their stored chains.

    Returns {"name", "env", "exists", "aliases": {alias: {"has_key", "chain" (list of x509, leaf first),
    "chain_pem", "error"}}, "certs": [...names]}. load_certificates is the certificate core's loader (passed in so
    this module stays importable without it).
    """
    out = {"name": name, "env": env, "exists": False, "aliases": {}, "certs": []}
    data = res.get_or_none(client, res.keystore_path(env, name))
    if data is None:
        return out
    data = res.document(data, res.keystore_path(env, name))
    out["exists"] = True
    out["certs"] = list(data.get("certs") or [])
    for entry in data.get("aliases") or []:
        alias = entry.get("aliasName") if isinstance(entry, dict) else entry
        has_key = bool(entry.get("key")) if isinstance(entry, dict) else alias_has_key(client, env, name, alias)
        rec = {"has_key": has_key, "chain": [], "chain_pem": None, "error": None}
        pem = res.get_raw_or_none(client, res.alias_certificate_path(env, name, alias), cache=True)
        if pem is None:
            rec["error"] = "the alias has no certificate"
        else:
            rec["chain_pem"] = pem.decode("ascii", "replace")
            try:
                rec["chain"] = list(load_certificates(pem, "keystore %s alias %s" % (name, alias)))
            except MtlsError as exc:
                rec["error"] = exc.msg
        out["aliases"][alias] = rec
    return out


def alias_has_key(client, env, keystore, alias):
    """Whether an alias holds a private key, when the keystore lists its aliases by name only (Apigee X / hybrid:
    ``aliases: [string]``): the alias says ``type`` ``KEY_CERT`` (a key and its chain) or ``CERT`` (a certificate
    alone, which the MP cannot present: apigee-x.yaml, Alias.type). None when the alias does not say."""
    doc = res.get_or_none(client, res.alias_path(env, keystore, alias))
    kind = str((doc or {}).get("type") or "").upper() if isinstance(doc, dict) else ""
    return {"KEY_CERT": True, "CERT": False}.get(kind)


def list_keystores(client, env):
    return res.names(client.get(res.keystores_path(env)), res.keystores_path(env))
