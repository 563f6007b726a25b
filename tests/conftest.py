"""Shared fixtures: one local stack (GCS, BigQuery, Healthcare emulators) per session.

Each test gets a clean Healthcare emulator (``emulator`` resets it) and its
own bucket and dataset names, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, storage

from healthcare_emulator.stack import DEFAULT_PROJECT, LocalStack


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The running local stack; its env vars are set for the whole session."""
    with LocalStack() as running:
        previous = {key: os.environ.get(key) for key in running.env()}
        os.environ.update(running.env())
        try:
            yield running
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class EmulatorAdmin:
    """Thin client for the Healthcare emulator's ``/_emulator/`` admin surface."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def post(self, path: str, body: dict | None = None) -> dict:
        response = self.session.post(f"{self.base_url}/_emulator/{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else {}

    def get(self, path: str) -> dict:
        response = self.session.get(f"{self.base_url}/_emulator/{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def delete(self, path: str, body: dict | None = None) -> dict:
        response = self.session.delete(f"{self.base_url}/_emulator/{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else {}

    def reset(self) -> None:
        self.post("reset")


@pytest.fixture
def emulator(stack: LocalStack) -> EmulatorAdmin:
    """Admin client of a freshly reset Healthcare emulator."""
    admin = EmulatorAdmin(stack.healthcare_url)
    admin.reset()
    return admin


@pytest.fixture
def unique() -> str:
    """A short unique suffix for bucket, dataset and store names."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def project() -> str:
    return DEFAULT_PROJECT


@pytest.fixture(scope="session")
def gcs_client(stack: LocalStack) -> storage.Client:
    """google-cloud-storage on the stack's Cloud Storage emulator (STORAGE_EMULATOR_HOST)."""
    return storage.Client(project=DEFAULT_PROJECT, credentials=AnonymousCredentials())


@pytest.fixture(scope="session")
def bq_client(stack: LocalStack) -> bigquery.Client:
    """google-cloud-bigquery on the stack's BigQuery emulator."""
    return bigquery.Client(project=DEFAULT_PROJECT, credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": stack.bigquery_url})
