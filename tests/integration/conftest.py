"""Integration fixtures: the local lab, brought up once per test session with scenario `all`.

`lab` starts `lab/labctl up --scenario all` in a temporary state folder on free ports (so it never clashes with a lab a
developer is running), exports MTLS_LAB_STATE so `inventory/lab/` reads that lab's manifest, yields the parsed lab.json
and brings everything down at the end. `labctl` runs further labctl commands (reset, reload-backend...) on that lab.

`x_lab` is the same lab with its management API as Apigee X (`--platform x`), brought up on first use. `any_lab`
is either, as a module-scoped parameter (`[edge]` / `[x]`): a test that takes it runs once against each platform, with
MTLS_LAB_STATE pointing at that lab for the test's own playbook runs.
"""
import os

import pytest

from tests.helpers.lab import run_labctl, running_lab

_STARTED = {}   # platform -> state folder of the labs this session brought up (reset after a module that mutates)


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
            _STARTED["edge"] = lab_state
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
        for state in _STARTED.values():   # the labs this worker brought up (the module's test used them)
            run_labctl(state, "reset", check=True)


@pytest.fixture(scope="session")
def x_lab(tmp_path_factory):
    """The lab (scenario `all`) with its management API as Apigee X: the parsed lab.json."""
    state = str(tmp_path_factory.mktemp("mtls-x-lab"))
    with running_lab(state, "all", platform="x") as manifest:
        _STARTED["x"] = state
        yield manifest
    _STARTED.pop("x", None)


@pytest.fixture(scope="module", params=["edge", "x"])
def any_lab(request):
    """The Edge lab, then the X lab: a test that takes this runs against both platforms."""
    return request.getfixturevalue("lab" if request.param == "edge" else "x_lab")


@pytest.fixture(autouse=True)
def _any_lab_inventory(request, monkeypatch):
    """A test on `any_lab` that runs a playbook through inventory/lab reaches that lab (MTLS_LAB_STATE)."""
    if "any_lab" in request.fixturenames:
        monkeypatch.setenv("MTLS_LAB_STATE", request.getfixturevalue("any_lab")["state"])


@pytest.fixture(scope="session")
def labctl(lab, lab_state):
    """Run a labctl command against the session's lab: labctl("reset"), labctl("reload-backend", "nginx-b")."""
    def _run(*args: str, check: bool = True):
        return run_labctl(lab_state, *args, check=check)
    return _run
