"""The remediation report (remediate.yml's last step): remediation.json and remediation.md in the report folder and in
this run's folder, the plan beside them (plan.md), and after.{json,md} taken from before.* when the run changed
nothing. Plain Python: the texts are made once and written in one go (module ``mtls_remediation_report``), instead of a
task per file and folder."""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil

from ansible.module_utils.mtls.remediation import plan_markdown
from ansible.module_utils.mtls.report import write_if_changed

# the keys of remediation.json, each with its value when the run has none
REPORT_KEYS = {"links": [], "counts": {}, "renames": {}, "restart_required": [], "restart_pending": {},
               "mp_restarted": [], "changes": [], "failure": None}

_TEXT = {
    "en": {"title": "# Two-way TLS remediation: before and after",
           "head": "| link | before | action | status | after | missing input |",
           "changes": "## What changed, object by object", "changes_head": "| object | change | rollback |",
           "nothing": "Nothing was changed by this run."},
    "ja": {"title": "# 双方向 TLS の修復: 修復前と修復後",
           "head": "| リンク | 修復前 | 対処 | 状態 | 修復後 | 不足している入力 |",
           "changes": "## 変更内容 (オブジェクトごと) と切り戻し手順",
           "changes_head": "| オブジェクト | 変更 | 切り戻し |",
           "nothing": "この実行では何も変更されていません。"},
}


def remediation_data(report: dict) -> dict:
    """remediation.json's content: every key of REPORT_KEYS, the report's value where it has one."""
    report = report or {}
    return {k: (report.get(k) if report.get(k) is not None else default) for k, default in REPORT_KEYS.items()}


def _pipe(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|")


def remediation_markdown(data: dict, lang: str = "en") -> str:
    """remediation.md: the links before and after, the counts, what changed object by object with its rollback, the
    keystores changed in place and the MPs restarted."""
    t = _TEXT["ja" if lang == "ja" else "en"]
    lines = [t["title"], "", t["head"], "|---|---|---|---|---|---|"]
    for r in data.get("links") or []:
        lines.append("| `%s` | %s | %s | %s | %s | %s |" % (r.get("id"), r.get("before"), r.get("action"),
                                                          r.get("status"), r.get("after"), r.get("missing") or ""))
    lines.append("")
    lines += ["- %s: %s" % (k, v) for k, v in sorted((data.get("counts") or {}).items())]
    changes = data.get("changes") or []
    if changes:
        lines += ["", t["changes"], "", t["changes_head"], "|---|---|---|"]
        lines += ["| %s | %s | %s |" % (c.get("object"), _pipe(c.get("change")), _pipe(c.get("rollback")))
                  for c in changes]
    else:
        lines += ["", t["nothing"]]
    if data.get("restart_required"):
        lines += ["", "Changed in place, used by the Message Processors only after they restart: %s."
                  % ", ".join(data["restart_required"])]
    if data.get("mp_restarted"):
        lines += ["", "Message Processors restarted one at a time (mtls_mp_restart), traffic proven after each: %s."
                  % ", ".join(data["mp_restarted"])]
    return "\n".join(lines) + "\n"


def remediation_files(report: dict, report_dir: str, run_dir: str | None = None, lang: str = "en", plan=None,
                      org=None, envs=None, at=None) -> list:
    """The (path, text, kind) of every file to write: remediation.json / .md in the report folder and in run_dir,
    plan.md in run_dir (when a plan is given)."""
    data = remediation_data(report)
    texts = [("remediation.json", json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "json"),
             ("remediation.md", remediation_markdown(data, lang), "markdown")]
    files = [(os.path.join(report_dir, name), text, kind) for name, text, kind in texts]
    if run_dir:
        files += [(os.path.join(run_dir, name), text, kind) for name, text, kind in texts]
        if plan is not None:
            stamp = (at or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
            files.append((os.path.join(run_dir, "plan.md"), plan_markdown(plan, org, envs, stamp), "markdown"))
    return files


def write_remediation_report(report: dict, report_dir: str, run_dir: str | None = None, lang: str = "en",
                             plan=None, org=None, envs=None, after_is_before: bool = False,
                             check_mode: bool = False) -> dict:
    """Write the remediation report's files (nothing in check mode); with after_is_before, run_dir's before.json /
    before.md are kept as after.json / after.md (a run that changed nothing: its diagnosis after the fixes is the one
    before them). Returns {"paths": [...], "changed": bool}."""
    files = remediation_files(report, report_dir, run_dir, lang, plan, org, envs)
    changed = write_if_changed(files, check_mode)
    paths = [p for p, _, _ in files]
    if after_is_before and run_dir:
        for ext in ("json", "md"):
            src, dest = os.path.join(run_dir, "before." + ext), os.path.join(run_dir, "after." + ext)
            if not os.path.exists(src):
                continue
            paths.append(dest)
            if not check_mode:
                tmp = dest + ".tmp"
                shutil.copyfile(src, tmp)
                os.replace(tmp, dest)
    return {"paths": paths, "changed": changed}
