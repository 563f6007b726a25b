"""run_export to BigQuery, checked with google-cloud-bigquery against bqemulator."""

from __future__ import annotations

import json

import pytest
from google.cloud import bigquery

from healthcare_emulator import sampledata
from support.data import new_dataset, query_rows
from support.jobcontext import STORE
from healthcare_emulator.bigquery_rows import (
    DROPPED_TAGS_COLUMN, JSON_COLUMN, REQUIRED_COLUMNS, SOURCE_STORE_COLUMN, bigquery_row, bigquery_schema)
from healthcare_emulator.jobcontext import OperationFailed, PermissionDenied
from healthcare_emulator.job_requests import export_method_suffix, validate_export_request
from healthcare_emulator.jobs import run_export
from healthcare_emulator.rpc import ALREADY_EXISTS, FAILED_PRECONDITION, NOT_FOUND

PROJECT = "local-project"
REAL = ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "rtplan.dcm")


def _fill(ctx, count_synthetic: int = 0) -> list[bytes]:
    files = [sampledata.real_bytes(n) for n in REAL]
    files += [sampledata.synthetic_instance(seed=i) for i in range(count_synthetic)]
    for data in files:
        ctx.add(data)
    return files


def _export(ctx, table: str, **destination):
    return run_export(ctx, {"bigqueryDestination": {"tableUri": f"bq://{table}", **destination}})


def _table_for(bq_client, table: str, files: list[bytes]) -> None:
    """An empty table with exactly the columns an export of ``files`` has (a narrower one fails)."""
    fields = bigquery_schema([bigquery_row(d) for d in files])
    bq_client.create_table(bigquery.Table(table, schema=[bigquery.SchemaField.from_api_repr(f) for f in fields]))


def _sops(bq_client, table: str) -> list[str]:
    return sorted(r["SOPInstanceUID"] for r in query_rows(bq_client, f"SELECT SOPInstanceUID FROM `{table}`"))


def _expected_sops(files) -> list[str]:
    return sorted(sampledata.uids_of(d).sop for d in files)


