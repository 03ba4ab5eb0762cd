"""Shared pytest set-up: make `ansible.module_utils.mtls` importable exactly as AnsiballZ does on a host."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for extra in (ROOT, os.path.join(ROOT, "lab")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

import plugins.filter._path  # noqa: E402,F401  (the one place that extends ansible.module_utils.__path__)

# The longest files first, so that the two workers end together: `make test` runs `-n 2 --dist loadfile` (each file
# on one worker, sharing the lab its module brings up), and xdist hands out files in collection order.
# (`--dist loadgroup` is not used: with this pytest, the group xdist appends to a node id is lost, and the tests of one
# file then spread over both workers.)
SLOW_FIRST = ("tests/integration/test_remediate_molecule_scenarios.py",
              "tests/integration/test_remediate_molecule.py",
              "tests/integration/test_remediate_molecule_x.py",
              "tests/integration/test_remediate_secrets.py",
              "tests/integration/test_remediate_molecule_more_scenarios.py",
              "tests/integration/test_secrets.py",
              # the files that run against the Edge and the X lab (any_lab): twice as long as they were
              "tests/integration/test_diagnose.py",
              "tests/integration/test_modules_apigee.py",
              "tests/integration/test_support_bundle.py",
              "tests/integration/test_pipeline_exit_codes.py")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        for i, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return i
        return len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within a file is kept
