"""Fixtures and helpers shared by the provider's integration tests.

Everything talks to the real local stack over HTTP: the Healthcare emulator
(admin surface through the ``emulator`` fixture), the GCS emulator through
google-cloud-storage, the BigQuery emulator through google-cloud-bigquery.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

import pytest
import requests
from google.cloud import bigquery, storage

import dicomdata
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy

PROJECT = "local-project"
LOCATION = "us-central1"
FAST_RETRY = RetryPolicy(initial=0.05, maximum=0.5, attempts=6, deadline=30.0, max_retry_after=3.0)


@dataclass
class Env:
    """A fresh dataset + store and bucket for one test."""

    emulator: object  # conftest.EmulatorAdmin
    base_url: str
    dataset: str
    store: str
    bucket: storage.Bucket
    bq: bigquery.Client
    gcs: storage.Client

    def client(self, **kwargs) -> HealthcareClient:
        kwargs.setdefault("retry", FAST_RETRY)
        return HealthcareClient(**kwargs)

    def upload(self, name: str, data: bytes) -> str:
        self.bucket.blob(name).upload_from_string(data, content_type="application/dicom")
        return f"gs://{self.bucket.name}/{name}"

    def objects(self, prefix: str = "") -> list[str]:
        return sorted(b.name for b in self.gcs.list_blobs(self.bucket.name, prefix=prefix or None))

    def operations(self) -> list[dict]:
        """Import/export operations started on this test's store (dataset creation excluded)."""
        return [op for op in self.emulator.get("operations")["operations"] if op.get("store") == self.store]

    def request_count(self) -> int:
        return self.emulator.get("requests")["count"]

    def import_files(self, files: list[bytes], folder: str = "in") -> str:
        """Upload ``files`` and import them with the runner (setup for exports)."""
        for index, data in enumerate(files):
            self.upload(f"{folder}/{index}.dcm", data)
        with self.client() as client:
            status = jobs.run_job(client, self.store, {"gcsSource": {"uri": f"gs://{self.bucket.name}/{folder}/**.dcm"}},
                                  export=False, timeout_seconds=60)
        assert status.success == len(files)
        return status.name

    def new_bq_dataset(self) -> str:
        dataset_id = f"ds_{uuid.uuid4().hex[:10]}"
        self.bq.create_dataset(bigquery.Dataset(f"{PROJECT}.{dataset_id}"))
        return dataset_id

    def rows(self, table: str) -> int:
        return list(self.bq.query(f"SELECT COUNT(*) AS n FROM `{table}`").result())[0]["n"]


def rest_json(base_url: str, method: str, path: str, **kwargs) -> dict:
    """One Healthcare API call that must succeed, as another client would make it."""
    response = requests.request(method, f"{base_url}/v1/{path}", headers={"Authorization": "Bearer t"},
                                timeout=30, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


@pytest.fixture
def env(stack, emulator, gcs_client, bq_client, unique) -> Env:
    emulator.post("config", {"instanceDelaySeconds": 0.0, "operationMinSeconds": 0.0})
    base = stack.healthcare_url
    parent = f"projects/{PROJECT}/locations/{LOCATION}"
    dataset = f"{parent}/datasets/ds{unique}"
    rest_json(base, "POST", f"{parent}/datasets", params={"datasetId": f"ds{unique}"}, json={})
    rest_json(base, "POST", f"{dataset}/dicomStores", params={"dicomStoreId": "store"}, json={})
    bucket = gcs_client.create_bucket(f"bkt-{unique}")
    return Env(emulator, base, dataset, f"{dataset}/dicomStores/store", bucket, bq_client, gcs_client)


def deadline_poll(check: Callable[[], bool], seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met before the deadline")


def synthetic(count: int) -> list[bytes]:
    return list(dicomdata.synthetic_instances(count, per_study=max(1, count)))