def test_missing_table_is_created_with_flattened_rows(ctx, bq):
    files = _fill(ctx)
    table = f"{PROJECT}.{new_dataset(bq)}.meta"
    result = _export(ctx, table)
    assert (result.success, result.failure) == (4, 0) and ctx.last == (4, 0, 0)
    assert ctx.required == [(f"bq://{table.rsplit('.', 1)[0]}", "write")]
    schema = {f.name: f.field_type for f in bq.get_table(table).schema}
    assert list(schema)[:len(REQUIRED_COLUMNS)] == list(REQUIRED_COLUMNS)
    assert schema.pop(DROPPED_TAGS_COLUMN) == "RECORD"
    assert all(t == "STRING" for t in schema.values())
    assert "PixelData" not in schema and "BeamSequence" not in schema and "ImageType" in schema
    rows = {r["SOPInstanceUID"]: r for r in query_rows(bq, f"SELECT * FROM `{table}`")}
    assert sorted(rows) == _expected_sops(files)
    ct = sampledata.uids_of(sampledata.real_bytes("CT_small.dcm"))
    assert rows[ct.sop]["StudyInstanceUID"] == ct.study
    assert rows[ct.sop]["SeriesInstanceUID"] == ct.series
    assert rows[ct.sop]["Modality"] == "CT" and rows[ct.sop]["PatientID"] == "1CT1"
    assert rows[ct.sop]["StudyDate"] == "20040119"
    assert rows[ct.sop]["ImageType"] == "ORIGINAL\\PRIMARY\\AXIAL"
    assert rows[ct.sop]["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2"


def test_write_empty_on_non_empty_table_fails_and_on_empty_table_succeeds(ctx, bq):
    files = _fill(ctx)
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    _export(ctx, table)
    # force beside a disposition is ignored (discovery document): WRITE_EMPTY still rules.
    for destination in ({"writeDisposition": "WRITE_EMPTY"}, {"writeDisposition": "WRITE_EMPTY", "force": True}):
        with pytest.raises(OperationFailed) as failure:
            _export(ctx, table, **destination)
        assert failure.value.code == FAILED_PRECONDITION
        assert "WRITE_EMPTY" in failure.value.message and "4 row" in failure.value.message
    assert _sops(bq, table) == _expected_sops(files)
    empty = f"{table}_empty"
    _table_for(bq, empty, files)
    result = _export(ctx, empty, writeDisposition="WRITE_EMPTY")
    assert result.success == 4 and _sops(bq, empty) == _expected_sops(files)


@pytest.mark.parametrize("destination", [{}, {"force": False}, {"writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED"},
                                         {"writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED", "force": False}])
@pytest.mark.parametrize("rows_before", [0, 1])
def test_neither_disposition_nor_force_fails_on_any_existing_table(ctx, bq, destination, rows_before):
    """Seed 000: force unset and the table exists -> error; the empty-table exception is WRITE_EMPTY's only."""
    _fill(ctx)
    table = f"{PROJECT}.{new_dataset(bq)}.existing"
    bq.create_table(bigquery.Table(table, schema=[bigquery.SchemaField(c, "STRING") for c in REQUIRED_COLUMNS]))
    if rows_before:
        bq.insert_rows_json(table, [{"SOPInstanceUID": "9.9.9"}])
    with pytest.raises(OperationFailed) as failure:
        _export(ctx, table, **destination)
    assert failure.value.code == ALREADY_EXISTS
    message = failure.value.message
    assert table in message and "already exists" in message
    assert "writeDisposition" in message and "force" in message
    assert _sops(bq, table) == (["9.9.9"] if rows_before else [])
    assert ctx.counters == []  # refused before any instance was read


@pytest.mark.parametrize("disposition", ["WRITE_APPEND", "WRITE_EMPTY"])
def test_force_is_ignored_beside_a_write_disposition(ctx, bq, disposition):
    """The discovery document: with writeDisposition set, force is ignored (not refused, not TRUNCATE)."""
    validate_export_request({"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "force": True,
                                                     "writeDisposition": disposition}})
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    files = _fill(ctx)
    _table_for(bq, table, files)
    if disposition == "WRITE_APPEND":
        bq.insert_rows_json(table, [{"SOPInstanceUID": "9.9.9"}])
    result = _export(ctx, table, writeDisposition=disposition, force=True)
    assert result.success == 4
    kept = ["9.9.9"] if disposition == "WRITE_APPEND" else []
    assert _sops(bq, table) == sorted(kept + _expected_sops(files))


def test_tags_bigquery_cannot_hold_are_listed_in_dropped_tags(ctx, bq):
    """Seed 004: tags of an excluded VR are named in DroppedTags.TagName, not silently lost."""
    files = _fill(ctx)
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    _export(ctx, table, writeDisposition="WRITE_TRUNCATE")
    [dropped] = [f for f in bq.get_table(table).schema if f.name == DROPPED_TAGS_COLUMN]
    assert (dropped.field_type, dropped.mode) == ("RECORD", "REPEATED")
    assert [(f.name, f.field_type) for f in dropped.fields] == [("TagName", "STRING")]
    rows = query_rows(bq, f"SELECT SOPInstanceUID, d.TagName AS tag FROM `{table}`, UNNEST({DROPPED_TAGS_COLUMN}) AS d")
    by_sop: dict[str, set[str]] = {}
    for row in rows:
        by_sop.setdefault(row["SOPInstanceUID"], set()).add(row["tag"])
    ct, mr, dose, plan = (sampledata.uids_of(d).sop for d in files)
    assert by_sop[ct] == {"PixelData", "DataSetTrailingPadding"}
    assert by_sop[mr] == {"PixelData", "DataSetTrailingPadding"}
    assert by_sop[dose] == {"PixelData"}
    assert plan not in by_sop  # rtplan has no attribute of an excluded VR: an empty list
    columns = {f.name for f in bq.get_table(table).schema}
    assert not columns & {"PixelData", "DataSetTrailingPadding"}


