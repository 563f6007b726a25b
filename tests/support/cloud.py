"""The whole local stack as a user's tools see it: Healthcare, Cloud Storage, BigQuery.

:class:`Cloud` bundles one client per emulator (``api``, ``admin``, ``gcs``,
``bq``, from :mod:`support.emulator` and :mod:`support.data`) for tests that
set up and inspect more than one of them: the program tests (which wipe all
three between tests and check grants, stores, objects and tables) and the
reliability tests (a fresh store and bucket per case). Its methods are the
few compound steps those tests share; single calls go to the clients.
"""

from __future__ import annotations

from typing import Any, Optional

import requests

from healthcare_emulator.stack import LocalStack
from .data import BigQueryRest, GcsRest, random_name
from .emulator import LOCATION, PROJECT, ROLE_OBJECT_VIEWER, EmulatorAdmin, HealthcareApi

_TIMEOUT_S = 60


class Cloud:
    """Clients of the three emulators of one local stack, plus the steps tests share."""

    def __init__(self, stack: LocalStack, token: str = "tests") -> None:
        self.stack = stack
        self.api = HealthcareApi(stack.healthcare_url, token=token, timeout_s=_TIMEOUT_S)
        self.admin = EmulatorAdmin(stack.healthcare_url, timeout_s=_TIMEOUT_S)
        self.gcs = GcsRest(stack.storage_url)
        self.bq = BigQueryRest(stack.bigquery_url) if stack.bigquery_url else None

    # -- cleanup between tests ------------------------------------------------------------
    def wipe(self) -> None:
        """Empty all three emulators (the Healthcare emulator keeps its start-up flags)."""
        self.admin.reset()
        self.gcs.wipe()
        if self.bq is not None:
            for dataset in self.bq.datasets():
                self.bq.delete_dataset(dataset)
            assert self.bq.datasets() == []

    # -- Healthcare admin surface ---------------------------------------------------------
    def service_agent(self, project: str = PROJECT) -> dict:
        return self.admin.service_agent(project)

    def grants(self) -> set[tuple[str, str, str]]:
        """Every grant as ``(resource, role, member)``."""
        return self.admin.grants()

    def clear_requests(self) -> None:
        self.admin.clear_requests()
        assert self.admin.get("requests")["count"] == 0

    def job_posts(self) -> list[str]:
        """Paths of every ``:import`` / ``:export`` POST since the last clear."""
        return [r["path"] for r in self.admin.requests_log()
                if r["method"] == "POST" and r["path"].split("?")[0].endswith((":import", ":export"))]

    def job_operations(self, kind: Optional[str] = None) -> list[dict]:
        """Import (``kind="import"``) and/or export operations ever started, oldest first
        (a Healthcare dataset create is an operation too: never counted here)."""
        keys = {"import": {"gcsSource"}, "export": {"gcsDestination", "bigqueryDestination"},
                None: {"gcsSource", "gcsDestination", "bigqueryDestination"}}[kind]
        return [op for op in self.admin.operations() if keys & set(op.get("request") or {})]

    # -- Healthcare API / DICOMweb ----------------------------------------------------------
    def call(self, method: str, path: str, body: Optional[dict] = None, **params: Any) -> requests.Response:
        """An authorized Healthcare API call, answered as it came."""
        return self.api.request(method, path, body, **params)

    def hc_get(self, path: str) -> requests.Response:
        return self.api.get(path)

    def operation(self, name: str) -> dict:
        return self.api.operation(name)

    def wait_operation(self, name: str, deadline_s: float = 60.0) -> dict:
        return self.api.wait_done(name, deadline_s)

    def sop_uids(self, store: str) -> set[str]:
        return self.api.sop_uids(store)

    def create_store(self, dataset: str, store: str) -> str:
        """A dataset named ``dataset`` holding a DICOM store named ``store``; the store's name."""
        return self.api.create_store(dataset, store)

    def store(self) -> str:
        """A fresh dataset and DICOM store with random names; the store's name."""
        return self.api.create_store(None, None)

    def seed_store(self, store: str, objects: dict[str, bytes]) -> dict:
        """Fill ``store`` with ``objects`` through a real import from a scratch bucket.

        The scratch grant is revoked afterwards, so the programs under test see
        only their own grants.
        """
        bucket = "seed-scratch-bucket"
        self.create_bucket(bucket)
        self.upload(bucket, {f"seed/{k}": v for k, v in objects.items()})
        # Seeding needs the agent: it exists from here on (the programs' bootstrap finds it
        # there, as on a project where it was created before).
        agent = self.admin.create_service_agent(store.split("/")[1])
        grant = {"resource": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
                 "role": ROLE_OBJECT_VIEWER, "member": agent["member"]}
        self.admin.post("iam", grant)
        try:
            op = self.wait_operation(self.api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket}/seed/**"}}))
        finally:
            self.admin.delete("iam", grant)
        assert "error" not in op, op
        assert self.grants() == set()
        return op

    # -- Cloud Storage ----------------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        self.gcs.create_bucket(bucket, location=LOCATION)

    def bucket(self, files: dict[str, bytes]) -> str:
        """A fresh bucket (random name) holding ``files``, the default project's service agent
        granted read and write on it (IAM is enforced); its name."""
        name = self.gcs.create_bucket(random_name("test-"))
        self.gcs.upload_all(name, files)
        self.admin.grant_agent(PROJECT, buckets=[name])
        return name

    def bucket_exists(self, bucket: str) -> bool:
        return self.gcs.bucket_exists(bucket)

    def upload(self, bucket: str, objects: dict[str, bytes]) -> None:
        self.gcs.upload_all(bucket, objects)

    def objects(self, bucket: str, prefix: str = "") -> list[str]:
        return self.gcs.objects(bucket, prefix)

    def read_object(self, bucket: str, name: str) -> bytes:
        return self.gcs.read(bucket, name)

    # -- BigQuery ---------------------------------------------------------------------------
    def _bigquery(self) -> BigQueryRest:
        assert self.bq is not None, "this stack runs no BigQuery emulator"
        return self.bq

    def bq_create_dataset(self, dataset: str) -> None:
        self._bigquery().create_dataset(dataset)

    def bq_tables(self, dataset: str) -> list[str]:
        return self._bigquery().tables(dataset)

    def bq_sop_uids(self, dataset: str, table: str) -> list[str]:
        rows = self._bigquery().query(f"SELECT SOPInstanceUID FROM `{PROJECT}.{dataset}.{table}`")
        return sorted(r["SOPInstanceUID"] for r in rows)
