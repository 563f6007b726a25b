"""Progress of a waiting job, shown by ``pulumi up`` in the resource's row.

Why the engine's ``Log`` call: a provider has no other channel to the
person watching. A ``LogRequest`` with the resource's ``urn`` and
``ephemeral`` set is shown in that resource's row while the step runs and is
not kept in the update's log (the way pulumi-kubernetes shows its await
progress). The engine's address is the plugin process's first argument
(:mod:`pulumi_dicom_jobs.plugin.server`).

What is sent, and when: ``done/total, failures, rate, ETA`` of the operation
(:func:`pulumi_dicom_jobs.progress_text.row_text`),
only when the counters changed since the last message and at most once per
:data:`MIN_INTERVAL_SECONDS`; the first snapshot is always shown. Nothing
else reaches the engine's log from here: errors travel as the failing RPC's
message. A message that cannot be sent is dropped (progress must never fail
a job).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.progress_text import Estimator, row_text

__all__ = ["EngineLog", "ProgressMessages", "MIN_INTERVAL_SECONDS"]

#: At most one ephemeral message per resource per this many seconds.
MIN_INTERVAL_SECONDS = 1.0
#: A log call that takes longer is abandoned (the engine may be gone).
_LOG_TIMEOUT_S = 5.0


class EngineLog:
    """The engine's ``Log`` service at ``address`` (a channel opened on first use)."""

    def __init__(self, address: Optional[str]) -> None:
        self.address = address
        self._stub: Optional[engine_pb2_grpc.EngineStub] = None
        self._lock = threading.Lock()

    def _engine(self) -> Optional[engine_pb2_grpc.EngineStub]:
        with self._lock:
            if self._stub is None and self.address:
                self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(self.address))
            return self._stub

    def status(self, urn: str, message: str) -> None:
        """An ephemeral INFO message on ``urn`` (shown in its row, not kept)."""
        self._send(engine_pb2.INFO, urn, message, ephemeral=True)

    def warning(self, urn: str, message: str) -> None:
        """A real warning on ``urn``, kept in the update's log."""
        self._send(engine_pb2.WARNING, urn, message, ephemeral=False)

    def _send(self, severity: int, urn: str, message: str, *, ephemeral: bool) -> None:
        stub = self._engine()
        if stub is None:
            return
        try:
            stub.Log(engine_pb2.LogRequest(severity=severity, message=message, urn=urn, ephemeral=ephemeral),
                     timeout=_LOG_TIMEOUT_S)
        except grpc.RpcError:
            pass  # a display must not fail the job


class ProgressMessages:
    """The ``on_progress`` callback of one job wait: snapshots -> ephemeral messages on ``urn``."""

    def __init__(self, log: EngineLog, urn: str, *, min_interval: float = MIN_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.urn = urn
        self.min_interval = min_interval
        self.clock = clock
        self.estimator = Estimator(clock=clock)
        self._last_counters: Optional[tuple[int, int, int]] = None
        self._last_sent: Optional[float] = None
        self.sent = 0

    def __call__(self, status: OperationStatus) -> None:
        self.estimator.observe(status)
        counters = (status.success, status.failure, status.pending)
        now = self.clock()
        if counters == self._last_counters:
            return
        if self._last_sent is not None and now - self._last_sent < self.min_interval:
            return
        self._last_counters, self._last_sent = counters, now
        self.sent += 1
        self.log.status(self.urn, row_text(status, self.estimator))
