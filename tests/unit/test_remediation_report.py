"""The remediation report's files (remediation_report.py, module mtls_remediation_report): what remediation.json and
remediation.md say, where each goes, the after copy of a run that changed nothing, and check mode."""
import json
import os

from ansible.module_utils.mtls.remediation_report import (
    REPORT_KEYS,
    remediation_data,
    remediation_markdown,
    write_remediation_report,
)

ROWS = [{"id": "targetserver:test/ts-a", "before": "chain_incomplete", "action": "upload_chain", "status": "fix",
         "after": "ok", "missing": None},
        {"id": "proxy:test/api/1/default", "before": "ca_mismatch", "action": "trust_issuer", "status": "manual",
         "after": "ca_mismatch", "missing": "backend host for nginx-b:443"}]
CHANGES = [{"object": "keystore test/ks-a2", "change": "created | alias mp", "rollback": "repoint ref | delete"}]
PLAN = {"links": [{"id": "targetserver:test/ts-a", "status": "fix", "verdict": "chain_incomplete",
                   "action": "upload_chain", "detail": "alias mp: the complete chain"}],
        "counts": {"fix": 1, "manual": 0, "none": 0}}


def test_every_key_is_in_the_json_even_when_the_run_had_none():
    data = remediation_data({"links": ROWS, "failure": None, "changes": None})
    assert set(data) == set(REPORT_KEYS)
    assert data["links"] == ROWS and data["changes"] == [] and data["failure"] is None and data["renames"] == {}


def test_markdown_rows_counts_changes_with_pipes_escaped_and_restarts():
    md = remediation_markdown(remediation_data({"links": ROWS, "counts": {"fix": 1, "manual": 1},
                                                "changes": CHANGES, "restart_required": ["test/ks-a"],
                                                "mp_restarted": ["mp1", "mp2"]}))
    assert "| `targetserver:test/ts-a` | chain_incomplete | upload_chain | fix | ok |  |" in md
    assert "| `proxy:test/api/1/default` | ca_mismatch | trust_issuer | manual | ca_mismatch | backend host" in md
    assert "- fix: 1\n- manual: 1" in md
    assert "## What changed, object by object" in md
    assert "| keystore test/ks-a2 | created \\| alias mp | repoint ref \\| delete |" in md
    assert "Nothing was changed" not in md
    assert "only after they restart: test/ks-a." in md
    assert "traffic proven after each: mp1, mp2." in md


def test_markdown_of_a_run_that_changed_nothing_in_japanese():
    md = remediation_markdown(remediation_data({"links": ROWS[:1]}), "ja")
    assert md.startswith("# 双方向 TLS の修復: 修復前と修復後")
    assert "この実行では何も変更されていません。" in md and "変更内容" not in md


def test_files_go_to_the_report_folder_and_the_run_folder_with_the_plan(tmp_path):
    report_dir, run_dir = tmp_path / "reports", tmp_path / "reports" / "runs" / "r1"
    out = write_remediation_report({"links": ROWS, "counts": PLAN["counts"]}, str(report_dir), str(run_dir),
                                   plan=PLAN, org="lab", envs=["test"])
    assert out["changed"] is True
    for folder in (report_dir, run_dir):
        assert json.loads((folder / "remediation.json").read_text())["links"] == ROWS
        assert (folder / "remediation.md").read_text().startswith("# Two-way TLS remediation")
    plan_md = (run_dir / "plan.md").read_text()
    assert plan_md.startswith("# Remediation plan for lab test") and "`targetserver:test/ts-a`" in plan_md
    assert not (report_dir / "plan.md").exists()
    # the same report again: nothing differs (plan.md's "Planned at" stamp aside)
    again = write_remediation_report({"links": ROWS, "counts": PLAN["counts"]}, str(report_dir), str(run_dir))
    assert again["changed"] is False


def test_a_run_that_changed_nothing_keeps_before_as_after(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "before.json").write_text('{"links": []}\n')
    (run_dir / "before.md").write_text("# before\n")
    out = write_remediation_report({"links": []}, str(tmp_path), str(run_dir), after_is_before=True)
    assert (run_dir / "after.json").read_text() == '{"links": []}\n'
    assert (run_dir / "after.md").read_text() == "# before\n"
    assert str(run_dir / "after.json") in out["paths"]
    # without the flag (a run that changed something diagnoses again and writes after.* itself), no copy
    other = tmp_path / "other"
    other.mkdir()
    (other / "before.json").write_text("{}\n")
    write_remediation_report({"links": []}, str(tmp_path), str(other))
    assert not (other / "after.json").exists()


def test_check_mode_writes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "before.json").write_text("{}\n")
    out = write_remediation_report({"links": ROWS}, str(tmp_path / "reports"), str(run_dir), plan=PLAN,
                                   after_is_before=True, check_mode=True)
    assert out["changed"] is True
    assert not os.path.exists(tmp_path / "reports")
    assert sorted(os.listdir(run_dir)) == ["before.json"]
