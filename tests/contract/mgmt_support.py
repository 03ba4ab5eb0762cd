"""Helpers shared by the management API emulator tests (tests/lab/test_mgmt_*.py) and the OpenAPI contract tests.

Everything is built at run time: a throw-away state folder, a test PKI from ``tests.helpers.pki`` (EC keys: fast),
proxy bundle zips written in memory.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import zipfile
from functools import lru_cache

from apigee_lab.auth import User
from apigee_lab.mgmt import DEFAULT_PASSWORD, DEFAULT_USER, create_app

from tests.helpers.pki import chain_pem, make_ca, make_leaf, make_pkcs12

ORG = "lab"
ENV = "test"
BASIC = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (DEFAULT_USER, DEFAULT_PASSWORD)).encode()).decode()}
EDGECLI = {"Authorization": "Basic " + base64.b64encode(b"edgecli:edgeclisecret").decode()}


def make_app(state_dir, **kwargs):
    app = create_app(str(state_dir), **kwargs)
    app.testing = True
    return app


def store_of(app):
    return app.extensions["apigee_lab"]["store"]


@lru_cache(maxsize=1)
def pki():
    """Root -> Intermediate -> leaf (clientAuth), an expired leaf, a second leaf with another key, a server cert."""
    root = make_ca("CN=Lab Test Root A,O=Example,C=AU", key_type="ec")
    inter = make_ca("CN=Lab Test Issuing A,O=Example", parent=root, key_type="ec")
    leaf = make_leaf("CN=mp-client-a,O=Example", issuer=inter, key_type="ec")
    other = make_leaf("CN=mp-client-other,O=Example", issuer=inter, key_type="ec")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = make_leaf("CN=mp-client-expired,O=Example", issuer=inter, key_type="ec",
                        not_before=past - dt.timedelta(days=60), not_after=past)
    server = make_leaf("CN=127.0.0.1", issuer=inter, key_type="ec", eku=["serverAuth"], san=["IP:127.0.0.1",
                                                                                            "DNS:localhost"])
    return {"root": root, "inter": inter, "leaf": leaf, "other": other, "expired": expired, "server": server}


def p12(leaf, chain=(), password="changeit"):
    return make_pkcs12(leaf, list(chain), password=password)


def full_chain_pem():
    p = pki()
    return chain_pem([p["leaf"], p["inter"], p["root"]])


def create_keystore(client, name, env=ENV, headers=BASIC):
    resp = client.post("/v1/organizations/%s/environments/%s/keystores" % (ORG, env), json={"name": name},
                       headers=headers)
    assert resp.status_code == 200, resp.get_json()  # createKeystoreTruststore: 200 (keystores-and-trustores.yaml)
    return resp


def upload_keycert(client, keystore, alias, cert_pem: bytes, key_pem: bytes | None = None, password=None,
                   env=ENV, query="", headers=BASIC):
    data = {"certFile": (io.BytesIO(cert_pem), "cert.pem")}
    if key_pem is not None:
        data["keyFile"] = (io.BytesIO(key_pem), "key.pem")
    if password is not None:
        data["password"] = password
    url = "/v1/organizations/%s/environments/%s/keystores/%s/aliases?alias=%s&format=keycertfile%s" % (
        ORG, env, keystore, alias, query)
    return client.post(url, data=data, content_type="multipart/form-data", headers=headers)


def bundle_zip(name="p1", basepath="/p1", targets=None, extra_files=None) -> bytes:
    """A proxy bundle. targets: list of (target_name, xml_of_HTTPTargetConnection_inner)."""
    targets = targets if targets is not None else [("default", "<URL>https://127.0.0.1:18441/</URL>")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("apiproxy/%s.xml" % name,
                    '<APIProxy name="%s"><DisplayName>%s</DisplayName><Description>lab proxy</Description>'
                    "</APIProxy>" % (name, name))
        routes = "".join('<RouteRule name="%s"><TargetEndpoint>%s</TargetEndpoint></RouteRule>' % (t, t)
                         for t, _ in targets[:1])
        zf.writestr("apiproxy/proxies/default.xml",
                    '<ProxyEndpoint name="default"><HTTPProxyConnection><BasePath>%s</BasePath>'
                    "<VirtualHost>default</VirtualHost></HTTPProxyConnection>%s</ProxyEndpoint>" % (basepath, routes))
        for tname, inner in targets:
            zf.writestr("apiproxy/targets/%s.xml" % tname,
                        '<TargetEndpoint name="%s"><HTTPTargetConnection>%s</HTTPTargetConnection></TargetEndpoint>'
                        % (tname, inner))
        zf.writestr("apiproxy/policies/AM-Hello.xml", '<AssignMessage name="AM-Hello"/>')
        for path, text in (extra_files or {}).items():
            zf.writestr(path, text)
    return buf.getvalue()


def import_bundle(client, name, data, headers=BASIC, multipart=True):
    url = "/v1/organizations/%s/apis?action=import&name=%s" % (ORG, name)
    if multipart:
        return client.post(url, data={"file": (io.BytesIO(data), "%s.zip" % name)},
                           content_type="multipart/form-data", headers=headers)
    return client.post(url, data=data, content_type="application/octet-stream", headers=headers)


def user(email=DEFAULT_USER, password=DEFAULT_PASSWORD, orgs=(ORG,), mfa_secret=None):
    return User(email, password, orgs=orgs, mfa_secret=mfa_secret)
