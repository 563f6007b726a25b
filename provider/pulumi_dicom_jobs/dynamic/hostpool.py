"""Widen the worker pool of the SDK's dynamic provider host.

Why: the Pulumi SDK serves a dynamic provider from ``python -m pulumi.dynamic``,
whose gRPC server runs on ``futures.ThreadPoolExecutor(max_workers=4)``. A
``create`` that waits on a long-running Healthcare operation holds one of those
four threads for the whole wait, so 32 jobs of 5 s take 8 waves x 5 s, and
even a ``Check`` queues behind them.

What: when the providers' first method runs *inside that host* (in one of the
gRPC worker threads, on the first RPC; the providers call
:func:`widen_on_first_call`), :func:`ensure_host_concurrency` finds the host's
gRPC server, raises its executor's ``_max_workers`` to :data:`DEFAULT_TARGET`,
and pre-spawns the threads (so RPCs that already sit in the executor's queue
start at once instead of waiting for one of the four to come free). Nothing
happens at import: importing a module has no side effect.

Robustness: the SDK and grpcio internals are not a public API. Every
expectation is checked before anything is touched (the ``__main__`` module is
the SDK host, its ``main`` frame holds a ``grpc`` server, the server's state
holds a standard-library ``ThreadPoolExecutor`` with the attributes this module
uses). When any check fails the host keeps its stock behaviour and one
warning line goes to stderr; the function never raises. Outside the host (unit
tests, the CLI, the Pulumi program itself) it does nothing, silently.

Switch: ``DICOM_JOBS_HOST_POOL=off`` (or another of
:data:`pulumi_dicom_jobs.settings.OFF_WORDS`, or ``stock``) keeps the stock pool
(the benchmarks measure the stock behaviour that way);
``DICOM_JOBS_HOST_POOL=<n>`` asks for ``n`` workers instead of the default.

The call is idempotent and thread-safe: a module lock serialises callers, the
pool is only ever widened (never narrowed), and the last effective status is
cached; :func:`widen_on_first_call` looks only once per process.
"""

from __future__ import annotations

import concurrent.futures
import gc
import os
import sys
import threading
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Callable, Optional

from pulumi_dicom_jobs import settings

#: Worker threads we give the host. Each waiting job holds one thread, which
#: costs ~100 KB of resident memory while it sleeps between polls: 128 lets a
#: large stack's jobs all wait at once, far below the host's memory budget.
DEFAULT_TARGET = 128
#: Never go above this, whatever the environment asks for.
MAX_TARGET = 1024
#: What keeps the stock pool besides the settings' off words.
_STOCK = "stock"
#: The SDK host's module, as ``python -m pulumi.dynamic`` runs it.
_HOST_MODULE_SPEC = "pulumi.dynamic.__main__"
_HOST_FILE_SUFFIX = os.path.join("pulumi", "dynamic", "__main__.py")
#: Safety bound for warm-up tasks waiting for their siblings to start.
_WARMUP_RELEASE_S = 10.0

_WARNING_PREFIX = "pulumi-dicom-jobs: "


@dataclass(frozen=True)
class HostPoolStatus:
    """What :func:`ensure_host_concurrency` found and did.

    ``outcome`` is one of ``"widened"`` (changed the pool now),
    ``"already-wide"`` (an earlier call, or someone else, already did),
    ``"not-in-host"`` (not running inside ``python -m pulumi.dynamic``: nothing
    to do), ``"disabled"`` (``DICOM_JOBS_HOST_POOL=off``) or ``"unsupported"``
    (inside the host, but the SDK/grpc internals are not what this module
    expects: stock behaviour kept, ``reason`` says why, one warning printed).
    """

    outcome: str
    in_host: bool
    target: int
    found_via: Optional[str] = None  # "main-frame" or "gc"
    previous_max_workers: Optional[int] = None
    max_workers: Optional[int] = None
    threads_before: Optional[int] = None
    threads_after: Optional[int] = None
    reason: str = ""

    @property
    def changed(self) -> bool:
        return self.outcome == "widened"

    @property
    def effective(self) -> bool:
        """True when the host now runs at least ``target`` RPCs at once."""
        return self.outcome in ("widened", "already-wide")


