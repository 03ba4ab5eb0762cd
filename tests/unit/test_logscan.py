"""MP system.log scanning: records, wrapped lines, rotated and gzipped files, grouping."""
import gzip

import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.mp_log import iter_records, scan, scan_groups

HEAD = "org:acme env:prod api:orders rev:3 messageid:{mid} NIOThread@0 ERROR HTTP.CLIENT - "
FAIL = ("{ts} " + HEAD + "HTTPClient$Context.handshakeFailed() : SSLClientChannel[C:10.0.0.5:51234 # Remote "
        "host:10.1.2.3:8443 #]@65461 useCount=1 bytesRead=0 bytesWritten=0 age=529ms lastIO=529ms handshake failed, "
        "message: Received fatal alert: {alert}\n")
SSLINFO = ("{ts} " + HEAD + "HTTPClient$Context.handshakeFailed() : SSLInfo: KeyStore:java.security.KeyStore@52de60d9 "
           "KeyAlias:KeyAlias TrustStore:java.security.KeyStore@6ec45759\n")
STACK = ("\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131) ~[na:17.0.15]\n"
         "\tat java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:370) ~[na:17.0.15]\n")


def record(ts, mid, alert="bad_certificate"):
    return FAIL.format(ts=ts, mid=mid, alert=alert) + SSLINFO.format(ts=ts, mid=mid) + STACK


def test_groups_counts_times_and_ids(tmp_path):
    log = tmp_path / "system.log"
    log.write_text(record("2017-10-23 05:28:57,813", "m1") + "2017-10-23 05:29:00,000 INFO unrelated line\n"
                   + record("2017-10-23 05:30:01,001", "m2") + record("2017-10-23 05:31:00,000", "m3",
                                                                      "handshake_failure"))
    out = scan([str(log)])
    assert out["records"] == 3
    first = out["groups"][0]
    assert (first["org"], first["env"], first["api"], first["rev"]) == ("acme", "prod", "orders", "3")
    assert first["remote"] == "10.1.2.3:8443" and first["alert"] == "bad_certificate"
    assert first["count"] == 2 and first["message_ids"] == ["m1", "m2"]
    assert first["first"] == "2017-10-23 05:28:57,813" and first["last"] == "2017-10-23 05:30:01,001"
    assert out["groups"][1]["alert"] == "handshake_failure" and out["groups"][1]["count"] == 1


def test_wrapped_record_like_the_runbook(tmp_path):
    # the runbook shows one record wrapped over four lines
    wrapped = ("2017-10-23 05:28:57,813 org:org-name env:env-name api:apiproxy-name rev:7\n"
               "messageid:message_id NIOThread@0 ERROR HTTP.CLIENT - HTTPClient$Context.handshakeFailed() :\n"
               "SSLClientChannel[C:10.0.0.5:1234 # Remote host:192.168.1.10:443 #]@65461 useCount=1 bytesRead=0\n"
               "bytesWritten=0 age=529ms lastIO=529ms handshake failed, message: Received fatal alert:\n"
               "bad_certificate\n")
    log = tmp_path / "system.log"
    log.write_text(wrapped)
    g = scan([str(log)])["groups"][0]
    assert g["api"] == "apiproxy-name" and g["rev"] == "7" and g["message_ids"] == ["message_id"]
    assert g["remote"] == "192.168.1.10:443" and g["alert"] == "bad_certificate"


def test_rotated_and_gzipped_logs_are_read_oldest_first(tmp_path):
    (tmp_path / "system.log").write_text(record("2024-01-03 00:00:00,000", "new"))
    (tmp_path / "system.log.1").write_text(record("2024-01-02 00:00:00,000", "mid"))
    with gzip.open(tmp_path / "system.log.2.gz", "wt") as fh:
        fh.write(record("2024-01-01 00:00:00,000", "old"))
    out = scan([str(tmp_path / "system.log")])
    assert [p.rsplit("/", 1)[-1] for p in out["files"]] == ["system.log.2.gz", "system.log.1", "system.log"]
    g = out["groups"][0]
    assert g["count"] == 3 and g["message_ids"] == ["old", "mid", "new"]
    assert g["first"].startswith("2024-01-01") and g["last"].startswith("2024-01-03")
    assert scan([str(tmp_path / "system.log")], include_rotated=False)["records"] == 1


def test_filters_and_missing_file(tmp_path):
    log = tmp_path / "system.log"
    log.write_text(record("2024-01-01 00:00:00,000", "a"))
    assert scan([str(log)], api="other")["records"] == 0
    assert scan([str(log)], env="prod")["records"] == 1
    with pytest.raises(MtlsError, match="does not exist"):
        scan([str(tmp_path / "nope.log")])


def test_continuation_before_any_record_is_ignored():
    recs = list(iter_records(["\tat orphan\n", "2024-01-01 00:00:00,000 x\n", "  more\n"]))
    assert recs == [("2024-01-01 00:00:00,000", "x more")]


def test_each_group_keeps_its_latest_failure_record_verbatim(tmp_path):
    from ansible.module_utils.mtls.mp_log import summarize_mp_log
    log = tmp_path / "system.log"
    log.write_text(record("2017-10-23 05:28:57,813", "m1") + record("2017-10-23 05:30:01,001", "m2"))
    g = scan([str(log)])["groups"][0]
    assert g["record"] == FAIL.format(ts="2017-10-23 05:30:01,001", mid="m2", alert="bad_certificate").rstrip("\n")
    assert summarize_mp_log([g])["record"] == g["record"]


def test_a_long_record_is_cut_with_the_count_of_lines_left_out():
    from ansible.module_utils.mtls.mp_log import verbatim
    lines = ["2017-10-23 05:28:57,813 head\n"] + ["\tat frame%d\n" % i for i in range(30)]
    text = verbatim(lines, max_lines=12)
    assert text.splitlines()[:2] == ["2017-10-23 05:28:57,813 head", "\tat frame0"]
    assert text.splitlines()[-1] == "\t... (19 more lines)" and len(text.splitlines()) == 13


def test_the_diagnosis_scan_gives_the_same_groups_and_an_unreadable_log_is_a_warning(tmp_path):
    log = tmp_path / "system.log"
    log.write_text(record("2017-10-23 05:28:57,813", "m1") + record("2017-10-23 05:30:01,001", "m2"))
    groups, warnings = scan_groups([str(log)], org="acme")
    assert groups == scan([str(log)], org="acme")["groups"] and warnings == []
    assert scan_groups([str(log)], org="other") == ([], [])
    missing = tmp_path / "absent.log"
    assert scan_groups([str(missing)]) == ([], ["MP system.log not scanned: MP log %s does not exist" % missing])
