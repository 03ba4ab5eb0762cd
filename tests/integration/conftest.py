"""Integration fixtures: the local lab, brought up once per test session with scenario `all`.

`lab` starts `lab/labctl up --scenario all` in a temporary state folder on free ports (so it never clashes with a lab a
developer is running), exports MTLS_LAB_STATE so `inventory/lab/` reads that lab's manifest, yields the parsed lab.json
and brings everything down at the end. `labctl` runs further labctl commands (reset, reload-backend...) on that lab.
"""
import os

import pytest

from tests.helpers.lab import run_labctl, running_lab


@pytest.fixture(scope="session")
def lab_state(tmp_path_factory):
    return str(tmp_path_factory.mktemp("mtls-lab"))


@pytest.fixture(scope="session")
def lab(lab_state):
    """The running lab (scenario `all`): the parsed lab.json."""
    previous = os.environ.get("MTLS_LAB_STATE")
    try:
        with running_lab(lab_state, "all") as manifest:
            os.environ["MTLS_LAB_STATE"] = lab_state
            yield manifest
    finally:
        if previous is None:
            os.environ.pop("MTLS_LAB_STATE", None)
        else:
            os.environ["MTLS_LAB_STATE"] = previous


@pytest.fixture(scope="module", autouse=True)
def _lab_pristine_per_module(request):
    """Test modules share one lab; a module that changes it (converges modules on its keystores, rewrites a backend
    truststore) declares `MUTATES_LAB = True` and the lab is reset to its scenario after that module, so later modules
    see the scenario's broken links as declared, whatever order pytest runs them in."""
    yield
    if getattr(request.module, "MUTATES_LAB", False):
        request.getfixturevalue("lab")
        run_labctl(request.getfixturevalue("lab_state"), "reset", check=True)


@pytest.fixture(scope="session")
def labctl(lab, lab_state):
    """Run a labctl command against the session's lab: labctl("reset"), labctl("reload-backend", "nginx-b")."""
    def _run(*args: str, check: bool = True):
        return run_labctl(lab_state, *args, check=check)
    return _run
