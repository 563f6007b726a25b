"""run_import against the real Cloud Storage emulator, with a fake JobContext."""

from __future__ import annotations

import pytest

from healthcare_emulator import sampledata
from support.data import upload
from healthcare_emulator.jobcontext import JobCancelled, OperationFailed, PermissionDenied
from healthcare_emulator.job_requests import validate_import_request
from healthcare_emulator.jobs import run_import
from healthcare_emulator.rpc import INVALID_ARGUMENT, NOT_FOUND


def _body(uri: str, **extra) -> dict:
    return {"gcsSource": {"uri": uri}, **extra}


def test_imports_real_files_and_publishes_counters(ctx, bucket):
    names = ["CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "rtplan.dcm", "MR_small_RLE.dcm"]
    for name in names:
        upload(bucket, f"in/{name}", sampledata.real_bytes(name))
    result = run_import(ctx, _body(f"gs://{bucket.name}/in/*.dcm"))
    # MR_small and MR_small_RLE are the same SOP instance: the second is a duplicate, ignored
    # and (the default) not counted.
    assert (result.success, result.failure, result.not_counted) == (4, 0, 1)
    assert ctx.required == [(f"gs://{bucket.name}", "read")]
    assert ctx.counters[0] == (0, 0, 5)
    assert ctx.last == (4, 0, 0)
    assert [c[2] for c in ctx.counters] == [5, 4, 3, 2, 1, 0]
    assert ctx.paced == 5 and ctx.errors == []
    expected = {sampledata.uids_of(sampledata.real_bytes(n)).sop for n in names}
    assert set(ctx.stored) == expected and len(ctx.stored) == 4
    ct = sampledata.real_bytes("CT_small.dcm")
    stored = ctx.stored[sampledata.uids_of(ct).sop]
    assert stored.data == ct
    assert stored.study_uid == sampledata.uids_of(ct).study


@pytest.mark.parametrize("counting, counted", [("nothing", 0), ("success", 1)])
def test_duplicates_are_ignored_never_failures_and_counted_as_configured(ctx, bucket, counting, counted):
    """The discovery document: duplicates are accepted and ignored, not overwritten; how the
    operation counts them is unknown, so the emulator counts them either way (countDuplicatesAs)."""
    ctx.count_duplicates_as = counting
    data = sampledata.synthetic_instance()
    upload(bucket, "a/one.dcm", data)
    upload(bucket, "a/copy.dcm", data)
    result = run_import(ctx, _body(f"gs://{bucket.name}/a/*"))
    assert (result.success, result.failure) == (1 + counted, 0)
    assert ctx.last == (1 + counted, 0, 0) and ctx.errors == []
    assert len(ctx.stored) == 1 and ctx.stored[sampledata.uids_of(data).sop].data == data
    again = run_import(ctx, _body(f"gs://{bucket.name}/a/one.dcm"))
    assert (again.success, again.failure) == (counted, 0) and len(ctx.stored) == 1
    assert ctx.counters[-2:] == [(0, 0, 1), (counted, 0, 0)]  # pending drops either way
    ignored = [message for severity, message, _ in ctx.logs if "already in the store" in message]
    assert len(ignored) == 2 and all(("counted as a success" if counted else "not counted") in m
                                     for m in ignored)


def test_broken_files_are_sample_errors(ctx, bucket):
    upload(bucket, "mix/good.dcm", sampledata.synthetic_instance())
    upload(bucket, "mix/broken.dcm", sampledata.broken_file())
    upload(bucket, "mix/truncated.dcm", sampledata.truncated_file())
    upload(bucket, "mix/cut_pixels.dcm", sampledata.real_bytes("CT_small.dcm")[:30000])
    upload(bucket, "mix/empty.dcm", b"")
    result = run_import(ctx, _body(f"gs://{bucket.name}/mix/**"))
    assert (result.success, result.failure) == (1, 4)
    assert ctx.last == (1, 4, 0)
    by_resource = {e.resource: e for e in ctx.errors}
    assert set(by_resource) == {f"gs://{bucket.name}/mix/{n}" for n in
                                ("broken.dcm", "truncated.dcm", "cut_pixels.dcm", "empty.dcm")}
    assert all(e.code == INVALID_ARGUMENT for e in ctx.errors)
    assert "not a DICOM" in by_resource[f"gs://{bucket.name}/mix/broken.dcm"].message
    assert "StudyInstanceUID" in by_resource[f"gs://{bucket.name}/mix/truncated.dcm"].message
    assert "truncated" in by_resource[f"gs://{bucket.name}/mix/cut_pixels.dcm"].message
    assert any(sev == "ERROR" for sev, _, _ in ctx.logs)
    assert len(ctx.stored) == 1


def test_wildcards_select_the_right_objects(ctx, bucket):
    layout = {
        "d/a.dcm": "top", "d/b.dcm": "top", "d/x.txt": "txt",
        "d/s/c.dcm": "sub", "d/s/t/e.dcm": "deep", "d/f1.dcm": "q", "d/f22.dcm": "qq",
        "other/z.dcm": "other",
    }
    data = {name: sampledata.synthetic_instance() for name in layout}
    for name, blob in data.items():
        upload(bucket, name, blob)
    sop = {name: sampledata.uids_of(blob).sop for name, blob in data.items()}

    def imported(pattern: str) -> set[str]:
        ctx.stored.clear()
        run_import(ctx, _body(f"gs://{bucket.name}/{pattern}"))
        return {n for n, uid in sop.items() if uid in ctx.stored}

    assert imported("d/*.dcm") == {"d/a.dcm", "d/b.dcm", "d/f1.dcm", "d/f22.dcm"}
    assert imported("d/f?.dcm") == {"d/f1.dcm"}
    assert imported("d/*/*.dcm") == {"d/s/c.dcm"}
    assert imported("d/**.dcm") == {"d/a.dcm", "d/b.dcm", "d/s/c.dcm", "d/s/t/e.dcm", "d/f1.dcm", "d/f22.dcm"}
    assert imported("d/s/**") == {"d/s/c.dcm", "d/s/t/e.dcm"}
    assert imported("d/b.dcm") == {"d/b.dcm"}
    assert imported("**") == set(layout) - {"d/x.txt"} | {"d/x.txt"}


def test_object_names_needing_url_encoding(ctx, bucket):
    upload(bucket, "odd/a b#c?d.dcm", sampledata.synthetic_instance())
    upload(bucket, "odd/ü.dcm", sampledata.synthetic_instance())
    result = run_import(ctx, _body(f"gs://{bucket.name}/odd/*"))
    assert (result.success, result.failure) == (2, 0)


def test_no_match_fails_not_found_naming_the_pattern(ctx, bucket):
    upload(bucket, "x/a.dcm", sampledata.synthetic_instance())
    pattern = f"gs://{bucket.name}/y/*.dcm"
    with pytest.raises(OperationFailed) as failure:
        run_import(ctx, _body(pattern))
    assert failure.value.code == NOT_FOUND
    assert pattern in failure.value.message and "resolved to zero objects" in failure.value.message
    assert ctx.counters == [] and ctx.stored == {}


def test_missing_bucket_fails_not_found(ctx):
    with pytest.raises(OperationFailed) as failure:
        run_import(ctx, _body("gs://no-such-bucket-data-plane/*.dcm"))
    assert failure.value.code == NOT_FOUND and "does not exist" in failure.value.message


def test_permission_denied_propagates_before_reading(ctx, bucket):
    upload(bucket, "a.dcm", sampledata.synthetic_instance())
    ctx.denied.add((f"gs://{bucket.name}", "read"))
    with pytest.raises(PermissionDenied):
        run_import(ctx, _body(f"gs://{bucket.name}/a.dcm"))
    assert ctx.stored == {} and ctx.counters == []


def test_cancellation_stops_the_job(ctx, bucket):
    for index in range(10):
        upload(bucket, f"c/{index}.dcm", sampledata.synthetic_instance(seed=index))
    ctx.cancel_after = 3
    with pytest.raises(JobCancelled):
        run_import(ctx, _body(f"gs://{bucket.name}/c/*"))
    assert len(ctx.stored) <= 3


def test_blob_storage_class_is_passed_on(ctx, bucket):
    upload(bucket, "a.dcm", sampledata.synthetic_instance())
    run_import(ctx, _body(f"gs://{bucket.name}/a.dcm", blobStorageSettings={"blobStorageClass": "COLDLINE"}))
    assert [i.blob_storage_class for i in ctx.stored.values()] == ["COLDLINE"]


@pytest.mark.parametrize("body,field", [
    ({}, "gcsSource"),
    ({"gcsSource": {}}, "gcsSource.uri"),
    ({"gcsSource": {"uri": "https://storage.googleapis.com/b/x"}}, "gcsSource.uri"),
    ({"gcsSource": {"uri": "gs://bkt/a/**/b"}}, "gcsSource.uri"),
    ({"gcsSource": {"uri": "gs://bkt/a"}, "blobStorageSettings": {"blobStorageClass": "HOT"}},
     "blobStorageSettings.blobStorageClass"),
])
def test_import_request_validation(body, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        validate_import_request(body)


@pytest.mark.parametrize("body,spoiled,field", [
    ({"gcsSource": {"uri": "gs://bkt/dir/**.dcm"}}, {"gcsSource": {"uri": "gs://bkt/dir/**/x.dcm"}},
     "gcsSource.uri"),
    ({"gcsSource": {"uri": "gs://bkt/x"}, "blobStorageSettings": {"blobStorageClass": "ARCHIVE"}},
     {"gcsSource": {"uri": "gs://bkt/x"}, "blobStorageSettings": {"blobStorageClass": "ARCHIVED"}},
     "blobStorageSettings.blobStorageClass"),
])
def test_import_request_validation_accepts_good_bodies(body, spoiled, field):
    assert validate_import_request(body) is None
    # the same body with that one field spoiled is refused: a validator that let
    # everything through could not pass this test
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        validate_import_request(spoiled)
