"""Link discovery on constructed Edge JSON and revision bundles (a recording client, no network)."""
import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.links import discover_links, parse_target_endpoints, read_keystore

from tests.helpers.fake_apigee import FakeClient, bundle
from tests.helpers.pki import make_ca, make_leaf

URL_TARGET = """<TargetEndpoint name="default"><HTTPTargetConnection>
  <SSLInfo><Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled><KeyStore>ref://ks-ref</KeyStore>
  <KeyAlias>client</KeyAlias><TrustStore>ts</TrustStore><Protocols><Protocol>TLSv1.2</Protocol></Protocols></SSLInfo>
  <URL>https://backend.example:8443/v1</URL></HTTPTargetConnection></TargetEndpoint>"""
LB_TARGET = """<TargetEndpoint name="lb"><HTTPTargetConnection><LoadBalancer><Server name="ts1"/>
  </LoadBalancer></HTTPTargetConnection></TargetEndpoint>"""
PLAIN_TARGET = """<TargetEndpoint name="plain"><HTTPTargetConnection><URL>http://plain.example/</URL>
  </HTTPTargetConnection></TargetEndpoint>"""


@pytest.fixture
def edge():
    data = {
        "/environments/test": {"name": "test"},
        "/environments/test/targetservers": ["ts1", "ts-plain"],
        "/environments/test/targetservers/ts1": {
            "name": "ts1", "host": "ts1.example", "port": 443, "isEnabled": True,
            "sSLInfo": {"enabled": "true", "clientAuthEnabled": "true", "keyStore": "ref://missing-ref",
                        "keyAlias": "client"}},
        "/environments/test/targetservers/ts-plain": {"name": "ts-plain", "host": "p", "port": 80, "isEnabled": True},
        "/environments/test/deployments": {"aPIProxy": [{"name": "orders", "revision": [
            {"name": "3", "state": "deployed", "configuration": {"basePath": "/orders"}}]}]},
        "/environments/test/references/ks-ref": {"name": "ks-ref", "refers": "client-ks", "resourceType": "KeyStore"},
    }
    raw = {"/apis/orders/revisions/3": bundle({"default": URL_TARGET, "lb": LB_TARGET, "plain": PLAIN_TARGET})}
    return FakeClient(data, raw)


def test_parse_target_endpoints():
    eps = {e["name"]: e for e in parse_target_endpoints(bundle({"default": URL_TARGET, "lb": LB_TARGET}))}
    assert eps["default"]["url"] == "https://backend.example:8443/v1"
    assert eps["default"]["ssl"].keystore == "ref://ks-ref" and eps["default"]["ssl"].protocols == ["TLSv1.2"]
    assert eps["lb"]["servers"] == ["ts1"] and eps["lb"]["kind"] == "loadbalancer"
    with pytest.raises(MtlsError, match="not a zip"):
        parse_target_endpoints(b"nope")


def test_discover_links_ids_references_and_usage(edge):
    links = {lk.id: lk for lk in discover_links(edge, "test")}
    assert sorted(links) == ["proxy:test/orders/3/default", "targetserver:test/ts1"]
    px = links["proxy:test/orders/3/default"]
    assert (px.host, px.port, px.sni, px.api, px.revision) == ("backend.example", 8443, "backend.example", "orders", 3)
    assert px.keystore.reference == "ks-ref" and px.keystore.name == "client-ks" and px.keystore.reference_found
    assert px.truststore.name == "ts" and px.basepaths == ["/orders"]
    ts = links["targetserver:test/ts1"]
    assert ts.keystore.reference_found is False and ts.keystore.name is None
    assert "missing-ref" in ts.keystore.error
    assert ts.used_by == [{"api": "orders", "revision": 3, "target": "lb", "basepaths": ["/orders"]}]


