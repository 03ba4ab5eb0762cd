"""Shared pytest set-up: make `ansible.module_utils.mtls` importable exactly as AnsiballZ does on a host."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for extra in (ROOT, os.path.join(ROOT, "lab")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

import plugins.filter._path  # noqa: E402,F401  (the one place that extends ansible.module_utils.__path__)

# The longest tests first, so that two workers end together (xdist hands out groups in collection order).
SLOW_FIRST = ("tests/integration/test_remediate_molecule.py::test_molecule_scenario[all]",
              "tests/integration/test_remediate_molecule.py", "tests/integration/test_remediate_secrets.py",
              "tests/integration/test_secrets.py")


def pytest_collection_modifyitems(config, items):
    """`make test` runs `-n 2 --dist loadgroup`: the tests of one file stay on one worker (they share a lab brought up
    per module), except the molecule scenarios, each independent and long, which are groups of their own."""
    for item in items:
        path = item.nodeid.split("::")[0]
        group = item.nodeid if path.endswith("test_remediate_molecule.py") else path
        item.add_marker(pytest.mark.xdist_group(group))

    def rank(item):
        for i, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return i
        return len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within a file is kept
