"""The baseline waiter: google-api-core's long-running-operation polling, as shipped.

``google.api_core.future.polling.PollingFuture.result()`` polls with
``polling.DEFAULT_POLLING`` (first poll at once, then sleeps drawn uniformly
from [0, d] with d = 1 s, x1.5 per poll, capped at 20 s; 900 s timeout). We
subclass ``PollingFuture`` only to say *how* to fetch the operation (a plain
``GET {endpoint}/v1/{name}``), so the schedule under test is api-core's own.
"""

from __future__ import annotations

from typing import Any

import requests
from google.api_core.future import polling


class HealthcareOperationFuture(polling.PollingFuture):
    """A Healthcare long-running operation, polled by api-core's defaults."""

    def __init__(self, base_url: str, name: str, token: str) -> None:
        super().__init__()  # polling=DEFAULT_POLLING
        self._url = f"{base_url}/v1/{name}"
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self.operation: dict[str, Any] | None = None
        self.gets = 0

    def done(self, retry=None) -> bool:  # noqa: D401 - api-core's signature
        if self._result_set:
            return True
        self.gets += 1
        response = self._session.get(self._url, timeout=30)
        response.raise_for_status()
        self.operation = response.json()
        if self.operation.get("done"):
            if "error" in self.operation:
                self.set_exception(RuntimeError(self.operation["error"].get("message", "")))
            else:
                self.set_result(self.operation.get("response", {}))
            return True
        return False

    def cancel(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return False


def wait_with_api_core(base_url: str, name: str, token: str) -> tuple[dict[str, Any], int]:
    """Block until done with api-core's default polling; (operation, GETs made)."""
    future = HealthcareOperationFuture(base_url, name, token)
    try:
        future.result()
    except RuntimeError:
        pass  # a failed operation is still a finished one, for timing
    return future.operation or {}, future.gets
