"""The second half of the single molecule scenarios: converge, idempotence, verify (the first half:
test_remediate_molecule_scenarios.py)."""
import pytest

from tests.helpers.molecule import SINGLE, SINGLE_FIRST_HALF, SINGLE_SECOND_HALF, run_scenario

pytestmark = [pytest.mark.molecule, pytest.mark.integration]


def test_the_two_halves_hold_every_single_scenario_once():
    assert sorted(SINGLE_FIRST_HALF + SINGLE_SECOND_HALF) == sorted(SINGLE) and len(SINGLE) >= 5


@pytest.mark.parametrize("scenario", SINGLE_SECOND_HALF)
def test_molecule_scenario(scenario, tmp_path):
    run_scenario(scenario, tmp_path)
