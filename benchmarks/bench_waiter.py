"""(2) Our operation waiter vs google-api-core's default LRO polling.

Jobs with steady progress: ``n`` instances at ``instanceDelaySeconds`` each
(3 s, 20 s and 90 s). For every job, one operation is waited on by
``pulumi_dicom_jobs.jobs.wait`` and an identical one, started at the same
moment, by api-core's ``PollingFuture`` defaults. Measured per waiter:
completion lag (operation ``endTime`` -> wait returns) and the number of
``operations.get`` calls (the emulator's request log, per operation name).
All jobs run concurrently, so the bench takes about as long as the 90 s job.

Sample sizes: api-core's lag on one job is spread over its whole (randomly
drawn) poll gap, so the median of a few samples is luck: with 4 samples
per length, earlier runs put the 3 s ratio anywhere from 1.4x to 3.5x.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks import fixtures
from benchmarks.apicore_baseline import wait_with_api_core
from benchmarks.common import TOKEN, Results, median, rfc3339_to_epoch
from tests.support.cloud import Cloud
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import JobFailed

INSTANCE_SECONDS = 0.25
#: job length (s) -> repetitions per waiter
CASES = {3: 16, 20: 10, 90: 6}


def _start(cloud: Cloud, store: str, uri: str) -> str:
    return cloud.api.start(store, "import", {"gcsSource": {"uri": uri}})


def _ours(base_url: str, name: str) -> float:
    with HealthcareClient() as client:
        try:
            jobs.wait(client, name, timeout_seconds=900)
        except JobFailed:
            pass
    return time.time()


def _apicore(base_url: str, name: str) -> float:
    wait_with_api_core(base_url, name, TOKEN)
    return time.time()


def run(results: Results, stack_env: dict, cloud: Cloud) -> None:
    cloud.admin.config(instanceDelaySeconds=INSTANCE_SECONDS, operationMinSeconds=0.0)
    sources = {seconds: fixtures.source(cloud.gcs, int(seconds / INSTANCE_SECONDS), prefix=f"s{seconds}")
               for seconds in CASES}
    dataset = cloud.api.create_dataset()
    jobs = []  # (seconds, waiter name, operation name)
    for seconds, reps in CASES.items():
        for _ in range(reps):
            for waiter in ("ours", "api-core"):
                jobs.append((seconds, waiter, fixtures.new_store(cloud.api, dataset)))
    base = cloud.api.base_url
    with ThreadPoolExecutor(max_workers=len(jobs)) as threads:
        futures = []
        for seconds, waiter, store in jobs:
            name = _start(cloud, store, sources[seconds].uri)
            fn = _ours if waiter == "ours" else _apicore
            futures.append((seconds, waiter, name, threads.submit(fn, base, name)))
        finished = [(s, w, n, f.result()) for s, w, n, f in futures]
    log = cloud.admin.requests_log()
    ops = {op["name"]: op for op in cloud.admin.operations()}
    stats: dict[tuple[int, str], dict[str, list[float]]] = {}
    for seconds, waiter, name, returned in finished:
        op = cloud.api.operation(name)  # after the fact: endTime
        end = rfc3339_to_epoch(op["metadata"]["endTime"])
        gets = sum(1 for r in log if r["method"] == "GET" and r["path"] == f"/v1/{name}")
        entry = stats.setdefault((seconds, waiter), {"lag": [], "gets": []})
        entry["lag"].append(max(0.0, returned - end))
        entry["gets"].append(gets)
        assert name in ops
    for seconds, reps in CASES.items():
        ours, core = stats[(seconds, "ours")], stats[(seconds, "api-core")]
        lag_o, lag_c = median(ours["lag"]), median(core["lag"])
        gets_o, gets_c = median(ours["gets"]), median(core["gets"])
        results.add("2 waiter", f"{seconds}s job: median lag s (n={reps})", f"{lag_o:.2f}",
                    f"api-core: {lag_c:.2f}", f"{lag_c / max(lag_o, 1e-3):.1f}x lower",
                    ">= 2x lower", lag_c >= 2 * lag_o)
        results.add("2 waiter", f"{seconds}s job: operations.get calls", f"{gets_o:g}",
                    f"api-core: {gets_c:g}", f"{gets_o / gets_c:.2f}x",
                    "<= api-core", max(ours["gets"]) <= min(core["gets"]) or gets_o <= gets_c)
        results.note(f"waiter {seconds}s raw: ours lag={['%.2f' % v for v in ours['lag']]} "
                     f"gets={ours['gets']}; api-core lag={['%.2f' % v for v in core['lag']]} "
                     f"gets={core['gets']}")
    cloud.admin.config(instanceDelaySeconds=0.0)
