"""Fixtures of the emulator's tests: buckets, datasets, a fake job context, private storage servers.

The data-plane tests run the emulator's jobs directly (no HTTP service layer)
against the real Cloud Storage and BigQuery emulator servers, and check what
the jobs wrote with Google's own client libraries.
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
from google.cloud import bigquery, storage

from healthcare_emulator.stack import LocalStack
from support.jobcontext import FakeContext


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
def iam_off(emulator):
    """For service tests about something other than IAM (operations, faults, DICOMweb, body
    checks): IAM off, so their jobs need no grants. IAM has tests of its own
    (test_service_iam.py, test_service_projects.py), and the tests that drive the emulator
    with Google's clients make the grants as docs/emulator.md tells a user."""
    emulator.config(enforceIam=False)
    return emulator


@pytest.fixture
def ctx(stack) -> FakeContext:
    return FakeContext(storage_url=stack.storage_url, bigquery_url=stack.bigquery_url)


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
