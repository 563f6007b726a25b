"""The seam between the emulator's service layer and its data plane.

The service layer (HTTP, state, operations, IAM) owns a running operation and
hands the job functions in :mod:`healthcare_emulator.jobs` a
:class:`JobContext`. The job functions read and write Cloud Storage and
BigQuery and report progress only through it, so they never touch the
operation's bookkeeping and the service layer never parses DICOM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Optional, Protocol

from .rpc import PERMISSION_DENIED

Access = Literal["read", "get", "write"]

#: How an import counts an instance already in the store (config ``countDuplicatesAs``).
#: The discovery document says the API "accepts duplicate DICOM instances by ignoring the
#: newly-pushed instance" (so never a failure) and not how the operation counts them:
#: ``nothing`` (neither a success nor a failure; the default, the reading under which
#: rules about counts go wrong most easily) or ``success``.
DUPLICATES_NOT_COUNTED = "nothing"
DUPLICATES_AS_SUCCESS = "success"
DUPLICATE_COUNTINGS = (DUPLICATES_NOT_COUNTED, DUPLICATES_AS_SUCCESS)


class OperationFailed(Exception):
    """The whole operation fails with this google.rpc code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PermissionDenied(OperationFailed):
    """The service agent lacks ``role`` on ``resource``."""

    def __init__(self, message: str) -> None:
        super().__init__(PERMISSION_DENIED, message)


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.pace` once cancellation was requested."""


@dataclass(frozen=True)
class StoredInstance:
    study_uid: str
    series_uid: str
    sop_uid: str
    data: bytes  # the instance exactly as imported (Part 10 file bytes)
    blob_storage_class: Optional[str] = None


class JobContext(Protocol):
    """What a running import/export may use. Implemented by the service layer."""

    #: ``projects/P/locations/L/datasets/D/dicomStores/S``
    store_name: str
    #: ``v1`` or ``v1beta1``
    api_version: str
    #: base URL of the Cloud Storage emulator (JSON API), e.g. ``http://127.0.0.1:9023``
    storage_url: str
    #: base URL of the BigQuery emulator (REST), or None when not configured
    bigquery_url: Optional[str]

    def require(self, resource: str, access: Access) -> None:
        """Raise :class:`PermissionDenied` unless the service agent may do it.

        ``resource`` is ``gs://BUCKET`` or ``bq://PROJECT.DATASET``.
        """

    def set_counters(self, success: int, failure: int, pending: int) -> None:
        """Publish progress; visible in the operation's metadata at once."""

    def add_sample_error(self, resource: str, code: int, message: str) -> None:
        """Record a per-item failure (the context keeps the first N as sampleErrors)."""

    def log(self, severity: str, message: str, resource: Optional[str] = None) -> None:
        """Write an entry to the operation's log (served at ``logsUrl``)."""

    def pace(self) -> None:
        """Spend the configured per-instance work time; raise JobCancelled if cancelled."""

    def store_instance(self, instance: StoredInstance) -> bool:
        """Store it; False (and nothing changes) when that SOP instance is already stored."""

    def duplicates_count_as(self) -> str:
        """How a duplicate is counted now: one of :data:`DUPLICATE_COUNTINGS`."""

    def instances(self) -> Iterable[StoredInstance]:
        """A snapshot of the store's instances, in a stable order."""
