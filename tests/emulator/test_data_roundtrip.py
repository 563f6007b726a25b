"""1,000 generated instances: GCS → run_import → run_export to GCS and to BigQuery.

Correctness only; the time it takes is benchmark (6), ``benchmarks/bench_roundtrip.py``.

Runs against Cloud Storage emulators of its own (see ``private_storage``): the
session server would make every write pay for every other test's objects.
Sources and export destination live on two servers (the job context of the
export points at the second), which halves the cost of the export's writes.
"""

from __future__ import annotations

from healthcare_emulator import sampledata
from support.data import new_dataset, query_rows, storage_client
from support.jobcontext import FakeContext
from healthcare_emulator.jobs import run_export, run_import

COUNT = 1000


def test_thousand_instances_round_trip(private_storage, private_storage_2, stack, bq):
    gcs = storage_client(private_storage.storage_url)
    bucket = gcs.create_bucket("roundtrip-bucket")
    ctx = FakeContext(storage_url=private_storage.storage_url, bigquery_url=stack.bigquery_url)
    files = list(sampledata.synthetic_instances(COUNT, per_study=50))
    uids = {u.sop: u for u in map(sampledata.uids_of, files)}
    assert len(uids) == COUNT
    for index, data in enumerate(files):
        bucket.blob(f"in/{index // 100}/{index:04d}.dcm").upload_from_string(data)

    result = run_import(ctx, {"gcsSource": {"uri": f"gs://{bucket.name}/in/**.dcm"}})
    assert (result.success, result.failure) == (COUNT, 0) and ctx.last == (COUNT, 0, 0)
    assert set(ctx.stored) == set(uids)
    assert all(ctx.stored[sampledata.uids_of(d).sop].data == d for d in files[::50])

    out_gcs = storage_client(private_storage_2.storage_url)
    out_bucket = out_gcs.create_bucket("roundtrip-out")
    ctx.storage_url = private_storage_2.storage_url
    result = run_export(ctx, {"gcsDestination": {"uriPrefix": f"gs://{out_bucket.name}/out"}})
    assert (result.success, result.failure) == (COUNT, 0)
    exported = {blob.name for blob in out_gcs.list_blobs(out_bucket.name, prefix="out/")}
    assert exported == {f"out/{u.study}/{u.series}/{u.sop}.dcm" for u in uids.values()}
    for name in sorted(exported)[::97]:
        assert sampledata.uids_of(out_bucket.blob(name).download_as_bytes()).sop == name.rsplit("/", 1)[1][:-4]

    table = f"local-project.{new_dataset(bq)}.all"
    result = run_export(ctx, {"bigqueryDestination": {"tableUri": f"bq://{table}"}})
    assert (result.success, result.failure) == (COUNT, 0)
    rows = query_rows(bq, f"SELECT StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID FROM `{table}`")
    assert len(rows) == COUNT
    assert {(r["StudyInstanceUID"], r["SeriesInstanceUID"], r["SOPInstanceUID"]) for r in rows} == \
        {(u.study, u.series, u.sop) for u in uids.values()}
    # How long this takes is a benchmark figure (benchmarks/bench_roundtrip.py: seconds per
    # instance against plain uploads in the same run), not a test's verdict.
