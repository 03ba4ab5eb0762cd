"""The project's copy of the Apigee X facts (x-contract.json) agrees with the published apigee-x.yaml where it is
present, and holds what the X-shape checks need (tests/integration/test_x_platform.py uses it)."""
import pytest

from tests.contract import x_contract


def test_the_copy_names_the_resources_the_tool_reads_on_x():
    schemas = x_contract.load()
    assert sorted(schemas) == x_contract.SCHEMAS
    assert schemas["GoogleCloudApigeeV1Keystore"] == ["aliases", "name"]
    assert schemas["GoogleCloudApigeeV1Alias"] == ["alias", "certsInfo", "type"]   # no keyName on X
    assert "deployments" in schemas["GoogleCloudApigeeV1ListDeploymentsResponse"]
    assert {"enabled", "clientAuthEnabled", "keyStore", "keyAlias"} <= set(schemas["GoogleCloudApigeeV1TlsInfo"])


def test_the_copy_agrees_with_the_published_spec():
    path = x_contract.spec_path()
    if path is None:
        pytest.skip("apigee-x.yaml is not here (APIGEE_X_OPENAPI); the project's copy is used as it is")
    copy = x_contract.load()
    assert x_contract.facts(path, sorted(copy)) == copy


def test_the_x_lab_takes_exactly_the_fields_the_spec_gives_each_body():
    """The X lab refuses a field of a request body its message lacks ("Unknown name", as Apigee X does): the fields it
    takes are the spec's, no more (a field the lab knew and X does not would let a wrong body pass) and no fewer."""
    from apigee_lab.mgmt import x_shapes

    schemas = x_contract.load()
    for message, schema in (("target_server", "GoogleCloudApigeeV1TargetServer"),
                            ("tls_info", "GoogleCloudApigeeV1TlsInfo"),
                            ("reference", "GoogleCloudApigeeV1Reference"),
                            ("keystore", "GoogleCloudApigeeV1Keystore")):
        assert sorted(x_shapes.BODIES[message]) == schemas[schema], message
    # TlsInfo's booleans are booleans there: Edge's "true" is refused, a JSON true taken, a port as digits taken
    assert "TYPE_BOOL" in x_shapes.body_error("tls_info", {"enabled": "true"})
    assert x_shapes.body_error("tls_info", {"enabled": True, "clientAuthEnabled": False}) is None
    assert x_shapes.body_error("target_server", {"port": "8443", "sSLInfo": {"enabled": True}}) is None
    assert 'Unknown name "keyName"' in x_shapes.body_error("target_server", {"sSLInfo": {"keyName": "k"}})
