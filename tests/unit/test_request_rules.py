"""One check of a request body's types, required properties, enums and ranges: the schema. What
it adds to the generated schema (REQUIRED, an empty string as missing) and what the managers
still do with a checked body (defaults, the spec's spelling of an enum)."""

from __future__ import annotations

import pytest

from localbatch import errors, schema, validate

POOL = {"id": "p", "vmSize": "standard_a1_v2", "virtualMachineConfiguration": {
    "imageReference": {"publisher": "canonical"}, "nodeAgentSKUId": "batch.node.ubuntu 24.04"}}


def test_every_added_requirement_names_a_property_of_the_schema() -> None:
    for definition, (names, source) in schema.REQUIRED.items():
        assert set(names) <= set(schema.SPEC["$defs"][definition]["properties"]), definition
        assert set(names) <= set(schema.SPEC["$defs"][definition]["required"])
        assert source


@pytest.mark.parametrize(("body", "name"), [
    ({"vmSize": "x", "id": "p"}, "virtualMachineConfiguration"),
    ({**POOL, "id": ""}, "id"),
    ({**POOL, "virtualMachineConfiguration": {"imageReference": {}, "nodeAgentSKUId": ""}},
     "virtualMachineConfiguration.nodeAgentSKUId"),
])
def test_a_required_property_absent_or_empty_is_missing(body: dict, name: str) -> None:
    error = schema.refusal("BatchPoolCreateOptions", body)
    assert isinstance(error, errors.MissingRequiredProperty)
    assert error.values == {"PropertyName": name}


def test_an_output_file_needs_a_container() -> None:
    task = {"id": "t", "commandLine": "/bin/true", "outputFiles": [{
        "filePattern": "*.txt", "destination": {}, "uploadOptions": {"uploadCondition": "x"}}]}
    error = schema.refusal("BatchTaskCreateOptions", task)
    assert error.values == {"PropertyName": "outputFiles[0].destination.container"}


def test_a_stored_document_is_not_refused_for_what_it_leaves_out() -> None:
    assert schema.stored_problem("pool", {"id": "p", "vmSize": ""}) is None


def test_a_checked_enum_takes_the_specs_spelling_or_the_default() -> None:
    assert validate.enum("TaskCompletion", "requeue") == "taskcompletion"
    assert validate.enum(None, "requeue") == "requeue"


def test_a_url_refusal_shows_no_signature() -> None:
    with pytest.raises(errors.InvalidPropertyValue) as caught:
        validate.url("sv=2025-01-05&sig=SECRET", "httpUrl")
    assert "SECRET" not in str(caught.value.values)


@pytest.mark.parametrize("value", ["dockerCompatible", "DockerCompatible", "dockercompatible"])
def test_an_enum_in_camel_case_is_taken_in_any_case(value: str) -> None:
    """The spec spells some values in camelCase (ContainerType): any case is the same value."""
    vm = {**POOL["virtualMachineConfiguration"], "containerConfiguration": {"type": value}}
    assert schema.refusal("BatchPoolCreateOptions", {**POOL, "virtualMachineConfiguration": vm}) \
        is None
    vm["containerConfiguration"]["type"] = "podman"
    error = schema.refusal("BatchPoolCreateOptions", {**POOL, "virtualMachineConfiguration": vm})
    assert error.values["PropertyName"] == "virtualMachineConfiguration.containerConfiguration.type"
