"""Helpers for the service-layer tests: a tiny REST client and polling.

Everything goes over real HTTP with ``requests``; nothing here imports the
emulator's internals.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Optional

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

PROJECT = "local-project"
LOCATION = "us-central1"


def poll(check: Callable[[], Any], deadline_s: float = 20.0, what: str = "condition",
         interval_s: float = 0.02) -> Any:
    """Call ``check`` until it returns something truthy; fail after the deadline."""
    end = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"{what} not reached within {deadline_s}s (last: {last!r})")


class Api:
    """The public REST surface of one emulator, for one API version."""

    def __init__(self, base_url: str, version: str = "v1", token: Optional[str] = "test-token") -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params or None, timeout=30)

    def post(self, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body if body is not None else {},
                                 params=params or None, timeout=30)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.url(path), timeout=30)

    # -- conveniences -------------------------------------------------------
    def location(self, project: str = PROJECT) -> str:
        return f"projects/{project}/locations/{LOCATION}"

    def create_store(self, dataset_id: str, store_id: str = "store") -> str:
        """Create a dataset and a DICOM store in it; return the store name."""
        loc = self.location()
        response = self.post(f"{loc}/datasets", {}, datasetId=dataset_id)
        assert response.status_code == 200, response.text
        response = self.post(f"{loc}/datasets/{dataset_id}/dicomStores", {}, dicomStoreId=store_id)
        assert response.status_code == 200, response.text
        return response.json()["name"]

    def operation(self, name: str) -> dict:
        response = self.get(name)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_done(self, name: str, deadline_s: float = 30.0) -> dict:
        return poll(lambda: (lambda op: op if op.get("done") else None)(self.operation(name)),
                    deadline_s, f"operation {name} done")

    def start(self, store: str, verb: str, body: dict) -> str:
        response = self.post(f"{store}:{verb}", body)
        assert response.status_code == 200, response.text
        return response.json()["name"]


def gcs_client() -> storage.Client:
    """google-cloud-storage against the stack's GCS emulator (STORAGE_EMULATOR_HOST)."""
    return storage.Client(project=PROJECT, credentials=AnonymousCredentials())


def new_bucket(client: storage.Client, files: Optional[dict[str, bytes]] = None) -> storage.Bucket:
    bucket = client.create_bucket(f"svc-{uuid.uuid4().hex[:12]}")
    for name, data in (files or {}).items():
        bucket.blob(name).upload_from_string(data, content_type="application/dicom")
    return bucket


def error_of(response: requests.Response) -> dict:
    """The ``error`` object of a Google JSON error response."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]
