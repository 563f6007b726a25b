"""``examples/yaml-import`` against the plugin's schema (the program itself is not run here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pulumi_dicom_jobs.plugin import package_schema

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "yaml-import"
_PRIMITIVES = {"string": str, "boolean": bool, "integer": int, "number": (int, float)}


def _check(value, prop: dict, package: dict, where: str) -> list[str]:
    """Problems of one YAML value against a schema property (``${...}`` values are not judged)."""
    if isinstance(value, str) and re.fullmatch(r"\$\{[^}]+\}", value):
        return []
    ref = prop.get("$ref", "")
    if ref.startswith("#/types/"):
        typ = package["types"][ref[len("#/types/"):]]
        if typ["type"] != "object":
            allowed = [v["value"] for v in typ["enum"]]
            return [] if value in allowed else [f"{where}: {value!r} is not one of {allowed}"]
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        problems = [f"{where}.{k}: unknown property" for k in value if k not in typ["properties"]]
        problems += [f"{where}.{k}: required" for k in typ.get("required", []) if k not in value]
        for key, item in value.items():
            if key in typ["properties"]:
                problems += _check(item, typ["properties"][key], package, f"{where}.{key}")
        return problems
    expected = _PRIMITIVES.get(prop.get("type", ""))
    if expected is not None and not isinstance(value, expected):
        return [f"{where}: expected {prop['type']}, got {value!r}"]
    return []


def test_the_yaml_example_matches_the_schema() -> None:
    program = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    package = package_schema.package_schema()
    assert program["runtime"] == "yaml"
    jobs = {name: r for name, r in program["resources"].items() if r["type"].startswith("dicom-jobs:")}
    assert jobs, "the example uses no dicom-jobs resource"
    problems = []
    for name, resource in jobs.items():
        _pkg, _, kind = resource["type"].partition(":")
        spec_ = package["resources"][package_schema.token(kind)]
        props = resource.get("properties", {})
        problems += [f"{name}.{k}: unknown property" for k in props if k not in spec_["inputProperties"]]
        problems += [f"{name}.{k}: required" for k in spec_["requiredInputs"] if k not in props]
        for key, value in props.items():
            if key in spec_["inputProperties"]:
                problems += _check(value, spec_["inputProperties"][key], package, f"{name}.{key}")
    assert not problems


def test_the_outputs_it_reads_exist() -> None:
    text = (EXAMPLE / "Pulumi.yaml").read_text()
    properties = package_schema.package_schema()["resources"][package_schema.token("DicomImportJob")]["properties"]
    for prop in re.findall(r"\$\{ct\.(\w+)\}", text):
        assert prop in properties, prop


def test_the_checker_catches_mistakes() -> None:
    package = package_schema.package_schema()
    spec_ = package["resources"][package_schema.token("DicomImportJob")]["inputProperties"]
    assert _check({"url": "gs://b/x"}, spec_["gcsSource"], package, "gcsSource")
    assert _check("HOT", {"$ref": "#/types/dicom-jobs:index:BlobStorageClass"}, package, "x")
    assert _check("10", spec_["maxFailedInstances"], package, "maxFailedInstances")
