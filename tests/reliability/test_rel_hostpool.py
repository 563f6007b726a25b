"""The dynamic provider host runs many Creates at once (hostpool).

Property, not timing: 12 Creates whose work blocks until the test releases
them must all have *started* before any is released. With the SDK's stock
4-worker pool only 4 can start, so this fails loudly the day the mechanism
stops working (an SDK or grpcio upgrade changing the internals it relies on).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from pulumi.dynamic.dynamic import serialize_provider
from healthcare_emulator.waiting import PollTimeout, poll
from pulumi_offline.host import DynamicProviderHost
from pulumi_dicom_jobs import settings
from pulumi_dicom_jobs.dynamic import hostpool

SUPPORT = Path(__file__).parent / "_support"
sys.path.insert(0, str(SUPPORT))
import rel_blocking_provider  # noqa: E402  (must be importable by reference)

N = 12
URN = "urn:pulumi:stack::project::pulumi-python:dynamic/rel:Blocking::job-{}"
_DEADLINE_S = 60.0


def _host(tmp_path: Path, pool_env: str | None) -> DynamicProviderHost:
    env = {
        "PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")]),
        "REL_HOSTPOOL_STATUS_FILE": str(tmp_path / "hostpool-status.json"),
    }
    if pool_env is None:
        env[settings.HOST_POOL_ENV] = ""
    else:
        env[settings.HOST_POOL_ENV] = pool_env
    return DynamicProviderHost(env=env)


def _wait_for(predicate, what: str, deadline_s: float = _DEADLINE_S):
    """Whether ``predicate`` held within the deadline (falsy, not an error, when it did not:
    the callers' own assertions say what it means)."""
    try:
        return poll(predicate, deadline_s=deadline_s, what=what)
    except PollTimeout:
        return predicate()


def _started(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.started"))


def _inputs(folder: Path, name: str, provider: str) -> dict:
    return {"name": name, "dir": str(folder), "__provider": provider}


def _run_blocking_creates(host: DynamicProviderHost, folder: Path, count: int):
    provider = serialize_provider(rel_blocking_provider.BlockingProvider())
    pool = ThreadPoolExecutor(max_workers=count)
    futures = [pool.submit(host.create, URN.format(i), _inputs(folder, f"job{i}", provider), 120)
               for i in range(count)]
    return provider, pool, futures


def test_twelve_creates_run_at_the_same_time_in_the_real_host(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with _host(tmp_path, None) as host:
        provider, pool, futures = _run_blocking_creates(host, work, N)
        try:
            all_started = _wait_for(lambda: len(_started(work)) == N, "all creates started")
            started = _started(work)
            status = json.loads((tmp_path / "hostpool-status.json").read_text())
            assert all_started, (
                f"HOST POOL MECHANISM BROKEN: only {len(started)} of {N} blocking Creates were "
                f"running at the same time in `python -m pulumi.dynamic` (stock SDK pool is 4). "
                f"hostpool status inside the host: {status}; host stderr: {host.stderr_lines[-10:]}")
            assert not any(f.done() for f in futures), "a Create returned before it was released"
            assert status["outcome"] == "widened", status
            assert status["previous_max_workers"] == 4, status
            assert status["max_workers"] >= hostpool.DEFAULT_TARGET, status
            assert status["found_via"] == "main-frame", status
        finally:
            (work / "release").write_text("go")
            results = [f.result(timeout=_DEADLINE_S) for f in futures]
            pool.shutdown()
        assert sorted(r[0] for r in results) == sorted(f"blocking-job{i}" for i in range(N))

        # The host still answers everything normally afterwards.
        news = _inputs(work, "job0", provider)
        check = host.check(URN.format(0), {}, news)
        assert check.failures == [] and check.inputs["name"] == "job0"
        bad = host.check(URN.format(0), {}, {**news, "name": ""})
        assert bad.failures == [("name", "name is required")]
        olds = {**results[0][1]}
        assert not host.diff(URN.format(0), "blocking-job0", olds, news).has_changes
        changed = host.diff(URN.format(0), "blocking-job0", olds, {**news, "name": "other"})
        assert changed.has_changes and changed.replaces == ["name"]
        host.delete(URN.format(0), "blocking-job0", olds)
        assert (work / "job0.deleted").read_text() == "blocking-job0"
        # Exactly one warning-free import: nothing about the pool on stderr.
        assert not [line for line in host.stderr_lines if "pulumi-dicom-jobs:" in line]


def test_switch_off_keeps_the_stock_pool_of_four(tmp_path: Path) -> None:
    """Control: the property above is meaningful (stock runs only four)."""
    work = tmp_path / "work"
    work.mkdir()
    with _host(tmp_path, "off") as host:
        _, pool, futures = _run_blocking_creates(host, work, 6)
        try:
            assert _wait_for(lambda: len(_started(work)) >= 4, "four creates started")
            status = json.loads((tmp_path / "hostpool-status.json").read_text())
            assert status["outcome"] == "disabled", status
        finally:
            (work / "release").write_text("go")
            for f in futures:
                f.result(timeout=_DEADLINE_S)
            pool.shutdown()
        assert len(_started(work)) == 6
        # At most four ran at once: each Create counted the running ones when it began.
        # (The wait above shows at least four; a pool widened despite the switch starts
        # the other two while the first four are still blocked, and they count six.)
        running = [int(p.read_text()) for p in work.glob("*.running")]
        assert len(running) == 6 and max(running) == 4, running


# -- in-process behaviour: outside the host, and against unexpected internals --
def test_outside_the_host_it_does_nothing_and_says_so(capsys) -> None:
    status = hostpool.ensure_host_concurrency()
    assert status.outcome == "not-in-host" and not status.in_host and not status.changed
    assert capsys.readouterr().err == ""


class _FakeMain(SimpleNamespace):
    pass


def _fake_main() -> _FakeMain:
    return _FakeMain(__file__=os.path.join("x", "pulumi", "dynamic", "__main__.py"), __spec__=None)


@pytest.mark.parametrize("server", [
    None,                                                             # server not found
    SimpleNamespace(_state=SimpleNamespace(thread_pool=object(), maximum_concurrent_rpcs=None)),
    SimpleNamespace(_state=SimpleNamespace(thread_pool=ThreadPoolExecutor(2),
                                           maximum_concurrent_rpcs=8)),  # capped server
])
def test_unexpected_internals_fall_back_with_one_warning(monkeypatch, capsys, server) -> None:
    monkeypatch.setattr(hostpool, "_warned", False)
    monkeypatch.delenv(settings.HOST_POOL_ENV, raising=False)
    for _ in range(3):
        status = hostpool._ensure(16, _fake_main(), lambda main: (server, "gc"))
        assert status.outcome == "unsupported" and status.in_host and status.reason
    err = capsys.readouterr().err
    assert err.count("pulumi-dicom-jobs:") == 1 and "stock worker pool" in err


def test_widening_a_real_executor_is_idempotent_and_thread_safe(monkeypatch) -> None:
    monkeypatch.delenv(settings.HOST_POOL_ENV, raising=False)
    pool = ThreadPoolExecutor(max_workers=4)
    server = SimpleNamespace(_state=SimpleNamespace(thread_pool=pool, maximum_concurrent_rpcs=None))
    # Four busy workers and a backlog, as in the host when the provider is first imported.
    gate = threading.Event()
    backlog = [pool.submit(gate.wait, 30) for _ in range(10)]
    results: list[hostpool.HostPoolStatus] = []
    lock = threading.Lock()

    def call() -> None:
        with hostpool._lock:  # the public entry point serialises the same way
            status = hostpool._ensure(32, _fake_main(), lambda main: (server, "main-frame"))
        with lock:
            results.append(status)

    callers = [threading.Thread(target=call) for _ in range(8)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    try:
        outcomes = sorted(s.outcome for s in results)
        assert outcomes == ["already-wide"] * 7 + ["widened"], outcomes
        assert pool._max_workers == 32 and len(pool._threads) >= 32
        # The backlog no longer waits for the first four: every item is running.
        assert _wait_for(lambda: pool._work_queue.qsize() == 0, "backlog drained", 10)
    finally:
        gate.set()
        for f in backlog:
            f.result(timeout=30)
        pool.shutdown()


def test_env_switch_and_number(monkeypatch) -> None:
    pool = ThreadPoolExecutor(max_workers=4)
    server = SimpleNamespace(_state=SimpleNamespace(thread_pool=pool, maximum_concurrent_rpcs=None))
    try:
        monkeypatch.setenv(settings.HOST_POOL_ENV, "off")
        assert hostpool._ensure(32, _fake_main(), lambda m: (server, "gc")).outcome == "disabled"
        assert pool._max_workers == 4
        monkeypatch.setenv(settings.HOST_POOL_ENV, "9")
        status = hostpool._ensure(32, _fake_main(), lambda m: (server, "gc"))
        assert status.outcome == "widened" and pool._max_workers == 9 and status.target == 9
    finally:
        pool.shutdown()
