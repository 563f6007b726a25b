"""The log of every non-admin request the emulator received.

Why: tests assert "zero requests" (a preview must not call the API) and
"exactly one POST" (a start must never be repeated); the server appends to
this log and the admin surface reads and clears it. Credentials sent in the
query (``access_token``, ``oauth_token``, ``key``) are logged as
``REDACTED``: the log is served over HTTP and must hold no secret.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Optional


_CREDENTIAL = re.compile(r"(^|&)(access_token|oauth_token|key)=[^&]*")


def redact(query: str) -> str:
    """The raw query string with the values of credential parameters replaced."""
    return _CREDENTIAL.sub(r"\1\2=REDACTED", query)


class RequestLog:
    """Every non-admin request received: method, path, query, status and the fault applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict] = []

    def add(self, method: str, path: str, query: str, status: int, fault: Optional[str] = None) -> None:
        entry: dict[str, Any] = {"method": method, "path": path, "query": redact(query), "status": status}
        if fault:
            entry["fault"] = fault
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> dict:
        with self._lock:
            return {"count": len(self._entries), "requests": list(self._entries)}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
