#!/usr/bin/env python3
"""Build the Ansible collection (galaxy.yml) from this layout into an installable tarball.

    python scripts/build_collection.py [--out DIR]      (make collection: dist/)

The project keeps modules in ``library/`` and imports its module_utils as ``ansible.module_utils.mtls`` (the
playbooks run from a checkout, ansible.cfg points at those folders). A collection needs: modules under
``plugins/modules/``, module_utils imported as ``ansible_collections.<namespace>.<name>.plugins.module_utils.mtls``,
doc fragments and filters named by FQCN (ansible-core resolves neither through a role's collection). This script
copies the tree into a staging folder, makes exactly those rewrites, and runs ``ansible-galaxy collection build``.
Prints the tarball's path.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COPIED = ("README.md", "LICENSE", "CHANGELOG.md", "galaxy.yml", "meta", "roles", "playbooks", "docs")
PLUGIN_DIRS = {"module_utils": "module_utils", "filter": "filter", "doc_fragments": "doc_fragments"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def galaxy() -> dict:
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def filter_names() -> list[str]:
    """Every filter the project defines (the keys of each FilterModule.filters())."""
    names = []
    folder = os.path.join(ROOT, "plugins", "filter")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py") and not name.startswith("_"):
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                text = fh.read()
            body = text[text.index("def filters(self)"):]
            names += re.findall(r'"([a-z_0-9]+)"\s*:', body)
    return names


def fragment_names() -> list[str]:
    return sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "doc_fragments")) if n.endswith(".py"))


def rewrite_python(text: str, fqcn: str) -> str:
    text = re.sub(r"\bansible\.module_utils\.mtls\b", "ansible_collections.%s.plugins.module_utils.mtls" % fqcn, text)
    for frag in fragment_names():
        text = re.sub(r"(\n\s+- )%s(\.[a-z_]+)?\n" % re.escape(frag), r"\g<1>%s.%s\g<2>\n" % (fqcn, frag), text)
    return text


def rewrite_yaml(text: str, fqcn: str, filters: list[str]) -> str:
    for name in filters:
        text = re.sub(r"(\|\s*)%s\b" % re.escape(name), r"\g<1>%s.%s" % (fqcn, name), text)
    return text


def stage(dest: str) -> str:
    meta = galaxy()
    fqcn = "%s.%s" % (meta["namespace"], meta["name"])
    for item in COPIED:
        src = os.path.join(ROOT, item)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, item), ignore=IGNORED)
        elif os.path.exists(src):
            shutil.copy2(src, os.path.join(dest, item))
    plugins = os.path.join(dest, "plugins")
    shutil.copytree(os.path.join(ROOT, "library"), os.path.join(plugins, "modules"), ignore=IGNORED)
    for src_name, dest_name in PLUGIN_DIRS.items():
        shutil.copytree(os.path.join(ROOT, "plugins", src_name), os.path.join(plugins, dest_name), ignore=IGNORED)
    filters = filter_names()
    for base, _dirs, names in os.walk(dest):
        for name in names:
            path = os.path.join(base, name)
            if name.endswith(".py") and os.path.commonpath([path, plugins]) == plugins:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                new = rewrite_python(text, fqcn)
            elif name.endswith((".yml", ".yaml", ".j2")) and not path.endswith("galaxy.yml"):
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                new = rewrite_yaml(text, fqcn, filters)
            else:
                continue
            if new != text:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(new)
    return fqcn


def build(out: str) -> str:
    os.makedirs(out, exist_ok=True)
    galaxy_bin = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    if not os.path.exists(galaxy_bin):
        galaxy_bin = shutil.which("ansible-galaxy") or "ansible-galaxy"
    with tempfile.TemporaryDirectory(prefix="collection-") as tmp:
        tree = os.path.join(tmp, "collection")
        os.makedirs(tree)
        stage(tree)
        res = subprocess.run([galaxy_bin, "collection", "build", "--force", "--output-path", os.path.abspath(out),
                              tree], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise SystemExit("ansible-galaxy collection build failed:\n%s%s" % (res.stdout, res.stderr))
    meta = galaxy()
    return os.path.join(os.path.abspath(out), "%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"))
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