@pytest.mark.parametrize("destination", [{"force": True}, {"writeDisposition": "WRITE_TRUNCATE"}])
def test_truncate_and_force_replace_the_table(ctx, bq, destination):
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    bq.create_table(bigquery.Table(table, schema=[bigquery.SchemaField("Old", "STRING"),
                                                  bigquery.SchemaField("SOPInstanceUID", "STRING")]))
    bq.insert_rows_json(table, [{"Old": "x", "SOPInstanceUID": "9.9.9"}])
    files = _fill(ctx)
    result = _export(ctx, table, **destination)
    assert result.success == 4
    assert _sops(bq, table) == _expected_sops(files)
    assert "Old" not in {f.name for f in bq.get_table(table).schema}


def test_append_adds_rows_keeping_the_schema(ctx, bq):
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    first = _fill(ctx)
    _export(ctx, table)
    columns_before = [f.name for f in bq.get_table(table).schema]
    ctx.stored.clear()
    second = [sampledata.synthetic_instance(seed=i) for i in range(3)]
    for data in second:
        ctx.add(data)
    result = _export(ctx, table, writeDisposition="WRITE_APPEND")
    assert result.success == 3
    assert _sops(bq, table) == _expected_sops(first + second)
    assert [f.name for f in bq.get_table(table).schema] == columns_before


@pytest.mark.parametrize("disposition", ["WRITE_APPEND", "WRITE_EMPTY"])
def test_a_table_lacking_columns_fails_naming_them_and_stays_unchanged(ctx, bq, disposition):
    """The documents do not say whether an export adds columns to an existing table: the
    stricter reading is that it does not, so the export fails before writing a row."""
    table = f"{PROJECT}.{new_dataset(bq)}.narrow"
    narrow = [bigquery.SchemaField("SOPInstanceUID", "STRING"), bigquery.SchemaField("Modality", "STRING")]
    bq.create_table(bigquery.Table(table, schema=narrow))
    _fill(ctx)
    with pytest.raises(OperationFailed) as failure:
        _export(ctx, table, writeDisposition=disposition)
    message = failure.value.message
    assert failure.value.code == FAILED_PRECONDITION
    missing = message.split("has no column(s) ", 1)[1].split(" of the export's schema")[0].split(", ")
    assert {"StudyInstanceUID", "SeriesInstanceUID", "PatientID", DROPPED_TAGS_COLUMN} <= set(missing)
    assert "SOPInstanceUID" not in missing and "Modality" not in missing
    assert "WRITE_TRUNCATE" in message and "nothing was written" in message
    assert query_rows(bq, f"SELECT COUNT(*) AS n FROM `{table}`")[0]["n"] == 0
    assert [f.name for f in bq.get_table(table).schema] == ["SOPInstanceUID", "Modality"]


def test_include_source_store(ctx, bq):
    files = _fill(ctx)
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    _export(ctx, table, includeSourceStore=True)
    rows = query_rows(bq, f"SELECT SOPInstanceUID, {SOURCE_STORE_COLUMN} FROM `{table}`")
    assert len(rows) == len(files) and {r[SOURCE_STORE_COLUMN] for r in rows} == {STORE}
    plain = f"{table}_plain"
    _export(ctx, plain, includeSourceStore=False)
    assert SOURCE_STORE_COLUMN not in {f.name for f in bq.get_table(plain).schema}


