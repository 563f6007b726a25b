"""Fault injection for non-admin requests.

Why: the product's retry and idempotency logic is only believable if it has
seen the failures it is written for — a 503 with ``Retry-After``, a reset
connection, a slow answer, and above all a request that *was processed* (an
operation started) but whose answer never arrived. Rules are matched in the
order they were added; the first rule whose method and path regex match is
used and its ``times`` counts down to removal.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Optional

from .errors import invalid

ACTIONS = ("status", "reset", "delay", "drop_after_processing")


@dataclass
class Fault:
    method: str
    path: str
    times: int
    action: str
    status: int = 503
    retry_after: Optional[float] = None
    delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._regex = re.compile(self.path)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self._regex.search(path) is not None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"method": self.method, "path": self.path, "times": self.times,
                               "action": self.action}
        if self.action == "status":
            out["status"] = self.status
            if self.retry_after is not None:
                out["retryAfter"] = self.retry_after
        if self.action == "delay":
            out["delaySeconds"] = self.delay_seconds
        return out


def parse_fault(body: Any) -> Fault:
    """Validate an admin ``faults`` body (400 on anything unexpected)."""
    if not isinstance(body, dict):
        raise invalid("fault must be a JSON object")
    known = {"method", "path", "times", "action", "status", "retryAfter", "delaySeconds"}
    unknown = set(body) - known
    if unknown:
        raise invalid(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    method = str(body.get("method", "*")).upper()
    path = body.get("path", ".*")
    action = body.get("action", "status")
    times = body.get("times", 1)
    if action not in ACTIONS:
        raise invalid(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if not isinstance(path, str):
        raise invalid("path must be a regular expression string")
    try:
        re.compile(path)
    except re.error as exc:
        raise invalid(f"path is not a valid regular expression: {exc}") from None
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise invalid("times must be a positive integer")
    status = body.get("status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise invalid("status must be an HTTP error status (400-599)")
    retry_after = body.get("retryAfter")
    delay = body.get("delaySeconds", 0.0)
    for name, value in (("retryAfter", retry_after), ("delaySeconds", delay)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            raise invalid(f"{name} must be a non-negative number")
    return Fault(method, path, times, action, status, retry_after, float(delay or 0.0))


class FaultInjector:
    """The active rules; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [f.to_json() for f in self._faults]

    def take(self, method: str, path: str) -> Optional[Fault]:
        """The first matching rule, with one use consumed (removed when used up)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
            return None
