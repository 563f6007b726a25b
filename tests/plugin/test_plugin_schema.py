"""``GetSchema`` of the running plugin, against Pulumi's package metaschema and the input spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest

from support.plugin import PluginProcess, running
from pulumi.runtime.proto import provider_pb2
from pulumi_dicom_jobs import spec

METASCHEMA = Path(__file__).with_name("pulumi-package-metaschema.json")


def metaschema() -> dict:
    """The vendored metaschema; its regexes use ECMAScript's ``(?<name>`` groups, Python's ``re``
    spells them ``(?P<name>``."""
    return json.loads(METASCHEMA.read_text().replace("(?<", "(?P<"))


@pytest.fixture(scope="module")
def package() -> Iterator[dict]:
    for _engine, process in running():
        yield json.loads(process.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0)).schema)


def test_schema_is_valid_against_the_metaschema(package: dict) -> None:
    errors = sorted(jsonschema.Draft202012Validator(metaschema()).iter_errors(package), key=str)
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors[:10]]


def test_resources_properties_and_types_follow_the_spec(package: dict) -> None:
    assert package["name"] == "dicom-jobs"
    for job in spec.JOBS:
        resource = package["resources"][f"dicom-jobs:index:{job.name}"]
        assert set(resource["inputProperties"]) == {item.camel for item in job.inputs}
        assert set(resource["requiredInputs"]) == {item.camel for item in job.inputs if item.required}
        assert {o.camel for o in job.outputs} <= set(resource["properties"])
        for item in job.inputs:
            prop = resource["inputProperties"][item.camel]
            assert prop["description"]
            assert prop.get("replaceOnChanges", False) == item.replaces, item.camel
            if item.type == "object":
                assert prop["$ref"] == f"#/types/dicom-jobs:index:{item.type_name}"
    types = package["types"]
    for path, camel in [("GcsSource", "uri"), ("GcsDestination", "uriPrefix"), ("GcsDestination", "mimeType"),
                        ("BigQueryDestination", "tableUri"), ("BigQueryDestination", "writeDisposition"),
                        ("BigQueryDestination", "force"), ("BigQueryDestination", "includeSourceStore"),
                        ("BigQueryDestination", "schema"), ("FilterConfig", "resourcePathsGcsUri"),
                        ("BlobStorageSettings", "blobStorageClass")]:
        assert types[f"dicom-jobs:index:{path}"]["properties"][camel]["description"]
    assert {v["value"] for v in types["dicom-jobs:index:WriteDisposition"]["enum"]} >= {"WRITE_EMPTY",
                                                                                        "WRITE_TRUNCATE"}
    assert types["dicom-jobs:index:ApiVersion"]["type"] == "string"
    assert set(package["config"]["variables"]) == {"apiEndpoint", "impersonateServiceAccount",
                                                   "cancelOnInterrupt"}


def test_every_property_has_a_description(package: dict) -> None:
    def props(owner: dict) -> dict:
        return {**owner.get("properties", {}), **owner.get("inputProperties", {})}
    owners = [*package["resources"].values(), *(t for t in package["types"].values() if t["type"] == "object"),
              package["provider"]]
    missing = [name for owner in owners for name, prop in props(owner).items() if not prop.get("description")]
    assert not missing
