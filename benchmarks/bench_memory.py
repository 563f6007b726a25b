"""(5) Resident memory of the host while 100 jobs wait.

The host (``python -m pulumi.dynamic`` and any children) is measured from
``/proc/PID/status`` ``VmRSS``. Baseline, same host: after the provider was
imported (one Check), before any job. Then 100 Creates start; once the
emulator lists 100 running operations, RSS is sampled while they wait
(``operationMinSeconds`` keeps them running) and the peak is reported.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks import fixtures
from benchmarks.common import Emulator, Results, Storage, process_tree_rss_kb, thread_count, wait_for

JOBS = 100
LIMIT_MB = 150.0


def run(results: Results, stack_env: dict, emulator: Emulator, storage: Storage) -> None:
    emulator.config(operationMinSeconds=600.0, instanceDelaySeconds=0.0)
    src = fixtures.source(storage, 1)
    dataset = emulator.dataset()
    stores = [fixtures.new_store(emulator, dataset) for _ in range(JOBS)]
    provider = fixtures.import_provider()
    host = fixtures.host(stack_env).start()
    threads = ThreadPoolExecutor(max_workers=JOBS)
    try:
        host.check(fixtures.URN.format(0), {}, fixtures.import_inputs(stores[0], src.uri, provider))
        idle_kb = process_tree_rss_kb(host.process.pid)
        futures = [threads.submit(host.create, fixtures.URN.format(i),
                                  fixtures.import_inputs(store, src.uri, provider), 900)
                   for i, store in enumerate(stores)]
        running = lambda: sum(1 for op in emulator.operations()  # noqa: E731
                              if "DicomService" in op.get("apiMethodName", "") and not op["done"])
        wait_for(lambda: running() >= JOBS, 120, f"{JOBS} running operations")
        peak_kb, threads_seen = 0, 0
        for _ in range(10):
            peak_kb = max(peak_kb, process_tree_rss_kb(host.process.pid))
            threads_seen = max(threads_seen, thread_count(host.process.pid))
            time.sleep(0.3)
        assert not any(f.done() for f in futures), "a job finished early"
    finally:
        host.kill()
        threads.shutdown(wait=True, cancel_futures=True)
        emulator.reset()
    peak_mb, idle_mb = peak_kb / 1024, idle_kb / 1024
    results.add("5 memory", f"host RSS, {JOBS} jobs waiting: MB", f"{peak_mb:.1f}",
                f"idle host: {idle_mb:.1f}", f"{peak_mb / idle_mb:.2f}x", f"<= {LIMIT_MB:g} MB",
                peak_mb <= LIMIT_MB)
    results.note(f"memory: host threads while {JOBS} jobs waited: {threads_seen}")
