"""Whether the MP trusts the backend's certificate, decided by the model (server_trust.py) and by real JSSE.

The client is the lab MP's own JSSE client (lab/java/MpClient.java: a TrustManagerFactory "PKIX" over the truststore's
certificates, as the MP builds one from SSLInfo's TrustStore); the backend is an OpenSSL server (pyOpenSSL) sending a
chosen chain. For every case and TLS version the model, fed the real probe of that server (the certificates it sent,
the negotiated version and suite), must say what JSSE did: trusted when the call went through, not trusted when JSSE
aborted the handshake -- and never "could not decide" for these cases."""
import datetime as dt

import pytest
from ansible.module_utils.mtls.probe import probe
from ansible.module_utils.mtls.server_trust import server_trust
from apigee_lab.backends import compile_java
from apigee_lab.runtime import JvmClient
from OpenSSL import SSL

from tests.helpers.openssl import TlsServer
from tests.helpers.pki import make_ca, make_leaf

pytestmark = pytest.mark.interop
NOW = dt.datetime.now(dt.UTC)
VERSIONS = {"TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION}


def _server(name, issuer, **kw):
    kw.setdefault("eku", ("serverAuth",))
    return make_leaf(name, issuer=issuer, san=["localhost"], **kw)


def _cases():
    root = make_ca("CN=Trust Root,O=Lab")
    other = make_ca("CN=Other Root,O=Lab")
    inter = make_ca("CN=Trust Issuing CA,O=Lab", parent=root)
    leaf = _server("CN=localhost,OU=ok", inter)
    expired_leaf = _server("CN=localhost,OU=expired", inter, not_before=NOW - dt.timedelta(days=40),
                           not_after=NOW - dt.timedelta(days=2))
    expired_inter = make_ca("CN=Trust Issuing CA,O=Lab", parent=root, key=inter.key,
                            not_before=NOW - dt.timedelta(days=800), not_after=NOW - dt.timedelta(days=3))
    not_a_ca = make_leaf("CN=Not A CA,O=Lab", issuer=root, eku=None)
    under_not_a_ca = _server("CN=localhost,OU=under-not-a-ca", not_a_ca)
    client_only = make_leaf("CN=localhost,OU=client-only", issuer=inter, eku=("clientAuth",), san=["localhost"])
    no_digital_signature = _server("CN=localhost,OU=key-encipherment-only", inter, key_usage=("key_encipherment",))
    with_ku = _server("CN=localhost,OU=digital-signature", inter, key_usage=("digital_signature",
                                                                             "key_encipherment"))
    no_more_cas = make_ca("CN=Trust PathLen 0,O=Lab", parent=root, path_length=0)
    below = make_ca("CN=Trust Below PathLen,O=Lab", parent=no_more_cas)
    too_deep = _server("CN=localhost,OU=too-deep", below)
    reissued_root = make_ca("CN=Trust Root,O=Lab", key=root.key)   # same name and key, another certificate
    return [
        # (case, server leaf, the chain it sends after the leaf, the truststore's certificates, what JSSE does)
        ("leaf_and_intermediate_root_trusted", leaf, [inter], [root], True),
        ("leaf_alone_root_trusted", leaf, [], [root], False),
        ("leaf_alone_intermediate_trusted", leaf, [], [inter], True),
        ("another_root_trusted", leaf, [inter], [other], False),
        ("root_sent_and_trusted", leaf, [inter, root], [root], True),
        ("root_sent_intermediate_trusted", leaf, [inter, root], [inter], True),
        ("out_of_order_chain", leaf, [root, inter], [root], True),
        ("expired_leaf", expired_leaf, [inter], [root], False),
        ("expired_leaf_trusted_itself", expired_leaf, [inter], [expired_leaf], True),
        ("expired_intermediate", leaf, [expired_inter], [root], False),
        ("issuer_not_a_ca", under_not_a_ca, [not_a_ca], [root], False),
        ("leaf_for_clients_only", client_only, [inter], [root], False),
        ("key_usage_without_digital_signature", no_digital_signature, [inter], [root], False),
        ("key_usage_with_digital_signature", with_ku, [inter], [root], True),
        ("path_length_exceeded", too_deep, [below, no_more_cas], [root], False),
        ("root_reissued_same_name_and_key", leaf, [inter, root], [reissued_root], True),
        ("truststore_empty", leaf, [inter], [], False),
    ]


CASES = _cases()


@pytest.fixture(scope="module")
def jsse(tmp_path_factory):
    client = JvmClient(compile_java(), str(tmp_path_factory.mktemp("mpclient") / "mpclient.log"))
    yield client
    client.close()


def _mp_call(jsse, port, version, trusted):
    """The lab MP's call with a TrustStore of ``trusted`` (as SSLInfo's TrustStore is loaded): its JSSE outcome."""
    return jsse.call({"host": "127.0.0.1", "port": port, "method": "GET", "path": "/", "headers": {},
                      "body_b64": "", "tls": True, "client_auth": False, "alias": None, "key_pkcs8_b64": None,
                      "chain_pem": None, "trust_pem": [t.cert_pem().decode() for t in trusted],
                      "ignore_validation_errors": False, "protocols": [version], "ciphers": [],
                      "key_manager": "SunX509", "timeout_ms": 10000})


@pytest.mark.parametrize("version", sorted(VERSIONS))
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_model_trusts_the_backend_exactly_when_jsse_does(jsse, case, version):
    _name, leaf, sent, trusted, expected = case
    srv = TlsServer(leaf, [], VERSIONS[version], require=False, chain=sent)
    try:
        real = _mp_call(jsse, srv.port, version, trusted)
        seen = probe("127.0.0.1", srv.port, server_name="localhost", timeout=5, tls_versions=[version])
    finally:
        srv.close()
    jsse_trusted = bool(real.get("ok"))
    assert jsse_trusted is expected, real   # the case is what it says it is
    if not jsse_trusted:
        assert real["stage"] == "handshake", real
    assert [c.fingerprint(c.signature_hash_algorithm) for c in seen["server_certificates"]] == \
        [c.cert.fingerprint(c.cert.signature_hash_algorithm) for c in [leaf, *sent]]
    model = server_trust(seen["server_certificates"], [t.cert for t in trusted], protocol=seen["protocol"],
                         cipher=seen["cipher"])
    assert model["trusted"] is jsse_trusted, (model, real.get("message"))
    assert model["reason"]
