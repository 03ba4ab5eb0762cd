"""Run folders: each run keeps its evidence instead of the next run overwriting it (plain Python).

    <report_dir>/mtls-report.{json,md}, remediation.{json,md}     the latest, as before
    <report_dir>/runs/<UTC time>-<org>-<envs>/                    one folder per run:
        diagnosis.{json,md}                                       (diagnose.yml)
        before.{json,md}, plan.md, after.{json,md}, remediation.{json,md}   (remediate.yml)
    <report_dir>/latest -> runs/<the last run>                    a relative symlink

Only the newest ``keep`` run folders are kept; a name the tool did not make is never touched.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
import shutil

RUNS = "runs"
LATEST = "latest"
RUN_NAME = re.compile(r"^\d{8}T\d{6}Z-[A-Za-z0-9._+-]+$")


def run_name(at, org, envs) -> str:
    """'20261201T233000Z-myorg-test+prod' (characters other than letters, digits, '.', '_', '-' become '_'); at None
    is now."""
    at = at or _dt.datetime.now(_dt.UTC)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(org or "org"))
    env_part = "+".join(re.sub(r"[^A-Za-z0-9._-]", "_", str(e)) for e in (envs or [])) or "all"
    return "%s-%s-%s" % (at.strftime("%Y%m%dT%H%M%SZ"), safe, env_part)


def write_files(run_dir: str, files: dict) -> list:
    """Write name -> text into run_dir (made if needed), each atomically; returns the paths."""
    os.makedirs(run_dir, exist_ok=True)
    paths = []
    for name, text in files.items():
        path = os.path.join(run_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)   # a name may hold a folder (diagrams/<link>.svg)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        paths.append(path)
    return paths


def point_latest(report_dir: str, run_dir: str) -> bool:
    """<report_dir>/latest -> the run folder (relative), replaced atomically. A 'latest' that is not a symlink (a
    file or folder of the user's) is left alone: False."""
    link = os.path.join(report_dir, LATEST)
    if os.path.lexists(link) and not os.path.islink(link):
        return False
    target = os.path.relpath(run_dir, report_dir)
    if os.path.islink(link) and os.readlink(link) == target:
        return True
    tmp = link + ".tmp-%d" % os.getpid()
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)
    return True


def prune(runs_root: str, keep: int) -> list:
    """Delete the oldest run folders beyond `keep` (only names the tool makes); returns the names deleted."""
    if keep is None or keep <= 0 or not os.path.isdir(runs_root):
        return []
    names = sorted(n for n in os.listdir(runs_root) if RUN_NAME.match(n) and os.path.isdir(os.path.join(runs_root, n))
                   and not os.path.islink(os.path.join(runs_root, n)))
    gone = names[:-keep] if len(names) > keep else []
    for name in gone:
        shutil.rmtree(os.path.join(runs_root, name))
    return gone


def save_run(run_dir: str, files: dict, keep: int = 50) -> dict:
    """Write files into run_dir (<report_dir>/runs/<name>), point latest at it, prune old runs."""
    runs_root = os.path.dirname(os.path.abspath(run_dir))
    report_dir = os.path.dirname(runs_root)
    paths = write_files(run_dir, files)
    return {"run_dir": run_dir, "files": paths, "latest": point_latest(report_dir, run_dir),
            "pruned": prune(runs_root, keep)}
