"""Fixtures the benchmarks share: a store with a source bucket, a host."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pulumi.dynamic.dynamic import serialize_provider

from pulumi_dicom_jobs.dynamic.providers import DicomExportJobProvider, DicomImportJobProvider
from healthcare_emulator.sampledata import synthetic_instance
from pulumi_offline.host import DynamicProviderHost
from tests.support.data import DICOM_CONTENT_TYPE, GcsRest
from tests.support.emulator import HealthcareApi

REPO = Path(__file__).resolve().parent.parent
URN = "urn:pulumi:bench::bench::pulumi-python:dynamic:Resource::job-{}"


def small_dicom(seed: int = 0) -> bytes:
    """A tiny valid Part 10 instance (pydicom, no files from elsewhere)."""
    return synthetic_instance(rows=4, columns=4, seed=seed)


@dataclass
class Source:
    bucket: str
    prefix: str
    count: int

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}/**.dcm"


def source(gcs: GcsRest, count: int, prefix: str = "in") -> Source:
    bucket = gcs.create_bucket()
    for i in range(count):
        gcs.upload(bucket, f"{prefix}/{i:05d}.dcm", small_dicom(i), DICOM_CONTENT_TYPE)
    return Source(bucket, prefix, count)


def import_provider() -> str:
    return serialize_provider(DicomImportJobProvider())


def export_provider() -> str:
    return serialize_provider(DicomExportJobProvider())


def host(stack_env: dict, pool: str | None = None) -> DynamicProviderHost:
    env = dict(stack_env)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env["DICOM_JOBS_HOST_POOL"] = pool or ""
    return DynamicProviderHost(project="bench", env=env)


def import_inputs(store: str, uri: str, provider: str, **extra) -> dict:
    return {"dicom_store": store, "gcs_source": {"uri": uri}, "__provider": provider, **extra}


def new_store(api: HealthcareApi, dataset: str | None = None) -> str:
    return api.create_dicom_store(dataset or api.create_dataset())
