"""Every face of the product agrees with the one input table (``pulumi_dicom_jobs.spec``).

For every input and nested field of both jobs: ``check`` knows its key and
enforces its enum and required-ness, ``diff`` classifies a change of it as the
spec says (replace or in place, with the spec's default), the request body
carries it under its camelCase name, the CLI has its flag, and the resources'
explicit signatures (kept for users' IDEs) match it: names, required or not,
defaults, nesting, value types. The components and the root program name job
inputs only by the spec's names.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import click
import pytest

from pulumi_dicom_jobs import api_facts, lifecycle, request_body, spec, validation
from pulumi_dicom_jobs.cli import options as cli_options
from pulumi_dicom_jobs.dynamic import providers, resources

# ``pulumi_dicom_jobs.cli.main`` the attribute is the entry-point function; the module is wanted.
cli_main = importlib.import_module("pulumi_dicom_jobs.cli.main")
ROOT = Path(__file__).resolve().parents[2]
STORE = "projects/p-123456/locations/l/datasets/d/dicomStores/s"
JOBS = {"import": spec.IMPORT_JOB, "export": spec.EXPORT_JOB}
PROVIDERS = {"import": providers.DicomImportJobProvider, "export": providers.DicomExportJobProvider}
CHECKS = {"import": validation.check_import, "export": validation.check_export}
#: The smallest valid inputs of each job, to which one input at a time is added.
VALID = {
    "import": {"dicom_store": STORE, "gcs_source": {"uri": "gs://bucket-ok/in/**.dcm"}},
    "export": {"dicom_store": STORE, "gcs_destination": {"uri_prefix": "gs://bucket-ok/out"}},
}


def _paths(kind: str) -> list[str]:
    return [path for path, _ in spec.walk(JOBS[kind])]


def _all_paths() -> list[tuple[str, str]]:
    return [(kind, path) for kind in JOBS for path in _paths(kind)]


def _item(kind: str, path: str) -> spec.InputSpec:
    return dict(spec.walk(JOBS[kind]))[path]


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _two_values(item: spec.InputSpec) -> tuple[Any, Any]:
    """Two different values of the input's type, neither its default (diff does not validate)."""
    if item.type == "object":
        first = item.fields[0].name
        return {first: "one"}, {first: "two"}
    candidates = {"string": ("one", "two"), "boolean": (True, False), "integer": (7, 8),
                  "number": (7.5, 8.5), "any": (["one"], ["two"])}[item.type]
    return candidates


# -- the table itself ------------------------------------------------------------
@pytest.mark.parametrize("kind,path", _all_paths())
def test_every_input_is_fully_described(kind: str, path: str) -> None:
    item = _item(kind, path)
    assert item.camel == _camel(item.name), "camelCase name is the snake_case name, camelCased"
    assert item.type in spec.TYPES
    assert item.description.endswith(".") and 20 <= len(item.description) <= 250, item.description
    assert item.description.count(". ") <= 2, "one or two sentences"
    if item.enum:
        assert item.type == "string" and len(set(item.enum)) == len(item.enum)
    if item.default is not None:
        assert not item.required and not item.replaces, "defaults matter only to in-place inputs"
    if item.cli is not None:
        assert re.fullmatch(r"--[a-z][a-z-]*|[A-Z]+", item.cli), item.cli


def test_outputs_and_job_membership() -> None:
    for job in spec.JOBS:
        assert len(job.input_names) == len(job.inputs), "no input twice"
        assert not job.input_names & set(job.output_names)
        for output in job.outputs:
            assert output.camel == _camel(output.name) and output.type in spec.TYPES
            assert output.description.endswith(".")
    assert spec.IMPORT_JOB.output_names == ("operation_name", "success_count", "failure_count", "logs_url",
                                            "create_time", "end_time", "api_method_name")
    common = {item.name for item in spec.COMMON_INPUTS}
    assert spec.IMPORT_JOB.input_names - common == {"gcs_source", "blob_storage_settings"}
    assert spec.EXPORT_JOB.input_names - common == {"gcs_destination", "bigquery_destination", "filter_config"}
    assert {item.type_name for item in spec.nested_objects().values()} == {
        "GcsSource", "BlobStorageSettings", "GcsDestination", "BigQueryDestination", "FilterConfig"}


def test_one_camel_case_map_for_every_name() -> None:
    """The plugin's wire names come from here (tests/plugin/test_plugin_units.py)."""
    every = [item for job in spec.JOBS for item in (*(i for _p, i in spec.walk(job)), *job.outputs)]
    assert spec.camel_names() == {item.name: item.camel for item in every}


# -- check -----------------------------------------------------------------------
@pytest.mark.parametrize("kind,path", _all_paths())
def test_check_knows_every_key(kind: str, path: str) -> None:
    top, _, field = path.partition(".")
    props = dict(VALID[kind])
    value = _two_values(_item(kind, path))[0]
    if field:
        props[top] = {**(props.get(top) or {}), field: value}
    else:
        props[top] = value
    assert not [f for f in CHECKS[kind](props) if "unknown property" in f[1]]
    assert (validation.IMPORT_KEYS if kind == "import" else validation.EXPORT_KEYS) == JOBS[kind].input_names
    if field:
        assert validation.NESTED_KEYS[top] == _item(kind, top).field_names


