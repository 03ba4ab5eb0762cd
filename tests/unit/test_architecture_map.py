"""docs/architecture.md maps every file of the project's code: a new file without its row fails here."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _files(folder, suffix=".py"):
    base = os.path.join(ROOT, folder)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if name.endswith(suffix):
                yield os.path.relpath(os.path.join(dirpath, name), base)


def _mapped():
    text = open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8").read()
    return set(re.findall(r"`([^`\s]+)`", text))


def test_every_module_utils_lab_filter_and_bench_file_has_its_row():
    names = _mapped()
    missing = []
    for folder, prefix in (("plugins/module_utils/mtls", ""), ("lab", ""), ("plugins/filter", "plugins/filter/"),
                           ("bench", "")):
        for rel in _files(folder):
            if rel.endswith("__main__.py"):
                continue
            if rel.endswith("__init__.py") and folder == "plugins/module_utils/mtls" and "/" in rel:
                continue
            if (prefix + rel) not in names and rel not in names:
                missing.append(os.path.join(folder, rel))
    for name in os.listdir(os.path.join(ROOT, "lab", "java")):
        if name.endswith(".java") and "java/" + name not in names:
            missing.append("lab/java/" + name)
    assert not missing, "docs/architecture.md has no row for: %s" % ", ".join(sorted(missing))


def test_every_module_and_role_is_named():
    text = open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8").read()
    missing = [r for r in os.listdir(os.path.join(ROOT, "roles")) if "`%s`" % r not in text]
    assert not missing, "docs/architecture.md names no role: %s" % ", ".join(missing)
