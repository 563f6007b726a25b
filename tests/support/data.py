"""Test data and where it lives: DICOM instances, Cloud Storage objects, BigQuery tables.

Two ways to reach the storage emulators, each written once:

* ``GcsRest`` and ``BigQueryRest`` speak the public JSON/REST APIs with plain
  ``requests`` (the program tests and the benchmarks: no client library in
  the way, and the same calls a user's tools would make);
* the ``google-cloud-storage`` / ``google-cloud-bigquery`` helpers below
  (``storage_client``, ``new_bucket``, ``upload``...) for tests that check
  what the emulators hold with Google's own libraries.

DICOM bytes come from :mod:`healthcare_emulator.sampledata`; ``synthetic``
is the usual small batch.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Optional

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery, storage

from healthcare_emulator.sampledata import synthetic_instances
from healthcare_emulator.stack import DEFAULT_PROJECT

LOCATION = "us-central1"
DICOM_CONTENT_TYPE = "application/dicom"
_TIMEOUT_S = 60


def synthetic(count: int) -> list[bytes]:
    """``count`` small synthetic instances, all in one study."""
    return list(synthetic_instances(count, per_study=max(1, count)))


def random_name(prefix: str, length: int = 12) -> str:
    """``prefix`` plus a random hex suffix: bucket, dataset and store names never collide."""
    return f"{prefix}{uuid.uuid4().hex[:length]}"


# --------------------------------------------------------------------------- REST clients
class _RestClient:
    """One emulator's base URL, the project the tests use, and a session."""

    def __init__(self, base_url: str, project: str = DEFAULT_PROJECT, timeout_s: float = _TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.timeout_s = timeout_s
        self.session = requests.Session()


class GcsRest(_RestClient):
    """The Cloud Storage emulator's JSON API: buckets, uploads, listings, downloads."""

    def create_bucket(self, name: Optional[str] = None, location: Optional[str] = None) -> str:
        """Create a bucket (a random ``test-`` name unless given); return its name."""
        name = name or random_name("test-")
        body = {"name": name, **({"location": location} if location else {})}
        self.session.post(f"{self.base_url}/storage/v1/b", params={"project": self.project}, json=body,
                          timeout=self.timeout_s).raise_for_status()
        return name

    def bucket_exists(self, bucket: str) -> bool:
        return self.session.get(f"{self.base_url}/storage/v1/b/{bucket}", timeout=self.timeout_s).status_code == 200

    def upload(self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.session.post(f"{self.base_url}/upload/storage/v1/b/{bucket}/o",
                          params={"uploadType": "media", "name": name}, data=data,
                          headers={"Content-Type": content_type}, timeout=self.timeout_s).raise_for_status()

    def upload_all(self, bucket: str, objects: dict[str, bytes],
                   content_type: str = "application/octet-stream") -> None:
        for name, data in objects.items():
            self.upload(bucket, name, data, content_type)

    def objects(self, bucket: str, prefix: str = "") -> list[str]:
        response = self.session.get(f"{self.base_url}/storage/v1/b/{bucket}/o", timeout=self.timeout_s)
        response.raise_for_status()
        return sorted(i["name"] for i in response.json().get("items", []) if i["name"].startswith(prefix))

    def read(self, bucket: str, name: str) -> bytes:
        response = self.session.get(f"{self.base_url}/storage/v1/b/{bucket}/o/{requests.utils.quote(name, safe='')}",
                                    params={"alt": "media"}, timeout=self.timeout_s)
        response.raise_for_status()
        return response.content

    def wipe(self) -> None:
        """Drop every bucket and object (gcp-storage-emulator's own ``/wipe``)."""
        self.session.get(f"{self.base_url}/wipe", timeout=self.timeout_s).raise_for_status()


class BigQueryRest(_RestClient):
    """The BigQuery emulator's REST API: datasets, tables, queries."""

    def _url(self, path: str) -> str:
        return f"{self.base_url}/bigquery/v2/projects/{self.project}/{path}"

    def datasets(self) -> list[str]:
        response = self.session.get(self._url("datasets"), timeout=self.timeout_s)
        response.raise_for_status()
        return sorted(d["datasetReference"]["datasetId"] for d in response.json().get("datasets", []) or [])

    def create_dataset(self, dataset: str, location: str = LOCATION) -> None:
        self.session.post(self._url("datasets"), timeout=self.timeout_s,
                          json={"datasetReference": {"projectId": self.project, "datasetId": dataset},
                                "location": location}).raise_for_status()

    def delete_dataset(self, dataset: str) -> None:
        """Drop ``dataset`` with its tables."""
        self.session.delete(self._url(f"datasets/{dataset}"), params={"deleteContents": "true"},
                            timeout=self.timeout_s).raise_for_status()

    def tables(self, dataset: str) -> list[str]:
        response = self.session.get(self._url(f"datasets/{dataset}/tables"), timeout=self.timeout_s)
        response.raise_for_status()
        return sorted(t["tableReference"]["tableId"] for t in response.json().get("tables", []) or [])

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a standard-SQL query, as ``{column: value}`` (values as the API sends them)."""
        response = self.session.post(self._url("queries"), json={"query": sql, "useLegacySql": False},
                                     timeout=self.timeout_s)
        response.raise_for_status()
        body = response.json()
        names = [f["name"] for f in body["schema"]["fields"]]
        return [dict(zip(names, (c["v"] for c in row["f"]))) for row in body.get("rows", []) or []]


# --------------------------------------------------------------------------- Google's client libraries
def storage_client(url: Optional[str] = None, project: str = DEFAULT_PROJECT) -> storage.Client:
    """google-cloud-storage on the emulator at ``url`` (default: ``STORAGE_EMULATOR_HOST``)."""
    options = {"api_endpoint": url} if url else None
    return storage.Client(project=project, credentials=AnonymousCredentials(), client_options=options)


def bigquery_client(url: str, project: str = DEFAULT_PROJECT) -> bigquery.Client:
    """google-cloud-bigquery on the BigQuery emulator at ``url``."""
    return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": url})


def new_bucket(client: storage.Client, files: Optional[dict[str, bytes]] = None,
               prefix: str = "test-") -> storage.Bucket:
    """A fresh bucket, holding ``files`` (as DICOM) when given."""
    bucket = client.create_bucket(random_name(prefix))
    for name, data in (files or {}).items():
        upload(bucket, name, data)
    return bucket


def upload(bucket: storage.Bucket, name: str, data: bytes) -> str:
    """Upload one DICOM object; its ``gs://`` URI."""
    bucket.blob(name).upload_from_string(data, content_type=DICOM_CONTENT_TYPE)
    return f"gs://{bucket.name}/{name}"


def upload_numbered(bucket: storage.Bucket, prefix: str, instances: Iterable[bytes]) -> int:
    """Upload ``instances`` as ``prefix/0000.dcm``, ``prefix/0001.dcm``...; how many."""
    count = 0
    for index, data in enumerate(instances):
        bucket.blob(f"{prefix}/{index:04d}.dcm").upload_from_string(data)
        count += 1
    return count


def object_names(bucket: storage.Bucket, prefix: str = "") -> list[str]:
    return sorted(blob.name for blob in bucket.client.list_blobs(bucket.name, prefix=prefix or None))


def download(bucket: storage.Bucket, name: str) -> bytes:
    return bucket.blob(name).download_as_bytes()


def new_dataset(bq_client: bigquery.Client, project: str = DEFAULT_PROJECT) -> str:
    """Create a BigQuery dataset (in ``project``) and return its id."""
    dataset_id = random_name("ds_", 10)
    bq_client.create_dataset(bigquery.Dataset(f"{project}.{dataset_id}"))
    return dataset_id


def query_rows(bq_client: bigquery.Client, sql: str) -> list[dict]:
    return [dict(row.items()) for row in bq_client.query(sql).result()]


def row_count(bq_client: bigquery.Client, table: str) -> int:
    return query_rows(bq_client, f"SELECT COUNT(*) AS n FROM `{table}`")[0]["n"]