def test_schema_flattened_is_the_default(ctx, bq):
    _fill(ctx)
    dataset = new_dataset(bq)
    _export(ctx, f"{PROJECT}.{dataset}.a", schemaFlattened={})
    _export(ctx, f"{PROJECT}.{dataset}.b")
    a = [f.name for f in bq.get_table(f"{PROJECT}.{dataset}.a").schema]
    assert a == [f.name for f in bq.get_table(f"{PROJECT}.{dataset}.b").schema]
    assert JSON_COLUMN not in a


def test_schema_json_holds_dicom_json(ctx, bq):
    files = _fill(ctx)
    table = f"{PROJECT}.{new_dataset(bq)}.j"
    _export(ctx, table, schemaJson={}, includeSourceStore=True)
    schema = {f.name: f.field_type for f in bq.get_table(table).schema}
    assert schema == {"StudyInstanceUID": "STRING", "SeriesInstanceUID": "STRING",
                      "SOPInstanceUID": "STRING", "SOPClassUID": "STRING", JSON_COLUMN: "JSON",
                      SOURCE_STORE_COLUMN: "STRING"}
    rows = {r["SOPInstanceUID"]: r for r in query_rows(bq, f"SELECT * FROM `{table}`")}
    assert sorted(rows) == _expected_sops(files)
    ct = sampledata.uids_of(sampledata.real_bytes("CT_small.dcm"))
    model = rows[ct.sop][JSON_COLUMN]
    model = json.loads(model) if isinstance(model, str) else model
    assert model["00080060"] == {"vr": "CS", "Value": ["CT"]}
    assert model["0020000D"]["Value"] == [ct.study]
    assert "7FE00010" not in model
    plan = sampledata.uids_of(sampledata.real_bytes("rtplan.dcm"))
    plan_model = rows[plan.sop][JSON_COLUMN]
    plan_model = json.loads(plan_model) if isinstance(plan_model, str) else plan_model
    assert plan_model["300A00B0"]["vr"] == "SQ"  # BeamSequence kept as nested JSON


def test_cross_project_table(ctx, bq):
    files = _fill(ctx)
    other = "other-project-data"
    table = f"{other}.{new_dataset(bq, project=other)}.t"
    result = _export(ctx, table)
    assert result.success == 4
    assert ctx.required == [(f"bq://{table.rsplit('.', 1)[0]}", "write")]
    assert _sops(bq, table) == _expected_sops(files)


def test_missing_dataset_fails_not_found(ctx, bq):
    _fill(ctx)
    with pytest.raises(OperationFailed) as failure:
        _export(ctx, f"{PROJECT}.no_such_dataset_x.t")
    assert failure.value.code == NOT_FOUND and "no_such_dataset_x" in failure.value.message


def test_permission_denied_writes_nothing(ctx, bq):
    _fill(ctx)
    dataset = new_dataset(bq)
    ctx.denied.add((f"bq://{PROJECT}.{dataset}", "write"))
    with pytest.raises(PermissionDenied):
        _export(ctx, f"{PROJECT}.{dataset}.t")
    assert list(bq.list_tables(f"{PROJECT}.{dataset}")) == []


def test_empty_store_creates_an_empty_table(ctx, bq):
    table = f"{PROJECT}.{new_dataset(bq)}.t"
    result = _export(ctx, table)
    assert (result.success, result.failure) == (0, 0)
    assert [f.name for f in bq.get_table(table).schema] == list(REQUIRED_COLUMNS)