@pytest.mark.parametrize("kind", JOBS)
def test_check_reports_an_unknown_key(kind: str) -> None:
    failures = CHECKS[kind]({**VALID[kind], "not_an_input": 1})
    assert failures and failures[0][0] == "not_an_input" and "unknown property" in failures[0][1]


@pytest.mark.parametrize("kind,path", [(k, p) for k, p in _all_paths() if _item(k, p).enum])
def test_check_enforces_every_enum(kind: str, path: str) -> None:
    top, _, field = path.partition(".")
    item = _item(kind, path)

    def props(value: str) -> dict:
        base = dict(VALID[kind])
        if not field:
            return {**base, top: value}
        if top == "bigquery_destination":
            base = {"dicom_store": STORE, top: {"table_uri": "bq://local-project.ds.tbl"}}
        return {**base, top: {**(base.get(top) or {}), field: value}}

    for value in item.enum:
        assert CHECKS[kind](props(value)) == [], value
    assert CHECKS[kind](props("NOT_A_VALUE")) == [
        (path, f"'NOT_A_VALUE' is not one of {', '.join(item.enum)}")]


@pytest.mark.parametrize("kind,path", [(k, p) for k, p in _all_paths() if _item(k, p).required])
def test_check_requires_what_the_spec_requires(kind: str, path: str) -> None:
    top, _, field = path.partition(".")
    props = dict(VALID[kind])
    if top not in props:  # a nested required field of an optional object
        props[top] = {}
    if field:
        props[top] = {k: v for k, v in props[top].items() if k != field}
    else:
        del props[top]
    assert path in [p for p, _ in CHECKS[kind](props)]


# -- diff ------------------------------------------------------------------------
@pytest.mark.parametrize("kind,name", [(k, i.name) for k in JOBS for i in JOBS[k].inputs])
def test_diff_classifies_every_input_as_the_spec_says(kind: str, name: str) -> None:
    item = JOBS[kind].input(name)
    old, new = _two_values(item)
    olds = {**VALID[kind], name: old, "operation_name": "op"}
    news = {**VALID[kind], name: new}
    result = PROVIDERS[kind]().diff("op", olds, news)
    assert result.changes is True
    assert result.replaces == ([name] if item.replaces else [])
    if not item.replaces:  # unset and the spec's default are the same thing
        assert PROVIDERS[kind]().diff("op", {**olds, name: None}, {**news, name: item.default}).changes is False
    assert tuple(lifecycle.OUTPUT_KEYS) == JOBS[kind].output_names


# -- request body ----------------------------------------------------------------
@pytest.mark.parametrize("kind,path", [(k, p) for k, p in _all_paths() if "." in p])
def test_body_carries_every_nested_field_under_its_camel_name(kind: str, path: str) -> None:
    top, _, field = path.partition(".")
    obj, item = _item(kind, top), _item(kind, path)
    build = request_body.build_import_body if kind == "import" else request_body.build_export_body
    required = {f.name: f"req-{f.name}" for f in obj.fields if f.required}
    for value in item.enum or [_two_values(item)[0]]:
        body = build({"dicom_store": STORE, top: {**required, field: value}})
        if item.api:
            assert body[obj.camel][item.camel] == value
        else:  # the one explicit rule: schema -> schemaFlattened / schemaJson
            assert body[obj.camel][api_facts.SCHEMA_FIELDS[value]] == {}
    assert obj.api and set(body) == {obj.camel} | ({"gcsSource"} if kind == "import" else set())


@pytest.mark.parametrize("kind", JOBS)
def test_only_request_objects_reach_the_body(kind: str) -> None:
    every = {item.name: _two_values(item)[0] for item in JOBS[kind].inputs}
    build = request_body.build_import_body if kind == "import" else request_body.build_export_body
    assert set(build(every)) == {item.camel for item in JOBS[kind].inputs if item.api}


# -- CLI ---------------------------------------------------------------------------
def _commands(kind: str, path: str) -> list[click.Command]:
    if kind == "import":
        return [cli_main.import_cmd]
    if path.startswith("gcs_destination"):
        return [cli_main.export_gcs]
    if path.startswith("bigquery_destination"):
        return [cli_main.export_bq]
    return [cli_main.export_gcs, cli_main.export_bq]


def _spellings(command: click.Command) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        if isinstance(param, click.Argument):
            names.add(param.human_readable_name)
        else:
            names.update(param.opts)
    return names


@pytest.mark.parametrize("kind,path", [(k, p) for k, p in _all_paths() if _item(k, p).cli])
def test_cli_has_every_flag_the_spec_names(kind: str, path: str) -> None:
    flag = _item(kind, path).cli
    for command in _commands(kind, path):
        assert flag in _spellings(command), (command.name, flag)
    assert cli_options.FLAG_OF[path] == flag


