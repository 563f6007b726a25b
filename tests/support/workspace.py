"""A test's own corner of the local stack: a dataset and DICOM store, and a bucket.

Every end-to-end test of the provider and the CLI starts from the same
thing: a fresh dataset with one DICOM store in the Healthcare emulator and a
fresh bucket in the Cloud Storage emulator, with names no other test uses.
:class:`Workspace` creates them over the public APIs and offers what those
tests ask of them (upload, look at operations, slow the emulator down, wait
for an operation, let a propagating grant arrive after a first denial, run a
setup import through the product's runner). IAM is enforced, so it also
makes the grants a user makes before a first job
(:meth:`support.emulator.EmulatorAdmin.grant_agent`): on its bucket, and on
each BigQuery dataset it creates; ``grant=False`` leaves the service agent
without any, for the tests of what a missing grant does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from google.cloud import bigquery, storage

from healthcare_emulator.sampledata import synthetic_instances
from healthcare_emulator.waiting import poll
from pulumi_dicom_jobs import api_facts, jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.kinds import JobKind
from .data import new_dataset, row_count, upload, upload_numbered
from .emulator import PROJECT, EmulatorAdmin, HealthcareApi

#: Retries short enough that a test of a failing call ends within seconds.
FAST_RETRY = RetryPolicy(initial=0.05, maximum=0.5, attempts=6, deadline=30.0, max_retry_after=3.0)


@dataclass
class Workspace:
    """A fresh dataset + DICOM store (Healthcare emulator) and bucket (GCS emulator) for one test."""

    api: HealthcareApi
    admin: EmulatorAdmin
    dataset: str
    store: str
    bucket: storage.Bucket
    gcs: storage.Client
    bq: Optional[bigquery.Client] = None
    granted: bool = True

    @classmethod
    def create(cls, api: HealthcareApi, admin: EmulatorAdmin, gcs: storage.Client, *, dataset_id: str,
               store_id: str, bucket: str, bq: Optional[bigquery.Client] = None,
               project: str = PROJECT, grant: bool = True) -> "Workspace":
        dataset = api.create_dataset(dataset_id, project)
        store = api.create_dicom_store(dataset, store_id)
        workspace = cls(api, admin, dataset, store, gcs.create_bucket(bucket), gcs, bq, grant)
        if grant:
            admin.grant_agent(project, buckets=[bucket])
        return workspace

    @property
    def base_url(self) -> str:
        return self.api.base_url

    @property
    def project(self) -> str:
        return self.dataset.split("/")[1]

    @property
    def dataset_id(self) -> str:
        return self.dataset.rsplit("/", 1)[-1]

    @property
    def store_id(self) -> str:
        return self.store.rsplit("/", 1)[-1]

    # -- the bucket ---------------------------------------------------------------------
    def gs(self, path: str) -> str:
        return f"gs://{self.bucket.name}/{path}"

    def upload(self, name: str, data: bytes) -> str:
        """Upload one DICOM object; its ``gs://`` URI."""
        return upload(self.bucket, name, data)

    def upload_synthetic(self, prefix: str, count: int) -> None:
        """``count`` synthetic instances (ten per study) as ``prefix/0000.dcm``..."""
        upload_numbered(self.bucket, prefix, synthetic_instances(count, per_study=10))

    def objects(self, prefix: str = "") -> list[str]:
        return sorted(b.name for b in self.gcs.list_blobs(self.bucket.name, prefix=prefix or None))

    # -- the Healthcare emulator ------------------------------------------------------------
    def operation(self, name: str) -> dict:
        return self.api.operation(name)

    def operations(self) -> list[dict]:
        """Import/export operations started on this workspace's store (dataset creation excluded)."""
        return self.admin.store_operations(self.store)

    def wait_done(self, name: str, deadline_s: float = 20.0) -> dict:
        return self.api.wait_done(name, deadline_s)

    def study_count(self) -> int:
        return self.api.study_count(self.store)

    def request_count(self) -> int:
        return self.admin.get("requests")["count"]

    def slow(self, seconds_per_instance: float) -> None:
        """Make each instance of an import/export take this long (so a job stays running)."""
        self.admin.config(instanceDelaySeconds=seconds_per_instance)

    def propagate_grants_once_denied(self, deadline_s: float = 60.0) -> str:
        """Once an operation on the store has ended PERMISSION_DENIED, let every grant take effect
        (``grantPropagationSeconds`` 0); the denied operation's name.

        A test of a job that outwaits a propagating grant sets the propagation long (an hour)
        before granting, runs the job, and calls this: the first start is denied and a later
        one is not, however slowly a loaded machine gets from the grant to the job's first
        permission check (a grant that propagates in a few seconds races that).
        """
        def denied() -> Optional[str]:
            for listed in self.operations():
                if listed["done"] and self.operation(listed["name"]).get("error", {}).get("code") == \
                        api_facts.CODE_PERMISSION_DENIED:
                    return listed["name"]
            return None

        name = poll(denied, deadline_s=deadline_s, what="an operation denied while its grant propagates")
        self.admin.config(grantPropagationSeconds=0.0)
        return name

    # -- the product's runner (setup for the product's tests) ---------------------------------
    def client(self, **kwargs: Any) -> HealthcareClient:
        kwargs.setdefault("retry", FAST_RETRY)
        return HealthcareClient(**kwargs)

    def import_files(self, files: list[bytes], folder: str = "in") -> str:
        """Upload ``files`` and import them with the runner (setup for exports); the operation name."""
        for index, data in enumerate(files):
            self.upload(f"{folder}/{index}.dcm", data)
        with self.client() as client:
            status = jobs.run_job(client, JobKind.IMPORT, self.store,
                                  {"gcsSource": {"uri": self.gs(f"{folder}/**.dcm")}}, timeout_seconds=60)
        assert status.success == len(files)
        return status.name

    # -- BigQuery -----------------------------------------------------------------------
    def new_bq_dataset(self) -> str:
        """A fresh BigQuery dataset in the workspace's project (granted, unless the workspace is not)."""
        assert self.bq is not None, "this workspace has no BigQuery client"
        dataset = new_dataset(self.bq, self.project)
        if self.granted:
            self.admin.grant_agent(self.project, bq_datasets=[f"{self.project}.{dataset}"])
        return dataset

    def rows(self, table: str) -> int:
        assert self.bq is not None, "this workspace has no BigQuery client"
        return row_count(self.bq, table)


__all__ = ["FAST_RETRY", "Workspace"]