def test_x_deployments_and_booleans_give_the_same_links(edge):
    """Apigee X / hybrid (apigee-x.yaml): ListDeploymentsResponse {"deployments": [{"apiProxy", "revision",
    "state"}]} with no base path (it is read from the bundle's proxy endpoint), sSLInfo with JSON booleans."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(edge.raw["/apis/orders/revisions/3"])) as src, zipfile.ZipFile(buf, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("apiproxy/proxies/default.xml", "<ProxyEndpoint name='default'><HTTPProxyConnection>"
                     "<BasePath>/orders</BasePath></HTTPProxyConnection></ProxyEndpoint>")
    edge.raw["/apis/orders/revisions/3"] = buf.getvalue()
    edge.data["/environments/test/deployments"] = {"deployments": [
        {"environment": "test", "apiProxy": "orders", "revision": "3", "state": "READY"},
        {"environment": "test", "apiProxy": "broken", "revision": "1", "state": "ERROR"}]}
    edge.data["/environments/test/targetservers/ts1"]["sSLInfo"].update(enabled=True, clientAuthEnabled=True)
    links = {lk.id: lk for lk in discover_links(edge, "test")}
    assert sorted(links) == ["proxy:test/orders/3/default", "targetserver:test/ts1"]
    assert links["proxy:test/orders/3/default"].basepaths == ["/orders"]
    assert links["targetserver:test/ts1"].ssl.client_auth_enabled is True
    assert links["targetserver:test/ts1"].used_by == [{"api": "orders", "revision": 3, "target": "lb",
                                                        "basepaths": ["/orders"]}]


def test_filters_and_plain_links(edge):
    assert [lk.id for lk in discover_links(edge, "test", target_servers=["ts1"])] == ["targetserver:test/ts1"]
    assert [lk.id for lk in discover_links(edge, "test", proxies=["orders"])] == [
        "proxy:test/orders/3/default", "targetserver:test/ts1"]
    ids = [lk.id for lk in discover_links(edge, "test", include_plain=True)]
    assert "targetserver:test/ts-plain" in ids and "proxy:test/orders/3/plain" in ids


def test_unknown_env(edge):
    with pytest.raises(MtlsError, match="environment 'nope' does not exist in organization 'acme'"):
        discover_links(edge, "nope")


def test_read_keystore():
    from ansible.module_utils.mtls import certcore

    root = make_ca("CN=R,O=T", key_type="ec")
    leaf = make_leaf("CN=L,O=T", issuer=root, key_type="ec")
    data = {"/environments/e/keystores/ks": {"name": "ks", "certs": ["client-cert"],
                                             "aliases": [{"aliasName": "client", "cert": "c", "key": "k"},
                                                         {"aliasName": "ca", "cert": "ca-cert"}]}}
    raw = {"/environments/e/keystores/ks/aliases/client/certificate": leaf.cert_pem() + root.cert_pem(),
           "/environments/e/keystores/ks/aliases/ca/certificate": root.cert_pem()}
    ks = read_keystore(FakeClient(data, raw), "e", "ks", certcore.load_certificates)
    assert ks["exists"] and ks["aliases"]["client"]["has_key"] is True
    assert [c.subject.rfc4514_string() for c in ks["aliases"]["client"]["chain"]] == ["CN=L,O=T", "CN=R,O=T"]
    assert ks["aliases"]["ca"]["has_key"] is False
    assert read_keystore(FakeClient({}, {}), "e", "ks", certcore.load_certificates)["exists"] is False


def test_an_x_keystore_lists_aliases_by_name_and_each_says_whether_it_holds_a_key():
    """Apigee X / hybrid (apigee-x.yaml): Keystore.aliases is [string]; Alias.type is CERT or KEY_CERT. A CERT alias
    holds no private key, so the MP presents nothing from it."""
    from ansible.module_utils.mtls import certcore

    root = make_ca("CN=R,O=T", key_type="ec")
    leaf = make_leaf("CN=L,O=T", issuer=root, key_type="ec")
    info = {"certInfo": [{"subject": "CN=L,O=T"}]}
    data = {"/environments/e/keystores/ks": {"name": "ks", "aliases": ["client", "certonly", "odd"]},
            "/environments/e/keystores/ks/aliases/client": {"alias": "client", "certsInfo": info, "type": "KEY_CERT"},
            "/environments/e/keystores/ks/aliases/certonly": {"alias": "certonly", "certsInfo": info, "type": "CERT"},
            "/environments/e/keystores/ks/aliases/odd": {"alias": "odd", "certsInfo": info}}
    raw = {"/environments/e/keystores/ks/aliases/%s/certificate" % a: leaf.cert_pem() + root.cert_pem()
           for a in ("client", "certonly", "odd")}
    ks = read_keystore(FakeClient(data, raw), "e", "ks", certcore.load_certificates)
    assert ks["aliases"]["client"]["has_key"] is True and ks["aliases"]["certonly"]["has_key"] is False
    assert ks["aliases"]["odd"]["has_key"] is None   # the alias does not say: unknown, not guessed


@pytest.mark.parametrize("path, answer, words", [
    ("/environments/test/targetservers", {"targetServer": ["ts1"]}, "GET /environments/test/targetservers with a "
                                                                     "malformed listing: expected a list of names"),
    ("/environments/test/targetservers/ts1", ["ts1"], "GET /environments/test/targetservers/ts1 with a malformed "
                                                      "document: expected a JSON object"),
    ("/environments/test/deployments", {"aPIProxy": "orders"}, "GET /environments/test/deployments with a malformed "
                                                               "document: aPIProxy is not a list"),
])
def test_an_answer_of_the_wrong_shape_names_the_call(edge, path, answer, words):
    """Once: 'not found: GET .../targetservers/None' for a listing that was not a list."""
    edge.data[path] = answer
    with pytest.raises(MtlsError) as err:
        discover_links(edge, "test")
    assert words in str(err.value)


def test_a_keystore_document_of_the_wrong_shape_names_the_call():
    from ansible.module_utils.mtls import certcore

    client = FakeClient({"/environments/test/keystores/ks": ["not", "an", "object"]}, {})
    with pytest.raises(MtlsError, match="GET /environments/test/keystores/ks with a malformed document"):
        read_keystore(client, "test", "ks", certcore.load_certificates)


@pytest.mark.parametrize("name", ["", ".", "..", "a\nb", None])
def test_names_that_would_address_another_resource_are_refused(name):
    from ansible.module_utils.mtls.apigee import resources

    with pytest.raises(MtlsError, match="is not a valid Apigee name"):
        resources.keystore_path("test", name)
    assert resources.keystore_path("test", "a/b c") == "/environments/test/keystores/a%2Fb%20c"
    assert resources.keystore_path("test", "...") == "/environments/test/keystores/..."


CALLOUT = """<ServiceCallout name="CallPayments"><Request/><Response>r</Response><HTTPTargetConnection>
  <SSLInfo><Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled><KeyStore>ref://ks-ref</KeyStore>
  <KeyAlias>client</KeyAlias></SSLInfo><URL>https://payments.example:9443/charge</URL></HTTPTargetConnection>
  </ServiceCallout>"""
LOCAL_CALLOUT = """<ServiceCallout name="CallLocal"><LocalTargetConnection><Path>/other</Path>
  </LocalTargetConnection></ServiceCallout>"""
LB_CALLOUT = """<ServiceCallout name="CallPool"><HTTPTargetConnection><LoadBalancer><Server name="ts1"/></LoadBalancer>
  </HTTPTargetConnection></ServiceCallout>"""


def test_service_callouts_are_links_of_their_own():
    """A ServiceCallout's <HTTPTargetConnection><SSLInfo> is the same SSLInfo as a target endpoint's
    (Apigee's ServiceCallout policy reference): it is a southbound link (callout:<env>/<api>/<rev>/<policy>); a
    LocalTargetConnection is not; a LoadBalancer callout uses its target servers."""
    from ansible.module_utils.mtls.apigee.resources import callout_link_id, parse_link_id

    data = {
        "/environments/test": {"name": "test"},
        "/environments/test/targetservers": ["ts1"],
        "/environments/test/targetservers/ts1": {"name": "ts1", "host": "ts1.example", "port": 443,
                                                 "sSLInfo": {"enabled": "true"}},
        "/environments/test/deployments": {"aPIProxy": [{"name": "orders", "revision": [
            {"name": "3", "state": "deployed", "configuration": {"basePath": "/orders"}}]}]},
        "/environments/test/references/ks-ref": {"name": "ks-ref", "refers": "client-ks", "resourceType": "KeyStore"},
    }
    raw = {"/apis/orders/revisions/3": bundle({}, {"CallPayments": CALLOUT, "CallLocal": LOCAL_CALLOUT,
                                                   "CallPool": LB_CALLOUT})}
    links = {lk.id: lk for lk in discover_links(FakeClient(data, raw), "test")}
    assert sorted(links) == ["callout:test/orders/3/CallPayments", "targetserver:test/ts1"]
    sc = links["callout:test/orders/3/CallPayments"]
    assert (sc.source, sc.host, sc.port, sc.api, sc.revision, sc.tls_enabled) == \
        ("callout", "payments.example", 9443, "orders", 3, True)
    assert sc.keystore.name == "client-ks" and sc.ssl.client_auth_enabled
    assert links["targetserver:test/ts1"].used_by == [{"api": "orders", "revision": 3, "callout": "CallPool",
                                                       "basepaths": ["/orders"]}]
    assert parse_link_id(callout_link_id("test", "orders", 3, "CallPayments")) == {
        "kind": "callout", "env": "test", "api": "orders", "revision": "3", "policy": "CallPayments"}


def test_client_auth_is_turned_on_in_the_callout_policy_file_only():
    from ansible.module_utils.mtls.client_auth import set_client_auth_in_bundle

    off = CALLOUT.replace("<ClientAuthEnabled>true", "<ClientAuthEnabled>false")
    data = bundle({"default": URL_TARGET.replace("<ClientAuthEnabled>true", "<ClientAuthEnabled>false")},
                  {"CallPayments": off})
    new, changed = set_client_auth_in_bundle(data, "CallPayments", "apiproxy/policies/CallPayments.xml")
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(new)) as zf:
        assert "<ClientAuthEnabled>true" in zf.read("apiproxy/policies/CallPayments.xml").decode()
        assert "<ClientAuthEnabled>false" in zf.read("apiproxy/targets/default.xml").decode()
    assert changed


FLOW_TARGET = """<TargetEndpoint name="dyn"><HTTPTargetConnection>
  <SSLInfo><Enabled>true</Enabled><ClientAuthEnabled>true</ClientAuthEnabled><KeyStore>{ssl.keystore}</KeyStore>
  <KeyAlias>{ssl.alias}</KeyAlias></SSLInfo><URL>https://backend.example:8443/</URL></HTTPTargetConnection>
  </TargetEndpoint>"""


def test_sslinfo_set_from_flow_variables_is_dynamic_unless_their_values_are_declared(edge):
    """Apigee lets a target endpoint's SSLInfo take KeyStore/KeyAlias from flow variables (resolved per request):
    without declared values the link is dynamic_keystore (the variables named), never keystore_missing or ok; with
    them it is resolved like any other (a ref:// value followed)."""
    from ansible.module_utils.mtls.verdicts import diagnose

    edge.raw["/apis/orders/revisions/3"] = bundle({"dyn": FLOW_TARGET})
    link = {lk.id: lk for lk in discover_links(edge, "test")}["proxy:test/orders/3/dyn"]
    assert link.keystore.dynamic and link.keystore.variables == ["ssl.keystore"] and link.keystore.name is None
    out = diagnose(link, None, None)
    assert out["verdict"] == "dynamic_keystore" and out["remediation"]["variables"] == ["ssl.alias", "ssl.keystore"]
    assert "mtls_flow_variables" in out["remediation"]["text"]
    declared = {lk.id: lk for lk in discover_links(edge, "test", flow_values={
        "ssl.keystore": "ref://ks-ref", "ssl.alias": "client"})}["proxy:test/orders/3/dyn"]
    assert not declared.keystore.dynamic and declared.keystore.reference == "ks-ref"
    assert declared.keystore.name == "client-ks" and declared.ssl.key_alias == "client"
    assert diagnose(declared, None, None)["verdict"] == "keystore_missing"  # client-ks is not in this fake org
