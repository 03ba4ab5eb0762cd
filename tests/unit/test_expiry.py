"""The expiry forecast: what a link depends on that expires within the window, and what could not be checked."""
import datetime as dt

from ansible.module_utils.mtls.expiry import forecast, warning_text

from tests.helpers.pki import make_ca, make_leaf

NOW = dt.datetime.now(dt.UTC)


def test_the_leaf_an_intermediate_and_the_trusted_ca_are_each_checked():
    root = make_ca("CN=Forecast Root,O=Lab", key_type="ec", not_after=NOW + dt.timedelta(days=20))
    inter = make_ca("CN=Forecast Issuing CA,O=Lab", parent=root, key_type="ec", not_after=NOW + dt.timedelta(days=9))
    leaf = make_leaf("CN=mp-client,O=Lab", issuer=inter, key_type="ec", not_after=NOW + dt.timedelta(days=200))
    got = forecast([leaf.cert, inter.cert], [root.cert.subject], [root.cert], warn_days=30, at=NOW)
    assert [(e["what"], e["subject"]) for e in got["expiring"]] == [
        ("intermediate", "CN=Forecast Issuing CA,O=Lab"), ("trusted CA", "CN=Forecast Root,O=Lab")]
    assert got["expiring"][0]["days_left"] in (8, 9) and got["soonest"] == got["expiring"][0]["not_after"]
    assert got["checked"] == 3 and got["unchecked"] == []
    text = warning_text("targetserver:test/a", got["expiring"][0])
    assert text.startswith("targetserver:test/a: the intermediate CN=Forecast Issuing CA,O=Lab expires on ")
    assert forecast([leaf.cert, inter.cert], [root.cert.subject], [root.cert], warn_days=5, at=NOW)["expiring"] == []


def test_a_trusted_ca_whose_certificate_is_unknown_is_said_not_checked():
    root = make_ca("CN=Unknown Root,O=Lab", key_type="ec")
    leaf = make_leaf("CN=mp-client,O=Lab", issuer=root, key_type="ec")
    got = forecast([leaf.cert], ["CN=Unknown Root,O=Lab"], [], at=NOW)
    assert got["unchecked"] == ["CN=Unknown Root,O=Lab"] and got["expiring"] == []


def test_an_expired_certificate_is_left_to_the_verdicts():
    leaf = make_leaf("CN=old,O=Lab", key_type="ec", not_before=NOW - dt.timedelta(days=10),
                     not_after=NOW - dt.timedelta(days=1))
    assert forecast([leaf.cert], at=NOW)["expiring"] == []
