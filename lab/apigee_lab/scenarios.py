"""Lab scenarios: what the lab's Apigee org looks like, seeded through the management API like an operator would.

Every scenario is a set of southbound links, each used by one deployed proxy so that
`curl http://127.0.0.1:<mp-port>/<basepath>` reproduces it. Each single scenario has one link against a JSSE backend
and one against nginx, one declared in a target server (<LoadBalancer><Server name=.../>) and one in the proxy's
target endpoint (<URL>); `all` is the union of every scenario.

  healthy               keystore (via ref://) holds leaf A + Int A + Root A      -> backend *-a -> 200
  missing-client-cert   KeyStore ref:// -> a keystore with no alias at all       -> no client certificate (the JSSE
                        link's target server limits the MP to TLS 1.2, so that a capture reads the handshake in clear)
  ca-mismatch           keystore holds leaf C + Int C + Root C -> backend *-b (trusts Root B only)
  chain-incomplete      keystore holds leaf A alone -> backend *-a (accepts Root A only)
  client-auth-disabled  SSLInfo ClientAuthEnabled=false (keystore fine) -> backend *-a
  key-type-mismatch     keystore holds an EC P-256 leaf (+ Int E + Root E) -> backend *-rsa (RSA signatures only):
                        JSSE offers no EC key, sends an empty Certificate; the material is an RSA leaf of Int E
  curve-mismatch        keystore holds an EC P-384 leaf (+ Int P + Root P) -> backend *-p256 (ECDSA on P-256 only):
                        JSSE sends it, then aborts (no CertificateVerify scheme); the material is a P-256 leaf
  legacy-root           keystore holds leaf S + Int S + Root S, self-signed with SHA-1 -> backend *-rsa (no SHA-1):
                        the MP's PKIX key manager skips the chain; the material is the chain without the root
  service-callout       a ServiceCallout policy (HTTPTargetConnection + SSLInfo) in a proxy with no target endpoint,
                        its keystore empty -> backend *-a: the callout's own southbound mTLS link
  keystore-by-name      SSLInfo names the keystore itself (KeyStore ksbyname..., no ref://), which holds leaf A
                        alone -> backend *-a: fixed by Apigee's documented path for a keystore used by name (a new
                        keystore, the target server updated / the proxy redeployed), which needs no MP restart

The MP's key manager is SunX509, except in the scenarios that need PKIX (legacy-root, and all, which holds it); the
runtime reads it from <state>/mp.json at each call and lab.json says it (`mp`), so the tool is told the same.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import zipfile
from xml.sax.saxutils import escape

import requests

from . import pki

ORG = "lab"
ENV = "test"
ENVS = ["test", "prod"]
USERNAME = "lab-admin@example.com"
MP_TRUSTSTORE = "mptruststore"  # keystore and truststore names are alphanumeric only (keystores-and-trustores.yaml)
MP_TRUSTSTORE_REF = "mp-truststore-ref"

# short name, scenario, declared in ("targetserver"|"proxy"), backend, PKI side, keystore content, client auth, verdict
LINKS = [
    ("healthy-jsse", "healthy", "targetserver", "jsse-a", "a", "fullchain", True, "ok"),
    ("healthy-nginx", "healthy", "proxy", "nginx-a", "a", "fullchain", True, "ok"),
    ("missing-cert-jsse", "missing-client-cert", "targetserver", "jsse-a", "a", "empty", True,
     "no_client_certificate"),
    ("missing-cert-nginx", "missing-client-cert", "proxy", "nginx-a", "a", "empty", True, "no_client_certificate"),
    ("ca-mismatch-jsse", "ca-mismatch", "proxy", "jsse-b", "c", "fullchain", True, "ca_mismatch"),
    ("ca-mismatch-nginx", "ca-mismatch", "targetserver", "nginx-b", "c", "fullchain", True, "ca_mismatch"),
    ("chain-incomplete-jsse", "chain-incomplete", "targetserver", "jsse-a", "a", "leaf", True, "chain_incomplete"),
    ("chain-incomplete-nginx", "chain-incomplete", "proxy", "nginx-a", "a", "leaf", True, "chain_incomplete"),
    ("client-auth-off-jsse", "client-auth-disabled", "proxy", "jsse-a", "a", "fullchain", False,
     "client_auth_disabled"),
    ("client-auth-off-nginx", "client-auth-disabled", "targetserver", "nginx-a", "a", "fullchain", False,
     "client_auth_disabled"),
    ("key-type-jsse", "key-type-mismatch", "targetserver", "jsse-rsa", "e", "fullchain", True,
     "key_type_not_accepted"),
    ("key-type-nginx", "key-type-mismatch", "proxy", "nginx-rsa", "e", "fullchain", True, "key_type_not_accepted"),
    ("curve-jsse", "curve-mismatch", "proxy", "jsse-p256", "p", "fullchain", True, "no_certificate_verify_scheme"),
    ("curve-nginx", "curve-mismatch", "targetserver", "nginx-p256", "p", "fullchain", True,
     "no_certificate_verify_scheme"),
    ("legacy-root-jsse", "legacy-root", "targetserver", "jsse-rsa", "s", "fullchain", True,
     "signature_algorithm_rejected"),
    ("legacy-root-nginx", "legacy-root", "proxy", "nginx-rsa", "s", "fullchain", True,
     "signature_algorithm_rejected"),
    ("callout-jsse", "service-callout", "callout", "jsse-a", "a", "empty", True, "no_client_certificate"),
    ("callout-nginx", "service-callout", "callout", "nginx-a", "a", "empty", True, "no_client_certificate"),
    ("by-name-jsse", "keystore-by-name", "targetserver", "jsse-a", "a", "leaf", True, "chain_incomplete"),
    ("by-name-nginx", "keystore-by-name", "proxy", "nginx-a", "a", "leaf", True, "chain_incomplete"),
]
# links whose SSLInfo limits the MP to TLS 1.2 (<Protocols>), as MPs of the runbook's time did: a capture of their
# handshake shows the CertificateRequest and the client's empty Certificate in clear (TLS 1.3 encrypts both)
TLS12_LINKS = ("missing-cert-jsse",)
# scenarios whose SSLInfo names the keystore directly (no reference)
BY_NAME_SCENARIOS = ("keystore-by-name",)
CALLOUT_POLICY = "CallBackend"
SCENARIOS = ["healthy", "missing-client-cert", "ca-mismatch", "chain-incomplete", "client-auth-disabled",
             "key-type-mismatch", "curve-mismatch", "legacy-root", "service-callout", "keystore-by-name", "all"]
PKIX_SCENARIOS = ("legacy-root", "all")
MP_JAVA = "17"


def mp_settings(scenario: str) -> dict:
    """What the lab's Message Processor is for a scenario: its JSSE key manager and Java release."""
    return {"key_manager": "PKIX" if scenario in PKIX_SCENARIOS else "SunX509", "java": MP_JAVA}


