"""Run folders: one per run, latest pointing at the last, old ones pruned, nothing of the user's touched."""
import datetime as dt
import os

from ansible.module_utils.mtls.report_runs import point_latest, prune, run_name, save_run


def test_a_run_is_named_by_time_org_and_envs():
    at = dt.datetime(2026, 12, 1, 23, 30, 5, tzinfo=dt.UTC)
    assert run_name(at, "my org", ["test", "prod"]) == "20261201T233005Z-my_org-test+prod"
    assert run_name(at, "lab", []) == "20261201T233005Z-lab-all"


def test_runs_keep_their_files_latest_follows_and_old_runs_go(tmp_path):
    runs = tmp_path / "runs"
    names = ["20261201T10000%dZ-lab-test" % i for i in range(4)]
    for name in names:
        got = save_run(str(runs / name), {"diagnosis.json": "{}\n", "diagnosis.md": "# %s\n" % name}, keep=3)
        assert got["latest"] is True
    assert os.readlink(tmp_path / "latest") == os.path.join("runs", names[-1])
    assert (tmp_path / "latest" / "diagnosis.md").read_text() == "# %s\n" % names[-1]
    assert sorted(os.listdir(runs)) == names[1:]          # the oldest beyond 3 went
    (runs / "mine").mkdir()                                # not a run name: never pruned
    assert prune(str(runs), 1) == names[1:3] and sorted(os.listdir(runs)) == [names[-1], "mine"]


def test_a_latest_that_is_the_users_own_folder_is_left_alone(tmp_path):
    (tmp_path / "latest").mkdir()
    (tmp_path / "runs" / "20261201T100000Z-lab-test").mkdir(parents=True)
    assert point_latest(str(tmp_path), str(tmp_path / "runs" / "20261201T100000Z-lab-test")) is False
    assert (tmp_path / "latest").is_dir() and not (tmp_path / "latest").is_symlink()