_lock = threading.RLock()
_status: Optional[HostPoolStatus] = None
_first_call: Optional[HostPoolStatus] = None
_warned = False


# -- detection ---------------------------------------------------------------
def _is_host_main(main: Optional[ModuleType]) -> bool:
    if main is None:
        return False
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) == _HOST_MODULE_SPEC:
        return True
    path = getattr(main, "__file__", None)
    return isinstance(path, str) and os.path.normpath(path).endswith(_HOST_FILE_SUFFIX)


def in_dynamic_host() -> bool:
    """True when this process is the SDK's dynamic provider host."""
    return _is_host_main(sys.modules.get("__main__"))


def _looks_like_grpc_server(obj: Any) -> bool:
    state = getattr(obj, "_state", None)
    return state is not None and hasattr(state, "thread_pool")


def _server_from_main_frame(main: ModuleType) -> Any:
    """The ``server`` local of the host's ``main()``, which blocks forever."""
    host_file = os.path.normpath(getattr(main, "__file__", "") or "")
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            code = frame.f_code
            if code.co_name == "main" and os.path.normpath(code.co_filename) == host_file:
                server = frame.f_locals.get("server")
                if _looks_like_grpc_server(server):
                    return server
            frame = frame.f_back
    return None


def _server_from_gc() -> Any:
    """The one grpc ``_Server`` object of the process, or None if not exactly one."""
    try:
        from grpc import _server as grpc_server_module  # noqa: PLC0415
    except Exception:  # pragma: no cover - grpc always present in the host
        return None
    server_type = getattr(grpc_server_module, "_Server", None)
    if not isinstance(server_type, type):
        return None
    servers = [obj for obj in gc.get_objects() if type(obj) is server_type]
    return servers[0] if len(servers) == 1 else None


def _check_executor(pool: Any) -> str:
    """Empty string when ``pool`` is the executor shape we know how to widen."""
    if not isinstance(pool, concurrent.futures.ThreadPoolExecutor):
        return f"server thread pool is {type(pool).__name__}, not ThreadPoolExecutor"
    for name, kind in (("_max_workers", int), ("_threads", set)):
        if not isinstance(getattr(pool, name, None), kind):
            return f"ThreadPoolExecutor has no {name} of type {kind.__name__}"
    if not callable(getattr(pool, "submit", None)) or not hasattr(pool, "_work_queue"):
        return "ThreadPoolExecutor lacks submit/_work_queue"
    if getattr(pool, "_shutdown", False) or getattr(pool, "_broken", False):
        return "ThreadPoolExecutor is shut down"
    return ""


# -- the change ----------------------------------------------------------------
def _prespawn(pool: concurrent.futures.ThreadPoolExecutor, target: int) -> None:
    """Start worker threads until the pool has ``target`` of them.

    ``ThreadPoolExecutor`` only starts a thread inside ``submit`` when it
    believes no thread is idle, so we submit warm-up tasks that block until
    we are done: each occupies the thread that picks it up (or an RPC from the
    queue does), forcing the next submit to start another. Released at the
    end, they leave ``target`` idle threads behind. Bounded loop, no timing.
    """
    release = threading.Event()

    def _hold() -> None:
        release.wait(_WARMUP_RELEASE_S)

    try:
        budget = 2 * target + 16  # stale idle-semaphore tokens cost one submit each
        while len(pool._threads) < target and budget > 0:
            pool.submit(_hold)
            budget -= 1
    finally:
        release.set()


def _warn_once(message: str) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    try:
        sys.stderr.write(_WARNING_PREFIX + message + "\n")
        sys.stderr.flush()
    except Exception:  # pragma: no cover - stderr closed: stay silent
        pass


def _keeps_stock(raw: str) -> bool:
    return raw == _STOCK or settings.switch(raw) is False


