"""(5) Resident memory of the host while 100 jobs wait.

The host (``python -m pulumi.dynamic`` and any children) is measured from
``/proc/PID/status`` ``VmRSS``. Baseline, same host: after the provider was
imported (one Check), before any job. Then 100 Creates start; once the
emulator lists 100 running operations, RSS is sampled while they wait
(``operationMinSeconds`` keeps them running) and the peak is reported.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from benchmarks import fixtures
from healthcare_emulator.waiting import poll
from benchmarks.common import Results
from tests.support.cloud import Cloud
from tests.support.procfs import peak_while_waiting, process_tree_rss_kb

JOBS = 100
LIMIT_MB = 150.0


def run(results: Results, stack_env: dict, cloud: Cloud) -> None:
    cloud.admin.config(operationMinSeconds=600.0, instanceDelaySeconds=0.0)
    src = fixtures.source(cloud.gcs, 1)
    dataset = cloud.api.create_dataset()
    stores = [fixtures.new_store(cloud.api, dataset) for _ in range(JOBS)]
    provider = fixtures.import_provider()
    host = fixtures.host(stack_env).start()
    threads = ThreadPoolExecutor(max_workers=JOBS)
    try:
        host.check(fixtures.URN.format(0), {}, fixtures.import_inputs(stores[0], src.uri, provider))
        idle_kb = process_tree_rss_kb(host.process.pid)
        futures = [threads.submit(host.create, fixtures.URN.format(i),
                                  fixtures.import_inputs(store, src.uri, provider), 900)
                   for i, store in enumerate(stores)]
        running = lambda: sum(1 for op in cloud.admin.operations()  # noqa: E731
                              if "DicomService" in op.get("apiMethodName", "") and not op["done"])
        poll(lambda: running() >= JOBS, deadline_s=120, what=f"{JOBS} running operations")
        peak_kb, threads_seen = peak_while_waiting(host.process.pid)
        assert not any(f.done() for f in futures), "a job finished early"
    finally:
        host.kill()
        threads.shutdown(wait=True, cancel_futures=True)
        cloud.admin.reset()
    peak_mb, idle_mb = peak_kb / 1024, idle_kb / 1024
    results.add("5 memory", f"host RSS, {JOBS} jobs waiting: MB", f"{peak_mb:.1f}",
                f"idle host: {idle_mb:.1f}", f"{peak_mb / idle_mb:.2f}x", f"<= {LIMIT_MB:g} MB",
                peak_mb <= LIMIT_MB)
    results.note(f"memory: host threads while {JOBS} jobs waited: {threads_seen}")
