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

Jobs that report no counter (:func:`run_silent`): 200 per waiter, ending
evenly from 4 to 16 s, on a loopback server whose operations carry no
``counter`` and are done at their set end (the emulator's jobs always
count). Why 200: api-core's lag on one job is a uniform draw from a gap of
up to 5-10 s, so its mean needs many jobs to settle; 1,000 simulated runs
of this bench (both schedules on a fake clock) put the api-core/ours lag
ratio between 1.33 and 1.87 (1st to 99th percentile) with 200 jobs, 1.25 to
1.97 with 100 and 1.15 to 2.21 with 50, and ours never behind on lag or
calls at 100 or more.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from benchmarks import fixtures
from benchmarks.apicore_baseline import wait_with_api_core
from benchmarks.common import TOKEN, Results, median, rfc3339_to_epoch
from tests.support.cloud import Cloud
from tests.support.scripted import ScriptedApi
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import JobFailed

INSTANCE_SECONDS = 0.25
#: job length (s) -> repetitions per waiter
CASES = {3: 16, 20: 10, 90: 6}
#: Jobs without counters: how many per waiter, their lengths (evenly spread), run in waves of pairs.
SILENT_JOBS, SILENT_SHORTEST, SILENT_LONGEST, SILENT_WAVE = 200, 4.0, 16.0, 100
SILENT_DATASET = "projects/bench/locations/l/datasets/silent"


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
    run_silent(results)


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SilentOperations:
    """Operations that report no counter, each done at its set end (epoch seconds)."""

    def __init__(self) -> None:
        self.created: dict[str, float] = {}
        self.ends: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.created[name] = time.time()
        self.ends[name] = self.created[name] + seconds

    def answer(self, call) -> tuple[int, dict]:
        name = call.path.split("/v1/", 1)[1]
        metadata = {"@type": "type.googleapis.com/google.cloud.healthcare.v1.OperationMetadata",
                    "apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ExportDicomData",
                    "createTime": _rfc3339(self.created[name])}
        operation: dict = {"name": name, "metadata": metadata}
        if time.time() >= self.ends[name]:
            metadata["endTime"] = _rfc3339(self.ends[name])
            operation.update(done=True, response={
                "@type": "type.googleapis.com/google.cloud.healthcare.v1.dicom.ExportDicomDataResponse"})
        return 200, operation


def run_silent(results: Results) -> None:
    """Jobs without counters, ours and api-core's side by side (see the module docstring)."""
    lengths = [SILENT_SHORTEST + (SILENT_LONGEST - SILENT_SHORTEST) * (i + 0.5) / SILENT_JOBS
               for i in range(SILENT_JOBS)]
    operations = SilentOperations()
    stats: dict[str, dict[str, list[float]]] = {"ours": {"lag": [], "gets": []}, "api-core": {"lag": [], "gets": []}}
    saved = os.environ.get("HEALTHCARE_EMULATOR_HOST")
    with ScriptedApi({("GET", r"/operations/[^/]+$"): operations.answer}, max_calls=10 ** 6) as server:
        os.environ["HEALTHCARE_EMULATOR_HOST"] = server.host  # ours reaches it as it reaches the emulator
        try:
            for wave in range(0, SILENT_JOBS, SILENT_WAVE):
                with ThreadPoolExecutor(max_workers=2 * SILENT_WAVE) as threads:
                    futures = []
                    for index in range(wave, min(wave + SILENT_WAVE, SILENT_JOBS)):
                        for waiter in ("ours", "api-core"):
                            name = f"{SILENT_DATASET}/operations/{index}{'1' if waiter == 'ours' else '2'}"
                            operations.add(name, lengths[index])
                            fn = _ours if waiter == "ours" else _apicore
                            futures.append((waiter, name, threads.submit(fn, server.url, name)))
                    for waiter, name, future in futures:
                        stats[waiter]["lag"].append(max(0.0, future.result() - operations.ends[name]))
                        stats[waiter]["gets"].append(len(server.calls_to("GET", f"/{name}$")))
        finally:
            if saved is None:
                os.environ.pop("HEALTHCARE_EMULATOR_HOST", None)
            else:
                os.environ["HEALTHCARE_EMULATOR_HOST"] = saved
    ours, core = stats["ours"], stats["api-core"]
    lag_o, lag_c = statistics.mean(ours["lag"]), statistics.mean(core["lag"])
    gets_o, gets_c = statistics.mean(ours["gets"]), statistics.mean(core["gets"])
    span = f"{SILENT_SHORTEST:g}-{SILENT_LONGEST:g}s"
    results.add("2 waiter", f"no counters, {span} jobs: mean lag s (n={SILENT_JOBS})", f"{lag_o:.2f}",
                f"api-core: {lag_c:.2f}", f"{lag_c / max(lag_o, 1e-3):.2f}x lower", "<= api-core", lag_o <= lag_c)
    results.add("2 waiter", f"no counters, {span} jobs: mean operations.get calls", f"{gets_o:.2f}",
                f"api-core: {gets_c:.2f}", f"{gets_o / gets_c:.2f}x", "<= api-core", gets_o <= gets_c)
    results.note(f"waiter, no counters ({SILENT_JOBS} jobs per waiter, {span}): lag median/p90 ours "
                 f"{median(ours['lag']):.2f}/{_p90(ours['lag']):.2f} s, api-core {median(core['lag']):.2f}/"
                 f"{_p90(core['lag']):.2f} s; calls min-max ours {min(ours['gets'])}-{max(ours['gets'])}, "
                 f"api-core {min(core['gets'])}-{max(core['gets'])}")


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]
