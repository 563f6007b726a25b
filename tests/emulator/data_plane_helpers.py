"""Helpers for the data-plane tests: a fake JobContext and real-client fixtures.

The jobs are exercised directly (no HTTP service layer) against the real
Cloud Storage and BigQuery emulator servers; what they wrote is checked with
Google's own client libraries. The fake context is deliberately dumb: it
records what the job reports and keeps instances in a dict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, storage

from healthcare_emulator.jobcontext import JobCancelled, PermissionDenied, StoredInstance
from healthcare_emulator.stack import DEFAULT_PROJECT, LocalStack

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

    def instances(self) -> Iterable[StoredInstance]:
        return list(self.stored.values())

    # -- test conveniences ------------------------------------------------
    @property
    def last(self) -> tuple[int, int, int]:
        return self.counters[-1]

    def add(self, data: bytes, storage_class: Optional[str] = None) -> StoredInstance:
        from healthcare_emulator.dicom import parse_instance

        parsed = parse_instance(data)
        instance = StoredInstance(parsed.study_uid, parsed.series_uid, parsed.sop_uid, data, storage_class)
        self.store_instance(instance)
        return instance


@pytest.fixture(scope="session")
def gcs(gcs_client) -> storage.Client:
    return gcs_client


@pytest.fixture(scope="session")
def bq(bq_client) -> bigquery.Client:
    return bq_client


@pytest.fixture
def bucket(gcs) -> storage.Bucket:
    """A fresh, empty bucket."""
    return gcs.create_bucket(f"data-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def ctx(stack) -> FakeContext:
    return FakeContext(storage_url=stack.storage_url, bigquery_url=stack.bigquery_url)


def upload(bucket: storage.Bucket, name: str, data: bytes) -> None:
    bucket.blob(name).upload_from_string(data, content_type="application/dicom")


def object_names(bucket: storage.Bucket, prefix: str = "") -> list[str]:
    return sorted(blob.name for blob in bucket.client.list_blobs(bucket.name, prefix=prefix or None))


def download(bucket: storage.Bucket, name: str) -> bytes:
    return bucket.blob(name).download_as_bytes()


def new_dataset(bq_client: bigquery.Client, project: str = DEFAULT_PROJECT) -> str:
    """Create a dataset (in ``project``) and return its id."""
    dataset_id = f"ds_{uuid.uuid4().hex[:10]}"
    bq_client.create_dataset(bigquery.Dataset(f"{project}.{dataset_id}"))
    return dataset_id


def query_rows(bq_client: bigquery.Client, sql: str) -> list[dict]:
    return [dict(row.items()) for row in bq_client.query(sql).result()]


class _StorageOnlyStack(LocalStack):
    """Just a gcp-storage-emulator process (no BigQuery, no Healthcare)."""

    def _start_healthcare(self) -> None:
        return None


@pytest.fixture(scope="module")
def private_storage() -> Iterator[LocalStack]:
    yield from _private_storage()


@pytest.fixture(scope="module")
def private_storage_2() -> Iterator[LocalStack]:
    """A second private server (to keep the object count per server low)."""
    yield from _private_storage()


def _private_storage() -> Iterator[LocalStack]:
    """A Cloud Storage emulator of the module's own.

    ``gcp-storage-emulator`` rewrites the metadata of *every* object it holds
    on each write (``_write_config_to_file``), so a write costs time in
    proportion to all objects in the server. Bulk tests use their own server
    so they neither pay for the session's objects nor slow everyone else's
    writes down for the rest of the session.
    """
    with _StorageOnlyStack(with_bigquery=False) as running:
        yield running


def storage_client(url: str) -> storage.Client:
    return storage.Client(project=DEFAULT_PROJECT, credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": url})
