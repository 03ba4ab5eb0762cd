"""A CA certificate that expired inside the stored chain, against a real OpenSSL server (libssl's verification,
trusting the root, asking for a client certificate): it refuses the chain although the leaf is valid, and the model --
fed the real probe of that server -- says certificate_expired, never ok; with the CA's current certificate (same
subject and key) the same server accepts the chain and the model says ok."""
import datetime as dt

import pytest
from ansible.module_utils.mtls.links import Link, Resolved, SslInfo
from ansible.module_utils.mtls.probe import probe
from ansible.module_utils.mtls.verdicts import diagnose
from OpenSSL import SSL

from tests.helpers.openssl import TlsServer
from tests.helpers.pki import make_ca, make_leaf

pytestmark = pytest.mark.interop

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def world():
    root = make_ca("CN=Expiry Root,O=Lab", key_type="ec")
    current = make_ca("CN=Expiry Issuing CA,O=Lab", parent=root, key_type="ec")
    expired = make_ca("CN=Expiry Issuing CA,O=Lab", parent=root, key=current.key,
                      not_before=NOW - dt.timedelta(days=800), not_after=NOW - dt.timedelta(days=3))
    leaf = make_leaf("CN=mp-client-expiry,O=Lab", issuer=current, key_type="ec")
    server = make_leaf("CN=localhost", issuer=root, key_type="ec", eku=("serverAuth",), san=["localhost"])
    return {"root": root, "current": current, "expired": expired, "leaf": leaf, "server": server}


@pytest.fixture(params=[SSL.TLS1_2_VERSION, SSL.TLS1_3_VERSION], ids=["TLSv1.2", "TLSv1.3"])
def backend(request, world):
    srv = TlsServer(world["server"], [world["root"]], request.param)
    yield srv
    srv.close()


def _link(port):
    ssl = SslInfo(enabled=True, client_auth_enabled=True, keystore="ref://ks-ref", key_alias="client", present=True)
    res = Resolved(declared="ref://ks-ref", reference="ks-ref", reference_found=True, name="ks")
    return Link(id="targetserver:test/expiry", env="test", source="targetserver", name="expiry", host="127.0.0.1",
                port=port, sni="localhost", scheme="https", ssl=ssl, keystore=res)


def _keystore(chain):
    return {"name": "ks", "env": "test", "exists": True, "certs": [],
            "aliases": {"client": {"has_key": True, "chain": chain, "chain_pem": None, "error": None}}}


def _real(backend, world, ca):
    """The probe of the backend with a real handshake presenting the leaf and the given CA certificate."""
    chain = [world["leaf"].cert, ca.cert]
    return chain, probe("127.0.0.1", backend.port, server_name="localhost", timeout=5, client_chain=chain,
                        client_key=world["leaf"].key)


def test_the_server_refuses_an_expired_intermediate_and_the_model_says_so(backend, world):
    chain, real = _real(backend, world, world["expired"])
    assert real["will_send_client_certificate"] is True   # JSSE sends it: the leaf's issuer is named
    hs = real["handshake"]
    assert hs["client_certificate_presented"] and not hs["ok"], hs
    assert "certificate expired" in (hs["alert_text"] or ""), hs   # the server's own alert
    verdict = diagnose(_link(backend.port), _keystore(chain), real, at=NOW)
    assert verdict["verdict"] == "certificate_expired", verdict["remediation"]
    assert "CN=Expiry Issuing CA,O=Lab, which expired on" in verdict["remediation"]["text"]
    assert verdict["evidence"]["handshake"]["alert_text"] == hs["alert_text"]
    # what a diagnosis has without the MP's key: the probe with no certificate; the verdict is the same
    blind = probe("127.0.0.1", backend.port, server_name="localhost", timeout=5)
    assert diagnose(_link(backend.port), _keystore(chain), blind, at=NOW)["verdict"] == "certificate_expired"


def test_with_the_current_ca_certificate_both_say_it_works(backend, world):
    chain, real = _real(backend, world, world["current"])
    assert real["handshake"]["ok"] is True, real["handshake"]
    assert diagnose(_link(backend.port), _keystore(chain), real, at=NOW)["verdict"] == "ok"
