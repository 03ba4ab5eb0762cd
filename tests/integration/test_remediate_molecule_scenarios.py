"""The first half of the single molecule scenarios (molecule/<name>/, one lab scenario each): converge, idempotence,
verify. The second half: test_remediate_molecule_more_scenarios.py."""
import pytest

from tests.helpers.molecule import SINGLE_FIRST_HALF, run_scenario

pytestmark = [pytest.mark.molecule, pytest.mark.integration]


@pytest.mark.parametrize("scenario", SINGLE_FIRST_HALF)
def test_molecule_scenario(scenario, tmp_path):
    run_scenario(scenario, tmp_path)
