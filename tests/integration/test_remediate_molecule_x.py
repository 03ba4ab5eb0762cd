"""Molecule scenario `x` (`molecule test -s x`): the lab in its Apigee X / hybrid mode with every lab scenario at once
(apigee-x.yaml's shapes, JSON booleans only in a target server's sSLInfo, deploy without a body, alias updates that
must say ignoreExpiryValidation, a service account key exchanged at the lab's stand-in for Google's token endpoint):
remediate.yml, again with changed=0, then the calls through the lab's Message Processor."""
import json
import os

import pytest
import yaml

from tests.helpers.molecule import ROOT, SCENARIOS, run_scenario

pytestmark = [pytest.mark.molecule, pytest.mark.integration]


def test_the_x_scenario_runs_the_lab_as_apigee_x_with_every_scenario():
    assert "x" in SCENARIOS
    with open(os.path.join(ROOT, "molecule", "x", "molecule.yml"), encoding="utf-8") as fh:
        env = yaml.safe_load(fh)["provisioner"]["env"]
    assert env["MTLS_LAB_PLATFORM"] == "x" and env["MTLS_LAB_SCENARIO"] == "all"


def test_molecule_scenario_x(tmp_path):
    out = run_scenario("x", tmp_path)
    # the lab that was remediated answered as Apigee X: its manifest says so, and it holds the service account key
    with open(tmp_path / "lab" / "lab.json", encoding="utf-8") as fh:
        manifest = json.load(fh)
    assert manifest["platform"] == "x" and os.path.exists(manifest["service_account_file"])
    assert "idempotence: Executed: Successful" in out
