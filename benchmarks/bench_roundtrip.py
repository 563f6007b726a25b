"""(6) The emulator's data plane on 1,000 instances: seconds per instance.

``tests/emulator/test_data_roundtrip.py`` proves the round trip is right
(every instance imported and exported, byte for byte); how long it takes is
this figure. The emulator's import job and its export job to Cloud Storage
run directly (no HTTP service layer, as in that test) against a Cloud Storage
emulator of their own (``gcp-storage-emulator`` rewrites its metadata on
every write, so a shared server would make this measure everyone's objects).
Baseline, same run and same server: plain uploads of the same files with
google-cloud-storage, per instance. Export to BigQuery is left out: the
benchmarks' stack runs no BigQuery emulator.
"""

from __future__ import annotations

import time

from benchmarks.common import Results
from healthcare_emulator import sampledata
from healthcare_emulator.jobs import run_export, run_import
from healthcare_emulator.stack import LocalStack
from tests.support.cloud import Cloud
from tests.support.data import storage_client
from tests.support.jobcontext import FakeContext

COUNT = 1000


class _StorageOnly(LocalStack):
    """Just a gcp-storage-emulator process (no Healthcare emulator)."""

    def _start_healthcare(self) -> None:
        return None


def run(results: Results, _stack_env: dict, _cloud: Cloud) -> None:
    files = list(sampledata.synthetic_instances(COUNT, per_study=50))
    with _StorageOnly(with_bigquery=False) as source, _StorageOnly(with_bigquery=False) as target:
        gcs = storage_client(source.storage_url)
        bucket = gcs.create_bucket("roundtrip-bucket")
        t0 = time.monotonic()
        for index, data in enumerate(files):
            bucket.blob(f"in/{index // 100}/{index:04d}.dcm").upload_from_string(data)
        upload = (time.monotonic() - t0) / COUNT

        ctx = FakeContext(storage_url=source.storage_url)
        t0 = time.monotonic()
        result = run_import(ctx, {"gcsSource": {"uri": f"gs://{bucket.name}/in/**.dcm"}})
        imported = (time.monotonic() - t0) / COUNT
        assert (result.success, result.failure) == (COUNT, 0), result

        out = storage_client(target.storage_url).create_bucket("roundtrip-out")
        ctx.storage_url = target.storage_url
        t0 = time.monotonic()
        result = run_export(ctx, {"gcsDestination": {"uriPrefix": f"gs://{out.name}/out"}})
        exported = (time.monotonic() - t0) / COUNT
        assert (result.success, result.failure) == (COUNT, 0), result

    baseline = f"upload: {upload * 1000:.2f}"
    results.add("7 round trip", f"import {COUNT} instances: ms per instance", f"{imported * 1000:.2f}",
                baseline, f"{imported / upload:.2f}x", "-", None)
    results.add("7 round trip", f"export {COUNT} to GCS: ms per instance", f"{exported * 1000:.2f}",
                baseline, f"{exported / upload:.2f}x", "-", None)
