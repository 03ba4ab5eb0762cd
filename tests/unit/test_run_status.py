"""The status a run writes for pipelines (run_status.py): ok / broken and the exit code, from the report's rows."""
from ansible.module_utils.mtls.run_status import EXIT_BROKEN, EXIT_OK, diagnosis_status, remediation_status


def test_a_diagnosis_with_a_link_not_ok_is_broken_with_exit_10_and_names_it(tmp_path):
    report = {"links": [{"id": "targetserver:test/a", "verdict": "ok"},
                        {"id": "targetserver:test/b", "verdict": "ca_mismatch"},
                        {"id": "proxy:test/p/1/default", "verdict": "mp_restart_pending"}]}
    status = diagnosis_status(report, str(tmp_path / "x" / ".." / "mtls-report.json"))
    assert status["status"] == "broken" and status["exit_code"] == EXIT_BROKEN == 10
    assert status["links"] == 3 and status["ok"] == 1
    assert status["not_ok"] == [{"id": "targetserver:test/b", "verdict": "ca_mismatch"},
                                {"id": "proxy:test/p/1/default", "verdict": "mp_restart_pending"}]
    assert status["report"] == str(tmp_path / "mtls-report.json")   # normalised


def test_every_link_ok_is_exit_0_and_check_mode_names_no_report():
    status = diagnosis_status({"links": [{"id": "a", "verdict": "ok"}]}, "reports/mtls-report.json", check_mode=True)
    assert (status["status"], status["exit_code"], status["report"], status["check_mode"]) == ("ok", EXIT_OK, None,
                                                                                                True)


def test_an_empty_diagnosis_is_ok_with_no_links():
    assert diagnosis_status({})["links"] == 0 and diagnosis_status({})["exit_code"] == 0


def test_a_remediation_is_judged_after_the_fixes_and_by_the_ids_links_have_now():
    rows = [{"id": "proxy:test/p/1/default", "before": "chain_incomplete", "after": "ok",
             "now": "proxy:test/p/2/default"},
            {"id": "targetserver:test/b", "before": "ca_mismatch", "after": "ca_mismatch", "status": "manual"},
            {"id": "targetserver:test/c", "before": "ok", "after": "-"}]
    status = remediation_status(rows, "r/remediation.json")
    assert status["playbook"] == "remediate" and status["exit_code"] == EXIT_BROKEN
    assert status["not_ok"] == [{"id": "targetserver:test/b", "verdict": "ca_mismatch"}]
    assert status["ok"] == 2
    fixed = remediation_status(rows[:1] + rows[2:])
    assert fixed["status"] == "ok" and fixed["exit_code"] == 0
