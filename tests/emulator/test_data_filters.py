"""Export filter files (filterConfig.resourcePathsGcsUri) for GCS and BigQuery exports."""

from __future__ import annotations

import pytest

from healthcare_emulator import sampledata
from support.data import new_dataset, object_names, query_rows, upload
from healthcare_emulator.filters import parse_filter
from healthcare_emulator.jobcontext import OperationFailed, PermissionDenied
from healthcare_emulator.jobs import run_export
from healthcare_emulator.rpc import INVALID_ARGUMENT, NOT_FOUND


@pytest.fixture
def two_studies(ctx):
    """Study A: 2 series x 3 instances; study B: 1 series x 2 instances."""
    a = sampledata.synthetic_study(series=2, per_series=3)
    b = sampledata.synthetic_study(series=1, per_series=2)
    for data in a + b:
        ctx.add(data)
    return [sampledata.uids_of(d) for d in a], [sampledata.uids_of(d) for d in b]


def _gcs_export(ctx, bucket, filter_text: str):
    upload(bucket, "filters/f.txt", filter_text.encode())
    return run_export(ctx, {"gcsDestination": {"uriPrefix": f"gs://{bucket.name}/out"},
                            "filterConfig": {"resourcePathsGcsUri": f"gs://{bucket.name}/filters/f.txt"}})


def _exported_sops(bucket) -> set[str]:
    return {name.rsplit("/", 1)[1].removesuffix(".dcm") for name in object_names(bucket, "out/")}


def test_study_level(ctx, bucket, two_studies):
    a, b = two_studies
    result = _gcs_export(ctx, bucket, f"/studies/{b[0].study}\n")
    assert (result.success, result.failure) == (2, 0) and ctx.counters[0] == (0, 0, 2)
    assert _exported_sops(bucket) == {u.sop for u in b}
    assert (f"gs://{bucket.name}", "get") in ctx.required  # one object: storage.objects.get


def test_series_and_instance_levels_and_no_final_newline(ctx, bucket, two_studies):
    a, b = two_studies
    first_series = [u for u in a if u.series == a[0].series]
    text = (f"/studies/{a[0].study}/series/{a[0].series}\n"
            f"/studies/{b[1].study}/series/{b[1].series}/instances/{b[1].sop}")
    result = _gcs_export(ctx, bucket, text)
    assert result.success == 4
    assert _exported_sops(bucket) == {u.sop for u in first_series} | {b[1].sop}


@pytest.mark.parametrize("make_line, hint", [
    (lambda study: f"/studies/{study}/", "trailing '/'"),
    (lambda study: f"  /studies/{study}", "surrounding whitespace"),
    (lambda study: f"/studies/{study} ", "surrounding whitespace"),
    (lambda study: f"/studies/{study}\r", "Windows line ending"),
    (lambda study: "", "blank line"),
    (lambda study: "\t", "blank line"),
    (lambda study: f"\ufeff/studies/{study}", "byte-order mark"),
], ids=["trailing-slash", "leading-spaces", "trailing-space", "crlf", "blank", "tab", "bom"])
def test_lines_outside_the_seeds_grammar_fail_naming_line_and_text(ctx, bucket, two_studies, make_line, hint):
    """Only /studies/UID[/series/UID[/instances/UID]] is a line: the stricter reading where the
    documents are silent (a path the service might accept here would fail nothing there)."""
    a, _ = two_studies
    line = make_line(a[0].study)
    with pytest.raises(OperationFailed) as failure:
        _gcs_export(ctx, bucket, f"/studies/{a[0].study}\n{line}\n/studies/{a[1].study}\n")
    assert failure.value.code == INVALID_ARGUMENT
    assert f"line 2: {line!r} ({hint})" in failure.value.message, failure.value.message
    assert "line 1" not in failure.value.message and "line 3" not in failure.value.message
    assert _exported_sops(bucket) == set()


