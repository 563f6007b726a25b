"""A fake ``JobContext`` for running the emulator's import/export jobs directly.

The data-plane tests exercise :mod:`healthcare_emulator.jobs` without the
HTTP service layer, against the real Cloud Storage and BigQuery emulator
servers. The fake context is deliberately dumb: it records what the job
reports and keeps instances in a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from healthcare_emulator.jobcontext import JobCancelled, PermissionDenied, StoredInstance

STORE = "projects/local-project/locations/us-central1/datasets/ds/dicomStores/store"


@dataclass
class SampleError:
    resource: str
    code: int
    message: str


@dataclass
class FakeContext:
    """A JobContext that records everything and stores instances in memory."""

    storage_url: str
    bigquery_url: Optional[str] = None
    store_name: str = STORE
    api_version: str = "v1"
    count_duplicates_as: str = "nothing"  # the emulator's default
    denied: set[tuple[str, str]] = field(default_factory=set)
    cancel_after: Optional[int] = None
    required: list[tuple[str, str]] = field(default_factory=list)
    counters: list[tuple[int, int, int]] = field(default_factory=list)
    errors: list[SampleError] = field(default_factory=list)
    logs: list[tuple[str, str, Optional[str]]] = field(default_factory=list)
    paced: int = 0
    stored: dict[str, StoredInstance] = field(default_factory=dict)

    def require(self, resource: str, access: str) -> None:
        self.required.append((resource, access))
        if (resource, access) in self.denied:
            raise PermissionDenied(f"denied {access} on {resource}")

    def set_counters(self, success: int, failure: int, pending: int) -> None:
        self.counters.append((success, failure, pending))

    def add_sample_error(self, resource: str, code: int, message: str) -> None:
        self.errors.append(SampleError(resource, code, message))

    def log(self, severity: str, message: str, resource: Optional[str] = None) -> None:
        self.logs.append((severity, message, resource))

    def pace(self) -> None:
        if self.cancel_after is not None and self.paced >= self.cancel_after:
            raise JobCancelled()
        self.paced += 1

    def store_instance(self, instance: StoredInstance) -> bool:
        if instance.sop_uid in self.stored:
            return False
        self.stored[instance.sop_uid] = instance
        return True

    def duplicates_count_as(self) -> str:
        return self.count_duplicates_as

    def instances(self) -> Iterable[StoredInstance]:
        return list(self.stored.values())

    # -- test conveniences ------------------------------------------------
    @property
    def last(self) -> tuple[int, int, int]:
        return self.counters[-1]

    def add(self, data: bytes, storage_class: Optional[str] = None) -> StoredInstance:
        from healthcare_emulator.dicom_file import parse_instance

        parsed = parse_instance(data)
        instance = StoredInstance(parsed.study_uid, parsed.series_uid, parsed.sop_uid, data, storage_class)
        self.store_instance(instance)
        return instance
