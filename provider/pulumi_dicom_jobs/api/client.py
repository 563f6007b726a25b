"""The Healthcare API calls the product makes, one method each.

Why a client object: it holds where the API is (endpoint or emulator, API
version) and how to reach it (retry policy, timeouts); the HTTP session and
the credentials behind it are created on the first request and dropped by
:meth:`HealthcareClient.close`, so nothing secret outlives a job (the dynamic
provider is pickled into the state). Each method is one REST call (or, for
the listing, one call per page) and raises the typed errors of
:mod:`pulumi_dicom_jobs.api.errors`. It knows no job kind: which call starts
which kind of job, and what an error means for a job, is
:mod:`pulumi_dicom_jobs.jobs`' business.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Mapping, Optional

from pulumi_dicom_jobs import api_facts, settings
from pulumi_dicom_jobs.api import auth
from pulumi_dicom_jobs.api.transport import RetryPolicy, Transport
from pulumi_dicom_jobs.lro.status import OperationStatus

__all__ = ["HealthcareClient"]


class HealthcareClient:
    """Where and how to reach the Healthcare API; HTTP and credentials are lazy.

    ``HEALTHCARE_EMULATOR_HOST`` (``host:port``) wins over ``api_endpoint``:
    plain HTTP to that host with a dummy bearer token. ``timeout`` (connect,
    read) seconds; None: the default or ``DICOM_JOBS_HTTP_TIMEOUT`` (see
    :mod:`pulumi_dicom_jobs.settings`).
    """

    def __init__(self, api_endpoint: str | None = None,
                 api_version: str = api_facts.DEFAULT_API_VERSION, *,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if api_version not in api_facts.API_VERSIONS:
            raise ValueError(f"api_version must be one of {api_facts.API_VERSIONS}, got {api_version!r}")
        host = settings.emulator_host()
        if host:
            self.base_url = host if host.startswith(("http://", "https://")) else f"http://{host}"
            self.emulated = True
        else:
            self.base_url = (api_endpoint or api_facts.DEFAULT_ENDPOINT).rstrip("/")
            self.emulated = False
        self.api_version = api_version
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self._transport: Optional[Transport] = None

    def __repr__(self) -> str:
        return f"HealthcareClient({self.base_url!r}, {self.api_version!r})"

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(self.base_url, auth.token_source(self.emulated), self.retry,
                                        self.timeout, self.sleep, origin=self._origin())
        return self._transport

    def _origin(self) -> str:
        """Where the address came from, when the user may not know: the emulator's variable."""
        if not self.emulated:
            return ""
        variable = f"{settings.EMULATOR_HOST_ENV}={settings.emulator_host()}"
        return (f"The address comes from {variable}: is the emulator running there? Unset "
                f"{settings.EMULATOR_HOST_ENV} to use Google's API instead.")

    @property
    def read_timeout(self) -> float:
        """Seconds a request waits for an answer (this client's, else the setting)."""
        return (self.timeout or settings.http_timeout())[1]

    def request(self, method: str, resource: str, *, params: dict | None = None,
                json: Any = None, idempotent: bool = True) -> dict:
        """``method`` on ``/{api_version}/{resource}``."""
        return self.transport.request(method, f"{self.api_version}/{resource}", params=params,
                                      json=json, idempotent=idempotent)

    # -- the API calls ------------------------------------------------------
    def import_dicom(self, dicom_store: str, body: Mapping[str, Any]) -> Optional[str]:
        """``dicomStores.import`` (see :meth:`_start`)."""
        return self._start(f"{dicom_store}:import", body)

    def export_dicom(self, dicom_store: str, body: Mapping[str, Any]) -> Optional[str]:
        """``dicomStores.export``, to Cloud Storage or BigQuery as ``body`` says (see :meth:`_start`)."""
        return self._start(f"{dicom_store}:export", body)

    def _start(self, resource: str, body: Mapping[str, Any]) -> Optional[str]:
        """The POST that starts an operation (not retried once it may have been processed).

        Returns the started operation's name (None if the answer names none);
        raises AmbiguousRequestError when the answer was lost.
        """
        answer = self.request("POST", resource, json=dict(body), idempotent=False)
        name = answer.get("name")
        return str(name) if name else None

    def get_operation(self, name: str) -> OperationStatus:
        """``operations.get``: one snapshot (NotFound when the API forgot it)."""
        return OperationStatus.from_json(self.request("GET", name))

    def cancel_operation(self, name: str) -> None:
        """``operations.cancel`` (safe to repeat; NotFound when the API forgot it)."""
        self.request("POST", f"{name}:cancel", json={})

    def list_operations(self, dataset: str,
                        page_size: int = api_facts.OPERATIONS_PAGE_SIZE) -> Iterator[OperationStatus]:
        """``operations.list``: every operation of ``dataset``, page after page.

        No ``filter`` is sent: the API documents none for this method (the
        discovery document says only "the standard list filter"), and a filter
        the service ignored or refused would silently change what the callers
        decide. Callers select on each operation's metadata instead. The API
        promises no order either, so every page is read (lazily: a caller that
        has what it needs stops iterating and no further page is fetched).
        Pages are as large as the API documents (the server may send fewer
        items, even none, before the end: only a missing ``nextPageToken``
        ends the list).
        """
        token: Optional[str] = None
        while True:
            params: dict[str, Any] = {"pageSize": page_size}
            if token:
                params["pageToken"] = token
            page = self.request("GET", f"{dataset}/operations", params=params)
            for raw in page.get("operations") or []:
                yield OperationStatus.from_json(raw)
            token = page.get("nextPageToken")
            if not token:
                return

    # -- lifetime -----------------------------------------------------------
    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def __enter__(self) -> "HealthcareClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
