"""Which verification calls to make after the fixes, following link renames (module_utils/mtls/verification.py)."""
import pytest
from ansible.module_utils.mtls.errors import MtlsError
from ansible.module_utils.mtls.verification import follow_renames, rename_chain, rename_map, verification_calls

OLD, NEW, NEWER = "proxy:test/api/1/default", "proxy:test/api/2/default", "proxy:test/api/3/default"


def test_verification_follows_the_renames_of_the_fixes():
    urls = [{"id": OLD, "basepath": "/api"}, {"id": "targetserver:test/ts", "url": "http://mp/ts"},
            {"id": "targetserver:test/broken", "basepath": "/broken"}]
    report = {"links": [{"id": NEW, "verdict": "ok"}, {"id": "targetserver:test/ts", "verdict": "ok"},
                        {"id": "targetserver:test/broken", "verdict": "ca_mismatch"}]}
    got = verification_calls(urls, report, renamed={OLD: NEW}, base_url="http://mp")
    assert got["calls"] == [{"id": OLD, "now": NEW, "verdict": "ok", "url": "http://mp/api"},
                            {"id": "targetserver:test/ts", "now": "targetserver:test/ts", "verdict": "ok",
                             "url": "http://mp/ts"}]
    assert [e["id"] for e in got["not_ok"]] == ["targetserver:test/broken"] and got["unknown"] == []
    # without the mapping the proxy link is in the diagnosis under neither id: reported, not skipped silently
    bare = verification_calls(urls, report, base_url="http://mp")
    assert [e["id"] for e in bare["unknown"]] == [OLD] and OLD not in [e["id"] for e in bare["calls"]]


def test_renames_from_the_remediation_report_chain_with_this_run():
    rows = [{"id": OLD, "now": NEW}, {"id": "targetserver:test/ts", "now": "targetserver:test/ts"}]
    mapping = rename_map({NEW: NEWER, "x": ""}, rows)
    assert mapping == {OLD: NEW, NEW: NEWER}
    assert rename_chain(OLD, mapping) == [OLD, NEW, NEWER]
    assert follow_renames(OLD, mapping) == NEWER
    report = {"links": [{"id": NEWER, "verdict": "ok"}]}
    assert verification_calls([{"id": OLD, "url": "u"}], report, {NEW: NEWER}, rows)["calls"][0]["now"] == NEWER
    # a stale rename (the diagnosis has the old id again, e.g. after a lab reset) does not hide the link
    again = {"links": [{"id": OLD, "verdict": "client_auth_disabled"}]}
    assert verification_calls([{"id": OLD, "url": "u"}], again, {}, rows)["not_ok"][0]["now"] == OLD
    # a cycle stops
    assert rename_chain("a", {"a": "b", "b": "a"}) == ["a", "b"]
    with pytest.raises(MtlsError, match="neither url nor basepath"):
        verification_calls([{"id": OLD}], report)



def test_renames_survive_any_number_of_runs():
    """Run 1 fixes a proxy by a new revision (1 -> 2); runs 2, 3, ... have nothing to rename and see only revision 2.
    Each run writes remediation.json with the renames it followed (verification_calls()["renames"]); the next run
    reads them back. Revision 1's rename must never be lost (it was, from run 3 on)."""
    urls = [{"id": OLD, "url": "http://mp/api"}]
    after = {"links": [{"id": NEW, "verdict": "ok"}]}
    earlier = None
    for run in range(1, 6):
        renamed = {OLD: NEW} if run == 1 else {}
        rows = (earlier or {}).get("links")
        got = verification_calls(urls, after, renamed, rows, earlier=(earlier or {}).get("renames"))
        assert [c["now"] for c in got["calls"]] == [NEW] and got["unknown"] == [], run
        assert got["renames"] == {OLD: NEW}, run
        # this run's remediation.json: rows of this run's diagnosis (the link is at rev 2, renamed to itself)
        earlier = {"links": [{"id": NEW, "now": NEW}], "renames": got["renames"]}


def test_a_link_renamed_by_one_fix_follows_a_later_fix_of_the_same_proxy():
    """Two fixes of one run to one proxy (a keystore repointed in target endpoint a, client auth turned on in b) each
    deploy a revision: a's rename (rev 1 -> 2) lives on in rev 3, the one deployed."""
    report = {"links": [{"id": "proxy:test/api/3/a", "verdict": "ok"}, {"id": "proxy:test/api/3/b", "verdict": "ok"}]}
    renamed = {"proxy:test/api/1/a": "proxy:test/api/2/a", "proxy:test/api/1/b": "proxy:test/api/3/b"}
    got = verification_calls([{"id": "proxy:test/api/1/a", "url": "u"}, {"id": "proxy:test/api/1/b", "url": "v"}],
                             report, renamed)
    assert [(c["id"], c["now"]) for c in got["calls"]] == [("proxy:test/api/1/a", "proxy:test/api/3/a"),
                                                          ("proxy:test/api/1/b", "proxy:test/api/3/b")]