def test_cli_has_no_job_flag_the_spec_does_not_name() -> None:
    cli_only = {"--json", "--async", "--no-progress", "--cancel-on-interrupt", "--no-force", "--help", "-h"}
    for command, job in ((cli_main.import_cmd, spec.IMPORT_JOB), (cli_main.export_gcs, spec.EXPORT_JOB),
                         (cli_main.export_bq, spec.EXPORT_JOB)):
        named = set(spec.cli_flags(job).values())
        gcloud = {alias for alias, ours in cli_main.GCLOUD_FLAG_ALIASES.items() if ours in named | cli_only}
        assert _spellings(command) - cli_only - gcloud <= named, command.name


# -- the resources' explicit signatures --------------------------------------------
_PYTHON_TYPES = {"string": "str", "boolean": "bool", "integer": "int", "number": "float"}


@pytest.mark.parametrize("obj", list(spec.nested_objects().values()), ids=lambda o: o.name)
def test_args_classes_match_the_spec(obj: spec.InputSpec) -> None:
    args = getattr(resources, f"{obj.type_name}Args")
    fields = {f.name: f for f in dataclasses.fields(args)}
    assert set(fields) == obj.field_names
    for item in obj.fields:
        declared = fields[item.name]
        if item.required:
            assert declared.default is dataclasses.MISSING, item.name
        else:
            assert declared.default is None, item.name
        assert f"pulumi.Input[{_PYTHON_TYPES[item.type]}]" in str(declared.type), (item.name, declared.type)


@pytest.mark.parametrize("cls,job", [(resources.DicomImportJob, spec.IMPORT_JOB),
                                     (resources.DicomExportJob, spec.EXPORT_JOB)])
def test_resource_signatures_match_the_spec(cls: type, job: spec.JobSpec) -> None:
    params = dict(inspect.signature(cls.__init__).parameters)
    for own in ("self", "resource_name", "opts"):
        params.pop(own)
    assert set(params) == job.input_names
    annotations = inspect.get_annotations(cls)
    for item in job.inputs:
        param = params[item.name]
        assert param.kind is inspect.Parameter.KEYWORD_ONLY
        assert (param.default is inspect.Parameter.empty) == item.required, item.name
        if not item.required:
            assert param.default is None, item.name
        if item.type == "object":  # nesting: the object's Args class is accepted
            assert f"{item.type_name}Args" in str(param.annotation) or "ArgsOrDict" in str(param.annotation)
        elif item.type in _PYTHON_TYPES:
            assert f"pulumi.Input[{_PYTHON_TYPES[item.type]}]" in str(param.annotation), item.name
        assert item.name in annotations, f"output property {item.name} not typed on {cls.__name__}"
    for output in job.outputs:
        assert output.name in annotations


# -- the components and the root program ---------------------------------------------
def _spec_names(job: spec.JobSpec) -> set[str]:
    return {path.rpartition(".")[2] for path, _ in spec.walk(job)}


#: Component and root-program parameters that are not job inputs (what the job is aimed at, grants).
_NOT_JOB_INPUTS = {"name", "kind", "bucket", "pattern", "create_bucket", "bucket_location", "bucket_project",
                   "bucket_force_destroy", "prefix", "filter_file", "project", "dataset", "dataset_id", "table",
                   "create_dataset", "dataset_location", "delete_contents_on_destroy", "service_agent",
                   "grants", "opts", "self",
                   "plugin"}  # which face runs the job (the dynamic resource or the plugin), not a job input


def test_components_name_job_inputs_as_the_spec_does() -> None:
    from pulumi_dicom_jobs.gcp import components

    common = {item.name for item in spec.COMMON_INPUTS}
    for cls, job in ((components.DicomGcsImport, spec.IMPORT_JOB), (components.DicomGcsExport, spec.EXPORT_JOB),
                     (components.DicomBigQueryExport, spec.EXPORT_JOB)):
        params = set(inspect.signature(cls.__init__).parameters)
        job_params = params - _NOT_JOB_INPUTS
        assert job_params <= _spec_names(job), (cls.__name__, job_params - _spec_names(job))
        assert common <= job_params, (cls.__name__, common - job_params)


def _set_literal(tree: ast.Module, name: str) -> set[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return {elt.value for elt in node.value.elts}
    raise AssertionError(f"{name} not found")


def test_root_program_names_job_inputs_as_the_spec_does() -> None:
    tree = ast.parse((ROOT / "__main__.py").read_text())
    updatable = {item.name for item in spec.COMMON_INPUTS if not item.replaces} - {"api_version", "api_endpoint"}
    for keys, job in (("IMPORT_KEYS", spec.IMPORT_JOB), ("GCS_EXPORT_KEYS", spec.EXPORT_JOB),
                      ("BQ_EXPORT_KEYS", spec.EXPORT_JOB)):
        job_keys = _set_literal(tree, keys) - _NOT_JOB_INPUTS
        assert job_keys <= _spec_names(job), (keys, job_keys - _spec_names(job))
        assert updatable | {"triggers"} <= job_keys, keys
    common = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "_common")
    returned = next(n.value for n in ast.walk(common) if isinstance(n, ast.Return))
    assert {k.value for k in returned.keys} - _NOT_JOB_INPUTS <= {item.name for item in spec.COMMON_INPUTS}