def test_every_bad_line_is_named_in_the_error_or_the_log(ctx, bucket, two_studies):
    a, _ = two_studies
    bad = [f"/studies/{a[0].study}/series/{n}/" for n in range(12)]
    with pytest.raises(OperationFailed) as failure:
        _gcs_export(ctx, bucket, "\n".join([f"/studies/{a[0].study}", *bad]) + "\n")
    message = failure.value.message
    assert "12 line(s) are not /studies/UID[/series/UID[/instances/UID]]" in message
    assert all(f"line {n + 2}: {text!r}" in message for n, text in enumerate(bad[:10])), message
    assert "line 12:" not in message and "and 2 more (every one is in the operation's log)" in message
    logged = [message for severity, message, _ in ctx.logs if severity == "ERROR"]
    assert len(logged) == 12
    assert all(f"line {n + 2}: {text!r} (trailing '/')" in logged[n] for n, text in enumerate(bad)), logged


@pytest.mark.parametrize("text", ["", "\n"], ids=["empty", "one-blank-line"])
def test_a_filter_file_that_lists_nothing_fails(ctx, bucket, two_studies, text):
    with pytest.raises(OperationFailed) as failure:
        _gcs_export(ctx, bucket, text)
    assert failure.value.code == INVALID_ARGUMENT and "filter file gs://" in failure.value.message
    assert _exported_sops(bucket) == set()


def test_unknown_resources_select_nothing(ctx, bucket, two_studies):
    result = _gcs_export(ctx, bucket, "/studies/1.2.3.4\n")
    assert (result.success, result.failure) == (0, 0)
    assert _exported_sops(bucket) == set()


@pytest.mark.parametrize("bad_line", [
    "studies/1.2.3", "/study/1.2.3", "/studies/", "/studies/1.2.3/instances/4.5",
    "/studies/1.2.3/series/4.5/instances/", "/studies/abc", "/studies/1.2.3/series/4/instances/5/frames/1",
])
def test_malformed_line_fails_whole_operation(ctx, bucket, two_studies, bad_line):
    a, _ = two_studies
    with pytest.raises(OperationFailed) as failure:
        _gcs_export(ctx, bucket, f"/studies/{a[0].study}\n{bad_line}\n")
    assert failure.value.code == INVALID_ARGUMENT
    assert f"line 2: {bad_line!r}" in failure.value.message
    assert _exported_sops(bucket) == set()


def test_missing_filter_file_fails_not_found(ctx, bucket, two_studies):
    with pytest.raises(OperationFailed) as failure:
        run_export(ctx, {"gcsDestination": {"uriPrefix": f"gs://{bucket.name}/out"},
                         "filterConfig": {"resourcePathsGcsUri": f"gs://{bucket.name}/nope.txt"}})
    assert failure.value.code == NOT_FOUND and "nope.txt" in failure.value.message


def test_filter_bucket_needs_read_permission(ctx, bucket, gcs, two_studies):
    other = gcs.create_bucket(f"{bucket.name}-f")
    upload(other, "f.txt", b"/studies/1.2.3\n")
    ctx.denied.add((f"gs://{other.name}", "get"))
    with pytest.raises(PermissionDenied):
        run_export(ctx, {"gcsDestination": {"uriPrefix": f"gs://{bucket.name}/out"},
                         "filterConfig": {"resourcePathsGcsUri": f"gs://{other.name}/f.txt"}})


def test_filter_applies_to_bigquery_export(ctx, bq, bucket, two_studies):
    a, b = two_studies
    upload(bucket, "f.txt", f"/studies/{a[0].study}/series/{a[3].series}\n/studies/{b[0].study}\n".encode())
    table = f"local-project.{new_dataset(bq)}.t"
    result = run_export(ctx, {"bigqueryDestination": {"tableUri": f"bq://{table}"},
                              "filterConfig": {"resourcePathsGcsUri": f"gs://{bucket.name}/f.txt"}})
    assert result.success == 5
    rows = query_rows(bq, f"SELECT SOPInstanceUID FROM `{table}`")
    assert {r["SOPInstanceUID"] for r in rows} == {u.sop for u in a if u.series == a[3].series} | {u.sop for u in b}


def test_parse_filter_levels():
    flt = parse_filter("/studies/1.2\n/studies/3.4/series/5.6\n/studies/7/series/8/instances/9\n")
    assert flt.selects("1.2", "x", "y")
    assert flt.selects("3.4", "5.6", "z") and not flt.selects("3.4", "5.7", "z")
    assert flt.selects("7", "8", "9") and not flt.selects("7", "8", "10")
