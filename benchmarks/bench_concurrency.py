"""(1) 32 concurrent Creates through the real dynamic provider host.

Each Create starts an import of ``INSTANCES`` files that the emulator works
through at ``JOB_SECONDS / INSTANCES`` per file, so every operation lasts
``JOB_SECONDS`` and reports progress the way real imports do (its counters
move). An operation held open without progress (``operationMinSeconds``)
measures the waiter's no-progress backoff instead, whose worst case over 32
jittered jobs then sets the wall time. Baselines, same run: one job alone
(the floor) and 32 jobs with the pool widening switched off
(``DICOM_JOBS_HOST_POOL=off``: the SDK's stock 4 workers).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks import fixtures
from benchmarks.common import Results
from tests.support.cloud import Cloud

JOBS = 32
JOB_SECONDS = 5.0
INSTANCES = 10


def _run(stack_env: dict, cloud: Cloud, src: fixtures.Source, jobs: int, pool: str | None) -> float:
    dataset = cloud.api.create_dataset()
    stores = [fixtures.new_store(cloud.api, dataset) for _ in range(jobs)]
    provider = fixtures.import_provider()
    with fixtures.host(stack_env, pool) as host:
        host.check(fixtures.URN.format(0), {}, fixtures.import_inputs(stores[0], src.uri, provider))  # warm import
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=jobs) as threads:
            futures = [threads.submit(host.create, fixtures.URN.format(i),
                                      fixtures.import_inputs(store, src.uri, provider), 600)
                       for i, store in enumerate(stores)]
            for future in futures:
                future.result()
        return time.monotonic() - started


def run(results: Results, stack_env: dict, cloud: Cloud) -> None:
    cloud.admin.config(operationMinSeconds=0.0, instanceDelaySeconds=JOB_SECONDS / INSTANCES)
    src = fixtures.source(cloud.gcs, INSTANCES)
    one = _run(stack_env, cloud, src, 1, None)
    many = _run(stack_env, cloud, src, JOBS, None)
    stock = _run(stack_env, cloud, src, JOBS, "off")
    cloud.admin.config(instanceDelaySeconds=0.0)
    results.add("1 concurrency", f"{JOBS} creates, widened pool: wall s", f"{many:.2f}",
                f"1 job: {one:.2f}", f"{many / one:.2f}x", "<= 1.5x", many / one <= 1.5)
    results.add("1 concurrency", f"{JOBS} creates, stock pool (off): wall s", f"{stock:.2f}",
                f"1 job: {one:.2f}", f"{stock / one:.2f}x", "-", None)
    results.add("1 concurrency", "widened vs stock", f"{many:.2f}", f"stock: {stock:.2f}",
                f"{many / stock:.2f}x", "-", None)
