"""(6) The provider plugin: concurrent creates, and its memory while many jobs wait.

The plugin runs as the engine runs it: ``pulumi-resource-dicom-jobs`` started
with the address of an engine (here a minimal ``Log`` service that drops
every message), driven over gRPC with ``ResourceProviderStub``.

* 64 concurrent Creates of imports that last ``JOB_SECONDS`` each (the
  emulator works through ``INSTANCES`` files at ``JOB_SECONDS / INSTANCES``
  each), against one such Create alone, same process: the plugin's own
  executor must not queue them (target <= 1.2x).
* The plugin's RSS (process tree, ``VmRSS``) while 500 Creates wait on
  operations held open (``operationMinSeconds``), against the idle plugin
  (target <= 200 MB). The waits are then ended by ``Cancel``.
"""

from __future__ import annotations

import time

import grpc

from benchmarks import fixtures
from benchmarks.common import Results, rfc3339_to_epoch
from healthcare_emulator.waiting import poll
from tests.support.cloud import Cloud
from tests.support.plugin import PluginProcess, RecordingEngine
from tests.support.procfs import peak_while_waiting, process_tree_rss_kb

JOBS = 64
JOB_SECONDS = 5.0
INSTANCES = 10
RATIO_LIMIT = 1.2
WAITING_JOBS = 500
LIMIT_MB = 200.0


class _Plugin:
    """The plugin process as the engine starts it (the tests' launcher), and its engine."""

    def __init__(self, stack_env: dict) -> None:
        self.engine = RecordingEngine()
        self.engine.server.start()
        self.process = PluginProcess(self.engine.address, stack_env)
        self.process.configure()

    def create(self, index: int, store: str, uri: str) -> grpc.Future:
        return self.process.create_future({"dicomStore": store, "gcsSource": {"uri": uri}}, name=f"job-{index}")

    def close(self) -> None:
        self.process.stop()
        self.engine.server.stop(grace=None)


def _creates(plugin: _Plugin, stores: list[str], uri: str) -> float:
    started = time.monotonic()
    calls = [plugin.create(i, store, uri) for i, store in enumerate(stores)]
    for call in calls:
        call.result()
    return time.monotonic() - started


def _operations_span(cloud: Cloud, stores: list[str]) -> float:
    """Seconds from the first operation's createTime to the last one's endTime (the emulator's own)."""
    names = [op["name"] for op in cloud.admin.operations() if op.get("store") in set(stores)]
    metas = [cloud.api.operation(name)["metadata"] for name in names]
    return (max(rfc3339_to_epoch(m["endTime"]) for m in metas)
            - min(rfc3339_to_epoch(m["createTime"]) for m in metas))


def _concurrency(results: Results, stack_env: dict, cloud: Cloud) -> None:
    cloud.admin.config(operationMinSeconds=0.0, instanceDelaySeconds=JOB_SECONDS / INSTANCES)
    src = fixtures.source(cloud.gcs, INSTANCES)
    plugin = _Plugin(stack_env)
    try:
        one = _creates(plugin, [fixtures.new_store(cloud.api, cloud.api.create_dataset())], src.uri)
        dataset = cloud.api.create_dataset()
        stores = [fixtures.new_store(cloud.api, dataset) for _ in range(JOBS)]
        many = _creates(plugin, stores, src.uri)
        span = _operations_span(cloud, stores)
    finally:
        plugin.close()
        cloud.admin.config(instanceDelaySeconds=0.0)
    results.add("6 plugin", f"{JOBS} creates through the plugin: wall s", f"{many:.2f}", f"1 job: {one:.2f}",
                f"{many / one:.2f}x", f"<= {RATIO_LIMIT:g}x", many / one <= RATIO_LIMIT)
    results.note(f"plugin: the {JOBS} operations themselves spanned {span:.2f}s from the first createTime to "
                 f"the last endTime (the emulator's work on these cores); the plugin added {many - span:.2f}s")


def _memory(results: Results, stack_env: dict, cloud: Cloud) -> None:
    cloud.admin.config(operationMinSeconds=600.0, instanceDelaySeconds=0.0)
    src = fixtures.source(cloud.gcs, 1)
    dataset = cloud.api.create_dataset()
    stores = [fixtures.new_store(cloud.api, dataset) for _ in range(WAITING_JOBS)]
    plugin = _Plugin(stack_env)
    try:
        idle_kb = process_tree_rss_kb(plugin.process.proc.pid)
        calls = [plugin.create(i, store, src.uri) for i, store in enumerate(stores)]
        running = lambda: sum(1 for op in cloud.admin.operations() if not op["done"])  # noqa: E731
        poll(lambda: running() >= WAITING_JOBS, deadline_s=300, what=f"{WAITING_JOBS} running operations")
        peak_kb, threads_seen = peak_while_waiting(plugin.process.proc.pid)
        assert not any(call.done() for call in calls), "a job finished early"
        cancel_started = time.monotonic()
        plugin.process.cancel()
        for call in calls:
            try:
                call.result()
            except grpc.RpcError:
                pass  # interrupted, as asked
        cancel_s = time.monotonic() - cancel_started
    finally:
        plugin.close()
        cloud.admin.reset()
    peak_mb, idle_mb = peak_kb / 1024, idle_kb / 1024
    results.add("6 plugin", f"plugin RSS, {WAITING_JOBS} jobs waiting: MB", f"{peak_mb:.1f}",
                f"idle plugin: {idle_mb:.1f}", f"{peak_mb / idle_mb:.2f}x", f"<= {LIMIT_MB:g} MB",
                peak_mb <= LIMIT_MB)
    results.note(f"plugin: threads while {WAITING_JOBS} jobs waited: {threads_seen}; Cancel ended all "
                 f"{WAITING_JOBS} waits (cancelling each operation) in {cancel_s:.1f}s")


def run(results: Results, stack_env: dict, cloud: Cloud) -> None:
    _concurrency(results, stack_env, cloud)
    cloud.admin.reset()
    _memory(results, stack_env, cloud)