@pytest.mark.parametrize("body,field", [
    ({}, "one of gcsDestination or bigqueryDestination"),
    ({"gcsDestination": {"uriPrefix": "gs://bkt/x"}, "bigqueryDestination": {"tableUri": "bq://proj-1.d.t"}},
     "only one of"),
    ({"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "writeDisposition": "WRITE_SOMETIMES"}},
     "writeDisposition"),
    ({"bigqueryDestination": {}}, "tableUri is required"),
    ({"bigqueryDestination": {"tableUri": "p.d.t"}}, "tableUri"),
    ({"bigqueryDestination": {"tableUri": "bq://p.d"}}, "tableUri"),
    ({"bigqueryDestination": {"tableUri": "bq://proj-1.d.t/x"}}, "tableUri"),
    ({"bigqueryDestination": {"tableUri": "bq://proj-1.data-set.t"}}, "dataset"),
    ({"bigqueryDestination": {"tableUri": "bq://p.d." + "t" * 2000}}, "2000"),
    ({"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "schemaJson": {}, "schemaFlattened": {}}},
     "schemaFlattened"),
    ({"gcsDestination": {"uriPrefix": "s3://bkt/x"}}, "gcsDestination.uriPrefix"),
    ({"gcsDestination": {}}, "gcsDestination.uriPrefix"),
    ({"gcsDestination": {"uriPrefix": "gs:///x"}}, "gcsDestination.uriPrefix"),
    ({"gcsDestination": {"uriPrefix": "gs://bkt/x", "mimeType": "image/gif"}}, "gcsDestination.mimeType"),
    ({"gcsDestination": {"uriPrefix": "gs://bkt/x", "mimeType": "image/png; transfer-syntax=1.2.840.10008.1.2.1"}},
     "gcsDestination.mimeType"),
    ({"gcsDestination": {"uriPrefix": "gs://bkt/x", "mimeType": "application/dicom; transfer-syntax=1.2.3"}},
     "gcsDestination.mimeType"),
    ({"gcsDestination": {"uriPrefix": "gs://bkt/x"}, "filterConfig": {"resourcePathsGcsUri": "gs://bkt"}},
     "filterConfig.resourcePathsGcsUri"),
])
def test_export_request_validation(body, field):
    with pytest.raises(ValueError, match=field):
        validate_export_request(body)


@pytest.mark.parametrize("body", [
    {"gcsDestination": {"uriPrefix": "gs://bkt"}},
    {"gcsDestination": {"uriPrefix": "gs://bkt/x/", "mimeType": "application/dicom; transfer-syntax=1.2.840.10008.1.2.4.90"}},
    {"gcsDestination": {"uriPrefix": "gs://bkt/x", "mimeType": "image/jpeg"}},
    {"gcsDestination": {"uriPrefix": "gs://bkt/x", "mimeType": "application/DICOM;transfer-syntax=*"}},
    {"gcsDestination": {"uriPrefix": "gs://bkt/x", "mimeType": "image/png"}},
    {"bigqueryDestination": {"tableUri": "bq://proj-1.d_1.t-1", "force": False, "writeDisposition": "WRITE_APPEND"}},
    {"bigqueryDestination": {"tableUri": "bq://example.com:proj-1.d.t", "force": True}},
    {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "force": True, "writeDisposition": "WRITE_APPEND"}},
    {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "force": True,
                             "writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED"}},
    {"bigqueryDestination": {"tableUri": "bq://proj-1.d.t", "schemaJson": {}, "includeSourceStore": True},
     "filterConfig": {"resourcePathsGcsUri": "gs://bkt/filter.txt"}},
])
def test_export_request_validation_accepts(body):
    assert validate_export_request(body) is None
    # the same body with one field of its destination spoiled is refused: a validator
    # that let everything through could not pass this test
    if "gcsDestination" in body:
        spoiled = {**body, "gcsDestination": {**body["gcsDestination"], "mimeType": "image/gif"}}
        field = r"gcsDestination\.mimeType"
    else:
        spoiled = {**body, "bigqueryDestination": {**body["bigqueryDestination"], "tableUri": "bq://proj-1"}}
        field = r"bigqueryDestination\.tableUri"
    with pytest.raises(ValueError, match=field):
        validate_export_request(spoiled)


def test_export_method_suffix():
    assert export_method_suffix({"bigqueryDestination": {"tableUri": "bq://proj-1.d.t"}}) == "_bq"
    assert export_method_suffix({"gcsDestination": {"uriPrefix": "gs://bkt/x"}}) == ""
