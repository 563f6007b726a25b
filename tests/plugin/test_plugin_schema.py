"""``GetSchema`` of the running plugin, against Pulumi's package metaschema and the input spec."""

from __future__ import annotations

import importlib.util
import json
import posixpath
import re
from importlib import metadata
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import jsonschema
import pytest
from packaging.utils import canonicalize_name

from support.plugin import generated_python_name, running
from pulumi_dicom_jobs import spec

METASCHEMA = Path(__file__).with_name("pulumi-package-metaschema.json")


def metaschema() -> dict:
    """The vendored metaschema; its regexes use ECMAScript's ``(?<name>`` groups, Python's ``re``
    spells them ``(?P<name>``."""
    return json.loads(METASCHEMA.read_text().replace("(?<", "(?P<"))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[dict, str]]:
    """The running plugin's schema and ``GetPluginInfo`` version."""
    for _engine, process in running():
        yield json.loads(process.get_schema().schema), process.plugin_info().version


@pytest.fixture
def package(served: tuple[dict, str]) -> dict:
    return served[0]


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


def test_version_and_publisher_facts_are_the_distributions(served: tuple[dict, str]) -> None:
    """One source: the installed distribution's metadata (pyproject.toml)."""
    package, plugin_version = served
    facts = metadata.metadata("pulumi-dicom-jobs")
    assert package["version"] == plugin_version == facts["Version"]
    assert package["license"] == facts["License-Expression"]
    assert package["publisher"] == facts["Author"]
    assert f"Repository, {package['repository']}" in facts.get_all("Project-URL")
    assert package["displayName"] and package["keywords"]


def test_the_python_sdk_collides_with_nothing_installed_beside_the_product(package: dict) -> None:
    """The generated Python SDK's module and distribution name is neither the product's nor any
    other installed distribution's (a same-named SDK would replace or shadow it)."""
    name = generated_python_name(package)
    installed = {canonicalize_name(dist.metadata["Name"]) for dist in metadata.distributions()}
    assert canonicalize_name(name) not in installed, f"{name} is an installed distribution"
    assert importlib.util.find_spec(name) is None, f"{name} is an importable module"


def test_every_generator_gets_a_name_this_package_owns(package: dict) -> None:
    language = package["language"]
    assert not language["nodejs"]["packageName"].startswith("@pulumi/"), "Pulumi's npm scope"
    go = language["go"]
    repository = urlsplit(package["repository"])
    assert go["importBasePath"].startswith(f"{repository.netloc}{repository.path}/"), go
    assert go["modulePath"] == posixpath.dirname(go["importBasePath"]), \
        "the go.mod replace is written for modulePath (pulumi-language-go Link)"
    assert re.fullmatch(r"[a-z][a-z0-9]*", posixpath.basename(go["importBasePath"])), "a Go package name"
    assert language["csharp"]["rootNamespace"] not in ("", "Pulumi")
    assert set(language["csharp"]["namespaces"]) == {package["name"]}
