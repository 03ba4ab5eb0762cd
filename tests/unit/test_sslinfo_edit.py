"""The SSLInfo edits a fix makes where a link is declared (pure): KeyStore named directly, ClientAuthEnabled."""
import io
import zipfile

import pytest
from ansible.module_utils.mtls.apigee.resources import latest_revision_id
from ansible.module_utils.mtls.client_auth import set_client_auth_in_json, set_client_auth_in_xml
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.sslinfo_edit import edit_bundle, set_keystore_in_json, set_keystore_in_xml

TARGET = """<?xml version="1.0" encoding="UTF-8"?>
<TargetEndpoint name="default">
  <!-- the backend -->
  <HTTPTargetConnection>
    <SSLInfo>
      <Enabled>true</Enabled>
      <ClientAuthEnabled>true</ClientAuthEnabled>
      <KeyStore> ksold </KeyStore>
      <KeyAlias>client</KeyAlias>
      <TrustStore>ref://mp-truststore-ref</TrustStore>
    </SSLInfo>
    <URL>https://backend.example:8443/</URL>
  </HTTPTargetConnection>
</TargetEndpoint>
"""


def test_the_keystore_named_directly_is_changed_and_nothing_else():
    new, changed = set_keystore_in_xml(TARGET, "ksold", "ksoldrot0123abcd")
    assert changed and new == TARGET.replace("<KeyStore> ksold </KeyStore>", "<KeyStore>ksoldrot0123abcd</KeyStore>")
    assert set_keystore_in_xml(new, "ksold", "ksoldrot0123abcd") == (new, False)  # done already: idempotent
    with pytest.raises(MtlsError, match="names KeyStore 'ksother', not 'ksold'"):
        set_keystore_in_xml(TARGET.replace("ksold", "ksother"), "ksold", "ksnew")
    with pytest.raises(MtlsError, match="no <SSLInfo>"):
        set_keystore_in_xml("<TargetEndpoint/>", "ksold", "ksnew")
    two = TARGET.replace("</HTTPTargetConnection>", "</HTTPTargetConnection><SSLInfo></SSLInfo>")
    with pytest.raises(MtlsError, match="2 <SSLInfo> blocks"):
        set_keystore_in_xml(two, "ksold", "ksnew")


def test_a_target_server_keystore_is_changed_in_its_sslinfo_only():
    ssl = {"enabled": "true", "clientAuthEnabled": "true", "keyStore": "ksold", "keyAlias": "client"}
    new, changed = set_keystore_in_json(ssl, "ts1", "ksold", "ksnew")
    assert changed and new == dict(ssl, keyStore="ksnew") and ssl["keyStore"] == "ksold"
    assert set_keystore_in_json(new, "ts1", "ksold", "ksnew") == (new, False)
    with pytest.raises(MtlsError, match="target server ts1 names keyStore 'ref://r', not 'ksold'"):
        set_keystore_in_json(dict(ssl, keyStore="ref://r"), "ts1", "ksold", "ksnew")


def test_client_auth_is_turned_on_inside_sslinfo_only():
    off = TARGET.replace("<ClientAuthEnabled>true", "<ClientAuthEnabled>false")
    new, changed = set_client_auth_in_xml(off)
    assert changed and new == TARGET
    assert set_client_auth_in_xml(TARGET) == (TARGET, False)
    ssl = {"enabled": "true", "clientAuthEnabled": "false", "keyStore": "ks", "keyAlias": "a"}
    assert set_client_auth_in_json(ssl, "ts1") == (dict(ssl, clientAuthEnabled="true"), True)
    with pytest.raises(MtlsError, match="TLS disabled"):
        set_client_auth_in_json(dict(ssl, enabled="false"), "ts1")
    # Apigee X / hybrid answer (and only take) JSON booleans in TlsInfo: the change is written in the type read
    x = {"enabled": True, "clientAuthEnabled": False, "keyStore": "ks", "keyAlias": "a"}
    assert set_client_auth_in_json(x, "ts1") == (dict(x, clientAuthEnabled=True), True)
    assert set_client_auth_in_json(dict(x, clientAuthEnabled=True), "ts1")[1] is False
    with pytest.raises(MtlsError, match="TLS disabled"):
        set_client_auth_in_json(dict(x, enabled=False), "ts1")