def _target_from_env(default: int) -> tuple[Optional[int], str]:
    raw = settings.host_pool()
    if not raw:
        return default, ""
    if _keeps_stock(raw):
        return None, f"{settings.HOST_POOL_ENV}={raw}"
    if settings.switch(raw):
        return default, ""
    try:
        value = int(raw)
    except ValueError:
        return default, f"ignored {settings.HOST_POOL_ENV}={raw!r} (expected off or a number)"
    return max(1, min(value, MAX_TARGET)), ""


def _ensure(target: int, main: Optional[ModuleType],
            find_server: Callable[[ModuleType], tuple[Any, Optional[str]]]) -> HostPoolStatus:
    wanted, env_note = _target_from_env(target)
    if not _is_host_main(main):
        return HostPoolStatus("not-in-host", False, target, reason="not the pulumi dynamic host")
    if wanted is None:
        return HostPoolStatus("disabled", True, target, reason=env_note)
    if env_note:
        _warn_once(env_note)
    wanted = max(1, min(wanted, MAX_TARGET))

    server, via = find_server(main)
    if server is None:
        reason = "could not find the host's gRPC server (SDK layout changed?)"
        _warn_once(f"keeping the dynamic host's stock worker pool: {reason}")
        return HostPoolStatus("unsupported", True, wanted, reason=reason)
    state = server._state
    pool = getattr(state, "thread_pool", None)
    problem = _check_executor(pool)
    limit = getattr(state, "maximum_concurrent_rpcs", None)
    if not problem and limit is not None and (not isinstance(limit, int) or limit < wanted):
        problem = f"server caps concurrent RPCs at {limit!r}"
    if problem:
        _warn_once(f"keeping the dynamic host's stock worker pool: {problem}")
        return HostPoolStatus("unsupported", True, wanted, found_via=via, reason=problem)

    previous = pool._max_workers
    threads_before = len(pool._threads)
    if previous >= wanted and threads_before >= wanted:
        return HostPoolStatus("already-wide", True, wanted, via, previous, previous,
                              threads_before, threads_before)
    pool._max_workers = max(previous, wanted)
    _prespawn(pool, wanted)
    return HostPoolStatus("widened", True, wanted, via, previous, pool._max_workers,
                          threads_before, len(pool._threads))


def _find_server(main: ModuleType) -> tuple[Any, Optional[str]]:
    server = _server_from_main_frame(main)
    if server is not None:
        return server, "main-frame"
    server = _server_from_gc()
    if server is not None:
        return server, "gc"
    return None, None


def ensure_host_concurrency(target: int = DEFAULT_TARGET) -> HostPoolStatus:
    """Let the dynamic provider host run up to ``target`` RPCs at once.

    Returns what was found
    and changed; never raises. Safe to call from any thread, any number of
    times: only the first effective call changes anything (a later call with a
    larger target widens further).
    """
    global _status
    with _lock:
        try:
            if _status is not None and _status.effective and _status.target >= target \
                    and not _keeps_stock(settings.host_pool()):
                return replace(_status, outcome="already-wide") if _status.changed else _status
            status = _ensure(target, sys.modules.get("__main__"), _find_server)
        except Exception as exc:  # never take the host down
            _warn_once(f"keeping the dynamic host's stock worker pool: {type(exc).__name__}: {exc}")
            status = HostPoolStatus("unsupported", in_dynamic_host(), target,
                                    reason=f"{type(exc).__name__}: {exc}")
        if status.effective or _status is None:
            _status = status
        return status


def widen_on_first_call() -> HostPoolStatus:
    """:func:`ensure_host_concurrency` once per process; later calls return its status at once.

    Every provider method calls this first. Why not at import: importing a
    module must change nothing. Why only once: outside the host, or when the
    host's internals are unexpected, looking again on every RPC would cost a
    scan of the process for nothing.
    """
    global _first_call
    with _lock:
        if _first_call is None:
            _first_call = ensure_host_concurrency()
        return _first_call