class SeedError(RuntimeError):
    """The management API refused a seeding call."""


def links_for(scenario: str) -> list[dict]:
    if scenario not in SCENARIOS:
        raise SeedError(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    out = []
    for short, scen, decl, backend, side, content, client_auth, verdict in LINKS:
        if scenario in ("all", scen):
            out.append({"short": short, "scenario": scen, "declared_in": decl, "backend": backend, "side": side,
                        "content": content, "client_auth": client_auth, "expected_verdict": verdict,
                        "api": f"mtls-{short}", "basepath": f"/{short}", "keystore": "ks" + short.replace("-", ""),
                        "reference": None if scen in BY_NAME_SCENARIOS else f"ks-{short}-ref",
                        "alias": pki.CLIENT_LEAVES[side],
                        "protocols": ["TLSv1.2"] if short in TLS12_LINKS else [],
                        "targetserver": f"ts-{short}" if decl == "targetserver" else None})
    return out


# ------------------------------------------------------------------ proxy bundles

def keystore_in_sslinfo(link: dict) -> str:
    """What SSLInfo's KeyStore says: ref://<reference>, or the keystore's own name when the link has no reference."""
    return f"ref://{link['reference']}" if link["reference"] else link["keystore"]


def ssl_info_xml(link: dict) -> str:
    return (
        "<SSLInfo>"
        "<Enabled>true</Enabled>"
        f"<ClientAuthEnabled>{'true' if link['client_auth'] else 'false'}</ClientAuthEnabled>"
        f"<KeyStore>{escape(keystore_in_sslinfo(link))}</KeyStore>"
        f"<KeyAlias>{escape(link['alias'])}</KeyAlias>"
        f"<TrustStore>ref://{MP_TRUSTSTORE_REF}</TrustStore>"
        + ("<Protocols>%s</Protocols>" % "".join(f"<Protocol>{escape(p)}</Protocol>" for p in link["protocols"])
           if link.get("protocols") else "")
        + "</SSLInfo>"
    )


def proxy_bundle(link: dict, backend_port: int) -> bytes:
    """A proxy bundle zip (apiproxy/...) whose default target endpoint reaches the link's backend."""
    api, bp = link["api"], link["basepath"]
    if link["declared_in"] == "callout":
        return _callout_bundle(link, backend_port)
    if link["declared_in"] == "targetserver":
        conn = (f"<HTTPTargetConnection><LoadBalancer><Server name=\"{escape(link['targetserver'])}\"/>"
                "</LoadBalancer><Path>/</Path></HTTPTargetConnection>")
    else:
        conn = f"<HTTPTargetConnection>{ssl_info_xml(link)}<URL>https://localhost:{backend_port}/</URL></HTTPTargetConnection>"
    files = {
        f"apiproxy/{api}.xml": (
            f'<APIProxy revision="1" name="{api}"><Description>lab scenario {link["scenario"]}: '
            f'{link["short"]}</Description><BasePaths>{bp}</BasePaths>'
            "<ProxyEndpoints><ProxyEndpoint>default</ProxyEndpoint></ProxyEndpoints>"
            "<TargetEndpoints><TargetEndpoint>default</TargetEndpoint></TargetEndpoints></APIProxy>"),
        "apiproxy/proxies/default.xml": (
            '<ProxyEndpoint name="default"><PreFlow name="PreFlow"><Request/><Response/></PreFlow>'
            f"<HTTPProxyConnection><BasePath>{bp}</BasePath><VirtualHost>default</VirtualHost></HTTPProxyConnection>"
            '<RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule></ProxyEndpoint>'),
        "apiproxy/targets/default.xml": (
            '<TargetEndpoint name="default"><PreFlow name="PreFlow"><Request/><Response/></PreFlow>'
            f"{conn}</TargetEndpoint>"),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text + "\n")
    return buf.getvalue()


def _callout_bundle(link: dict, backend_port: int) -> bytes:
    """A proxy without a target endpoint whose request PreFlow runs a ServiceCallout to the link's backend (its
    response is the proxy's)."""
    api, bp = link["api"], link["basepath"]
    files = {
        f"apiproxy/{api}.xml": (
            f'<APIProxy revision="1" name="{api}"><Description>lab scenario {link["scenario"]}: '
            f'{link["short"]}</Description><BasePaths>{bp}</BasePaths>'
            f"<Policies><Policy>{CALLOUT_POLICY}</Policy></Policies>"
            "<ProxyEndpoints><ProxyEndpoint>default</ProxyEndpoint></ProxyEndpoints></APIProxy>"),
        "apiproxy/proxies/default.xml": (
            '<ProxyEndpoint name="default"><PreFlow name="PreFlow">'
            f"<Request><Step><Name>{CALLOUT_POLICY}</Name></Step></Request><Response/></PreFlow>"
            f"<HTTPProxyConnection><BasePath>{bp}</BasePath><VirtualHost>default</VirtualHost></HTTPProxyConnection>"
            '<RouteRule name="noroute"/></ProxyEndpoint>'),
        f"apiproxy/policies/{CALLOUT_POLICY}.xml": (
            f'<ServiceCallout async="false" continueOnError="false" enabled="true" name="{CALLOUT_POLICY}">'
            "<Request variable=\"calloutRequest\"><Set><Verb>GET</Verb></Set></Request>"
            "<Response>calloutResponse</Response>"
            f"<HTTPTargetConnection>{ssl_info_xml(link)}<URL>https://localhost:{backend_port}/</URL>"
            "</HTTPTargetConnection></ServiceCallout>"),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + text + "\n")
    return buf.getvalue()


# ------------------------------------------------------------------ the management API, as an operator uses it

class Mgmt:
    """The seeder's management API client: Basic auth on Edge; on Apigee X / hybrid the lab's service account, its
    access token got with google-auth from the key file (as the tool gets one)."""

    def __init__(self, url: str, password: str, org: str = ORG, service_account_file: str | None = None):
        self.base = url.rstrip("/") + f"/v1/organizations/{org}"
        self.s = requests.Session()
        if service_account_file:
            import google.auth.transport.requests
            from google.oauth2 import service_account
            creds = service_account.Credentials.from_service_account_file(
                service_account_file, scopes=["https://www.googleapis.com/auth/cloud-platform"])
            creds.refresh(google.auth.transport.requests.Request())
            self.s.headers["Authorization"] = "Bearer %s" % creds.token
        else:
            self.s.auth = (USERNAME, password)

    def call(self, method: str, path: str, ok=(200, 201, 204), **kw) -> requests.Response:
        resp = self.s.request(method, self.base + path, timeout=30, **kw)
        if resp.status_code not in ok:
            raise SeedError(f"{method} {path} -> HTTP {resp.status_code}: {resp.text[:300]}")
        return resp

    def json(self, path: str):
        resp = self.call("GET", path, ok=(200, 404))
        return resp.json() if resp.status_code == 200 and resp.content else None


def _names(doc) -> list[str]:
    if not doc:
        return []
    if isinstance(doc, dict) and isinstance(doc.get("proxies"), list):   # Apigee X: {"proxies": [{"name"}]}
        doc = doc["proxies"]
    if isinstance(doc, list):
        return [d if isinstance(d, str) else d.get("name") for d in doc]
    return []


def _deployed(doc) -> list[tuple[str, str]]:
    """(api, revision) deployed, from Edge's or Apigee X's shape of an environment's deployments."""
    doc = doc or {}
    if "deployments" in doc:
        return [(d["apiProxy"], str(d["revision"])) for d in doc.get("deployments") or []]
    return [(p["name"], str(r["name"])) for p in doc.get("aPIProxy") or [] for r in p.get("revision") or []]


def wipe(m: Mgmt, envs: list[str]) -> None:
    """Remove every proxy, target server, reference and keystore of the org's environments."""
    for env in envs:
        for api, rev in _deployed(m.json(f"/environments/{env}/deployments")):
            m.call("DELETE", f"/environments/{env}/apis/{api}/revisions/{rev}/deployments", ok=(200, 204, 404))
    for api in _names(m.json("/apis")):
        m.call("DELETE", f"/apis/{api}", ok=(200, 204, 404))
    for env in envs:
        for name in _names(m.json(f"/environments/{env}/targetservers")):
            m.call("DELETE", f"/environments/{env}/targetservers/{name}", ok=(200, 204, 404))
        for name in _names(m.json(f"/environments/{env}/references")):
            m.call("DELETE", f"/environments/{env}/references/{name}", ok=(200, 204, 404))
        for name in _names(m.json(f"/environments/{env}/keystores")):
            m.call("DELETE", f"/environments/{env}/keystores/{name}", ok=(200, 204, 404))


def _keystore(m: Mgmt, env: str, name: str) -> None:
    m.call("POST", f"/environments/{env}/keystores", json={"name": name})


def _alias(m: Mgmt, env: str, keystore: str, alias: str, cert_pem: str, key_pem: str | None) -> None:
    files = {"certFile": ("cert.pem", cert_pem, "application/x-pem-file")}
    if key_pem is not None:
        files["keyFile"] = ("key.pem", key_pem, "application/x-pem-file")
    m.call("POST", f"/environments/{env}/keystores/{keystore}/aliases",
           params={"alias": alias, "format": "keycertfile"}, files=files)


def _reference(m: Mgmt, env: str, name: str, refers: str, kind: str = "KeyStore") -> None:
    m.call("POST", f"/environments/{env}/references", json={"name": name, "refers": refers, "resourceType": kind})


def seed(mgmt_url: str, password: str, state: str, scenario: str, backend_ports: dict, env: str = ENV,
         service_account_file: str | None = None) -> list[dict]:
    """Wipe the org and seed `scenario`; returns the lab.json link entries."""
    p = pki.paths(state)
    m = Mgmt(mgmt_url, password, service_account_file=service_account_file)
    x = service_account_file is not None   # the lab's X / hybrid mode
    wipe(m, ENVS)
    # a new generation: the MP forgets what it loaded (the reseeded lab is a new one)
    pki.write_private(os.path.join(state, "mp.json"), json.dumps(dict(mp_settings(scenario),
                                                                      generation=secrets.token_hex(8))))
    _keystore(m, env, MP_TRUSTSTORE)
    _alias(m, env, MP_TRUSTSTORE, "lab-server-ca", pki.read_text(p["server_ca"]), None)
    _reference(m, env, MP_TRUSTSTORE_REF, MP_TRUSTSTORE, "KeyStore")
    out = []
    for link in links_for(scenario):
        side = link["side"]
        _keystore(m, env, link["keystore"])
        if link["content"] != "empty":
            chain = pki.read_text(p[f"fullchain_{side}"] if link["content"] == "fullchain" else p[f"leaf_{side}"])
            _alias(m, env, link["keystore"], link["alias"], chain, pki.read_text(p[f"key_{side}"]))
        if link["reference"]:
            _reference(m, env, link["reference"], link["keystore"])
        port = backend_ports[link["backend"]]
        if link["declared_in"] == "targetserver":
            # Edge takes (and answers) sSLInfo's enabled / clientAuthEnabled as strings; X / hybrid only booleans
            flag = (lambda on: on) if x else (lambda on: "true" if on else "false")
            m.call("POST", f"/environments/{env}/targetservers", json={
                "name": link["targetserver"], "host": "localhost", "port": port, "isEnabled": True,
                "sSLInfo": {"enabled": flag(True), "clientAuthEnabled": flag(link["client_auth"]),
                            "keyStore": keystore_in_sslinfo(link), "keyAlias": link["alias"],
                            "trustStore": f"ref://{MP_TRUSTSTORE_REF}", "ignoreValidationErrors": False,
                            **({"protocols": link["protocols"]} if link["protocols"] else {})}})
        imported = m.call("POST", "/apis", params={"action": "import", "name": link["api"]},
                          files={"file": (f"{link['api']}.zip", proxy_bundle(link, port), "application/zip")}).json()
        rev = str(imported.get("revision", "1"))
        # Edge's deploy takes a form body, X / hybrid's none
        m.call("POST", f"/environments/{env}/apis/{link['api']}/revisions/{rev}/deployments",
               params={"override": "true"}, **({} if x else {"data": {"override": "true"}}))
        link_id = (f"targetserver:{env}/{link['targetserver']}" if link["declared_in"] == "targetserver"
                   else f"callout:{env}/{link['api']}/{rev}/{CALLOUT_POLICY}" if link["declared_in"] == "callout"
                   else f"proxy:{env}/{link['api']}/{rev}/default")
        out.append({
            "id": link_id, "env": env, "scenario": link["scenario"], "proxy": link["api"], "revision": int(rev),
            "basepath": link["basepath"], "backend": link["backend"], "declared_in": link["declared_in"],
            "expected_verdict": link["expected_verdict"], "keystore": link["keystore"],
            "reference": link["reference"], "alias": link["alias"], "truststore": MP_TRUSTSTORE,
            "truststore_reference": MP_TRUSTSTORE_REF, "client_auth_enabled": link["client_auth"],
            # what a fix uploads: the complete chain without a root; for the key-type scenarios another leaf of
            # the same CA with a key of the type the backend accepts
            "material": {"cert_chain": p.get(f"alt_chain_{side}") or p[f"chain_{side}"],
                         "private_key": p.get(f"alt_key_{side}") or p[f"key_{side}"],
                         "issuer_ca": p[f"int_{side}"], "ca_chain": p[f"ca_chain_{side}"],
                         **({"include_root": False} if side == "s" else {})},
        })
    return out
