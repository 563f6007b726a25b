"""Live counters of the DICOM jobs ``up`` is waiting on.

A job resource's ``Create`` blocks in the dynamic provider host until its
long-running operation ends, which for a large import can take hours. On the
local stack the engine can show how far it got: the Healthcare emulator's
admin list names each operation's store and request, so while a job's
``Create`` is in flight a watcher thread finds the operation that job started
(same store, same source or destination, not seen before the create) and
prints its ``success``/``failure``/``pending`` counters whenever they change.

Only the emulator has that admin list, so this is a harness feature; against
anything else the watcher finds nothing and stays silent.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from .display import Display
from .gcp_local import CloudError, LocalCloud

#: How often a watcher looks at its operation (seconds).
POLL_SECONDS = 1.0


def _destination(request: Mapping[str, Any]) -> str | None:
    """What an API request body reads or writes: the job's identity within its store."""
    for section, key in (("gcsSource", "uri"), ("gcsDestination", "uriPrefix"),
                         ("bigqueryDestination", "tableUri")):
        if isinstance(request.get(section), Mapping):
            return request[section].get(key)
    return None


def _job_destination(inputs: Mapping[str, Any]) -> str | None:
    """The same, from a job resource's (snake_case) inputs."""
    for section, key in (("gcs_source", "uri"), ("gcs_destination", "uri_prefix"),
                         ("bigquery_destination", "table_uri")):
        if isinstance(inputs.get(section), Mapping):
            return inputs[section].get(key)
    return None


class JobWatcher:
    """Prints each watched job's counters through ``display`` while it runs."""

    def __init__(self, cloud: LocalCloud, display: Display, poll_seconds: float = POLL_SECONDS) -> None:
        self.cloud = cloud
        self.display = display
        self.poll_seconds = poll_seconds

    def _operations(self) -> list[dict[str, Any]]:
        try:
            return list(self.cloud.http("healthcare", "GET", "/_emulator/operations").get("operations") or [])
        except (CloudError, KeyError):
            return []  # not the emulator (or not reachable): nothing to show

    @contextmanager
    def watching(self, name: str, inputs: Mapping[str, Any]) -> Iterator[None]:
        """Watch the operation the enclosed block starts for job ``name``."""
        store, destination = inputs.get("dicom_store"), _job_destination(inputs)
        if not isinstance(store, str) or not isinstance(destination, str) or not self.cloud.healthcare_url:
            yield
            return
        seen = {op.get("name") for op in self._operations()}
        stop = threading.Event()
        thread = threading.Thread(target=self._watch, args=(name, store, destination, seen, stop),
                                  name=f"watch-{name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def _watch(self, name: str, store: str, destination: str, seen: set, stop: threading.Event) -> None:
        operation, last = None, None
        while True:
            stopping = stop.wait(self.poll_seconds)  # one last look once the create has returned
            if operation is None:
                candidates = [op["name"] for op in self._operations()
                              if op.get("name") not in seen and op.get("store") == store
                              and _destination(op.get("request") or {}) == destination]
                operation = candidates[-1] if candidates else None
            if operation is not None:
                last = self._show(name, operation, last)
            if stopping:
                return

    def _show(self, name: str, operation: str, last: tuple | None) -> tuple | None:
        """Print the operation's counters if they changed since ``last``; return what is shown."""
        try:
            counter = self.cloud.http("healthcare", "GET", f"/v1/{operation}").get("metadata", {}).get("counter") or {}
        except CloudError:
            return last
        shown = tuple(int(counter.get(key, 0)) for key in ("success", "failure", "pending"))
        if shown != last:
            self.display.progress(name, "{} success={} failure={} pending={}".format(
                operation.rsplit("/", 1)[-1], *shown))
        return shown
