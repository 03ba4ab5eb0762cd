"""Molecule scenario `default` (`molecule test`: the lab's `all` scenario, every lab scenario at once):
remediate.yml three times in a row, changed=0 after the first,
then the calls through the lab's Message Processor. The single scenarios: test_remediate_molecule_scenarios.py."""
import pytest

from tests.helpers.molecule import SCENARIOS, run_scenario

pytestmark = [pytest.mark.molecule, pytest.mark.integration]


def test_every_scenario_is_declared():
    assert "default" in SCENARIOS and len(SCENARIOS) >= 2


def test_molecule_scenario_default(tmp_path):
    out = run_scenario("default", tmp_path)
    # three consecutive runs of remediate.yml: converge, then two idempotence passes (the third run reads what a
    # run that changed nothing wrote)
    assert out.count("idempotence: Executed: Successful") == 2, out[-6000:]
    assert "syntax: Executed: Successful" in out
    assert "CRITICAL" not in out, [line for line in out.splitlines() if "CRITICAL" in line]
