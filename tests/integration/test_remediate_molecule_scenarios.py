"""Each single molecule scenario (molecule/<name>/, one lab scenario each): converge, idempotence, verify."""
import pytest

from tests.helpers.molecule import SCENARIOS, run_scenario

pytestmark = [pytest.mark.molecule, pytest.mark.integration]


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s != "all"])
def test_molecule_scenario(scenario, tmp_path):
    run_scenario(scenario, tmp_path)
