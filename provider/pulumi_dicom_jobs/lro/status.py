"""One snapshot of a long-running operation, parsed from the API's JSON.

Why a frozen snapshot: every layer above (the waiter, the verdict, the CLI's
progress, the resources' outputs) reads the same few fields, and proto3 JSON
has traps (int64 counters as strings, zero counters omitted) that are
handled here once. It knows no DICOM job: which job kind an
``apiMethodName`` names is :meth:`pulumi_dicom_jobs.kinds.JobKind.of_method_name`'s
to say, above this layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = ["OperationStatus", "counters_text"]


def _int64(value: Any) -> int:
    """proto3 JSON int64 (a string, or absent for zero) -> int.

    Absent (None), empty and unreadable values all read as 0: ``int`` and
    ``float`` reject each of them, so no separate check is needed.
    """
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))  # a number in exponent form ("1e3"), as proto3 JSON parsers accept
        except (TypeError, ValueError, OverflowError):  # OverflowError: "Infinity"
            return 0


@dataclass(frozen=True)
class OperationStatus:
    """One snapshot of a long-running operation."""

    name: str
    done: bool
    success: int
    failure: int
    pending: int
    api_method_name: Optional[str]
    create_time: Optional[str]
    end_time: Optional[str]
    logs_url: Optional[str]
    cancel_requested: bool
    error: Optional[dict]
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "OperationStatus":
        metadata = raw.get("metadata") or {}
        counter = metadata.get("counter") or {}
        error = raw.get("error")
        return cls(
            name=str(raw.get("name", "")),
            done=bool(raw.get("done")),  # absent: false (proto3 omits defaults)
            success=_int64(counter.get("success")),
            failure=_int64(counter.get("failure")),
            pending=_int64(counter.get("pending")),
            api_method_name=metadata.get("apiMethodName"),
            create_time=metadata.get("createTime"),
            end_time=metadata.get("endTime"),
            logs_url=metadata.get("logsUrl"),
            cancel_requested=bool(metadata.get("cancelRequested")),
            error=dict(error) if isinstance(error, Mapping) else None,
            raw=dict(raw),
        )

    @property
    def processed(self) -> int:
        """Instances handled so far, succeeded or failed."""
        return self.success + self.failure

    @property
    def total(self) -> int:
        """Every instance the operation reports: 0 until it has counted them."""
        return self.processed + self.pending

    @property
    def error_code(self) -> Optional[int]:
        if not self.error:
            return None
        try:
            return int(self.error.get("code", 2))
        except (TypeError, ValueError):
            return 2

    @property
    def error_message(self) -> str:
        return str((self.error or {}).get("message", ""))

    def sample_errors(self) -> list[dict]:
        """``error.details[].sampleErrors[]`` entries, in order."""
        out: list[dict] = []
        for detail in (self.error or {}).get("details") or []:
            if isinstance(detail, Mapping):
                out.extend(s for s in detail.get("sampleErrors") or [] if isinstance(s, Mapping))
        return out


def counters_text(status: Optional[OperationStatus]) -> str:
    """``success=N failure=N pending=N``, as every message and progress line shows the counters
    (``pending=?`` before the first snapshot)."""
    if status is None:
        return "success=0 failure=0 pending=?"
    return f"success={status.success} failure={status.failure} pending={status.pending}"