def test_a_deploy_over_has_a_form_body_on_edge_and_none_on_x():
    from ansible.module_utils.mtls.apigee import resources as res

    class Recorder:
        def __init__(self, platform):
            self.platform, self.calls = platform, []

        def post(self, path, **kw):
            self.calls.append((path, kw))

    edge, x = Recorder("edge"), Recorder("x")
    res.deploy_over(edge, "test", "api", 3)
    res.deploy_over(x, "test", "api", 3)
    path = "/environments/test/apis/api/revisions/3/deployments"
    assert edge.calls == [(path, {"params": {"override": "true"}, "data": {"override": "true"}})]
    assert x.calls == [(path, {"params": {"override": "true"}})]


def test_a_bundle_edit_rewrites_one_file_and_copies_the_others():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("apiproxy/targets/default.xml", TARGET)
        zf.writestr("apiproxy/proxies/default.xml", "<ProxyEndpoint name='default'/>")
    data = buf.getvalue()
    new, changed = edit_bundle(data, "apiproxy/targets/default.xml",
                               lambda text: set_keystore_in_xml(text, "ksold", "ksnew"))
    with zipfile.ZipFile(io.BytesIO(new)) as zf:
        assert "<KeyStore>ksnew</KeyStore>" in zf.read("apiproxy/targets/default.xml").decode()
        assert zf.read("apiproxy/proxies/default.xml") == b"<ProxyEndpoint name='default'/>"
    assert changed
    with pytest.raises(MtlsError, match="apiproxy/targets/default.xml: its SSLInfo names KeyStore 'ksold', not 'x'"):
        edit_bundle(data, "apiproxy/targets/default.xml", lambda text: set_keystore_in_xml(text, "x", "y"))
    with pytest.raises(MtlsError, match="has no apiproxy/targets/other.xml"):
        edit_bundle(data, "apiproxy/targets/other.xml", set_client_auth_in_xml)


def test_a_link_renamed_twice_in_one_run_is_found_at_its_latest_revision():
    known = {"proxy:test/orders/5/default", "proxy:test/orders/5/backup", "targetserver:test/ts1",
             "proxy:test/other/9/default"}
    # the first fix deployed rev 4, the second (another target endpoint of the same proxy) rev 5
    assert latest_revision_id("proxy:test/orders/4/default", known) == "proxy:test/orders/5/default"
    assert latest_revision_id("proxy:test/orders/6/default", known) == "proxy:test/orders/6/default"
    assert latest_revision_id("proxy:test/orders/4/gone", known) == "proxy:test/orders/4/gone"
    assert latest_revision_id("targetserver:test/ts1", known) == "targetserver:test/ts1"
    assert latest_revision_id("not a link id", known) == "not a link id"


def test_the_client_auth_diff_names_the_link_and_says_a_new_revision_is_deployed():
    from ansible.module_utils.mtls.client_auth import client_auth_diff

    proxy = {"changed": True, "id": "proxy:test/orders/3/default", "new_id": "proxy:test/orders/4/default",
             "detail": "import a new revision of orders with ClientAuthEnabled=true in target endpoint default and "
                       "deploy it to test over revision 3"}
    diff = client_auth_diff(proxy)
    assert diff["before_header"] == "proxy:test/orders/3/default"
    assert diff["after_header"] == "proxy:test/orders/4/default"
    assert "ClientAuthEnabled: false" in diff["before"] and "ClientAuthEnabled: true" in diff["after"]
    assert "change: import a new revision of orders" in diff["after"] and "deploy it to test" in diff["after"]
    same = client_auth_diff({"changed": False, "id": "targetserver:test/a", "new_id": "targetserver:test/a"})
    assert same["before"] == same["after"]
