"""A seeded sandbox on the local stack: something to point ``dicom-jobs`` at.

``python -m healthcare_emulator.stack --seed`` calls :func:`seed` once the
three emulators are up. It creates what a user needs before a first job (a
Healthcare dataset and DICOM store, a bucket of DICOM files, a BigQuery
dataset) through the public REST APIs of the three services, as a user's own
script against Google Cloud would, so the seed also exercises those paths.
The Healthcare service agent and the IAM grants its printed commands need
(the roles the product's grant helpers give, where they give them) go
through the emulator's admin surface, the way docs/emulator.md tells a user
to make them: the emulator has no IAM policy methods. So does the
per-instance delay, which has no counterpart in the real API.

The files are pydicom's own sample files, named one by one (only files that
ship in the pydicom wheel, so nothing is downloaded), all of which render to
PNG, plus one file that is not DICOM (the import's one expected failure) and
a filter file naming one study (for ``--filter``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import requests

from healthcare_emulator import sampledata

#: pydicom sample files that ship in its wheel and render to PNG; distinct instances.
SAMPLE_FILES = ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "liver_1frame.dcm",
                "examples_rgb_color.dcm", "SC_rgb_small_odd.dcm")
BROKEN_FILE = "not-dicom.dcm"
#: The sample whose study the filter file names.
FILTERED_SAMPLE = "CT_small.dcm"
_TIMEOUT_S = 30
_BEARER = {"Authorization": "Bearer sandbox"}  # the emulator accepts any token


@dataclass(frozen=True)
class Sandbox:
    """The names the seed creates, and the commands that use them."""

    project: str
    location: str = "us-central1"
    dataset: str = "sandbox"
    store_id: str = "samples"
    bucket: str = "dicom-sandbox"  # 3+ characters: the CLI checks bucket names as the service does
    samples_prefix: str = "samples/"
    filter_object: str = "filters/ct-study.txt"
    bigquery_dataset: str = "dicom_sandbox"
    bigquery_table: str = "instances"

    @property
    def dataset_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/datasets/{self.dataset}"

    @property
    def store(self) -> str:
        """The DICOM store's resource name (``STORE`` in the printed environment)."""
        return f"{self.dataset_name}/dicomStores/{self.store_id}"

    def env(self) -> dict[str, str]:
        """What the commands need besides the stack's own environment."""
        return {"STORE": self.store}

    def commands(self) -> list[str]:
        """Import everything, export it as PNG, export its metadata to BigQuery.

        The import allows one failed instance: the sandbox's broken file is
        there to show how a failure is reported, not to fail the command.
        """
        return [
            f'dicom-jobs import $STORE "gs://{self.bucket}/{self.samples_prefix}*.dcm" '
            "--max-failed-instances 1",
            f"dicom-jobs export gcs $STORE gs://{self.bucket}/png --mime-type image/png",
            f"dicom-jobs export bq $STORE "
            f"bq://{self.project}.{self.bigquery_dataset}.{self.bigquery_table}",
        ]

    def grants(self) -> list[Grant]:
        """What the service agent needs for the printed commands, as the product's helpers grant it."""
        bucket = f"//storage.googleapis.com/projects/_/buckets/{self.bucket}"
        return [
            Grant("roles/storage.objectViewer", bucket, f"gs://{self.bucket} (the import, the filter file)"),
            Grant("roles/storage.objectAdmin", bucket, f"gs://{self.bucket} (the PNG export)"),
            Grant("roles/bigquery.dataEditor",
                  f"//bigquery.googleapis.com/projects/{self.project}/datasets/{self.bigquery_dataset}",
                  f"BigQuery dataset {self.project}.{self.bigquery_dataset}", bigquery=True),
            Grant("roles/bigquery.jobUser", f"//cloudresourcemanager.googleapis.com/projects/{self.project}",
                  f"project {self.project} (BigQuery jobs)", bigquery=True),
        ]

    def description(self, instance_delay: Optional[float], agent: Mapping[str, str],
                    granted: Sequence[Grant]) -> list[str]:
        """Shell comments saying what was created (printed before the commands)."""
        pace = (f"{instance_delay:g} s of work per instance" if instance_delay is not None
                else "no delay per instance (--instance-delay 0.5 makes a job's progress visible)")
        return [
            f"# seeded: dataset {self.dataset}, DICOM store {self.store_id} (empty), "
            f"BigQuery dataset {self.project}.{self.bigquery_dataset}, and",
            f"# gs://{self.bucket}/{self.samples_prefix}: {len(SAMPLE_FILES)} pydicom sample files "
            f"and {BROKEN_FILE} (not DICOM: the import's one failure);",
            f"# gs://{self.bucket}/{self.filter_object}: a filter file naming {FILTERED_SAMPLE}'s "
            "study (try --filter);",
            f"# the Healthcare service agent {agent['email']} (created), granted:",
            *(f"#   {grant.role} on {grant.where}" for grant in granted),
            f"# {pace}",
        ]


@dataclass(frozen=True)
class Grant:
    """One role for the service agent: the admin surface's resource, and where, in words."""

    role: str
    resource: str
    where: str
    bigquery: bool = False  # needs the BigQuery emulator


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` made that the printout names: the service agent and its grants."""

    agent: Mapping[str, str]
    grants: Sequence[Grant]


def seed(sandbox: Sandbox, stack_env: Mapping[str, str]) -> Seeded:
    """Create the sandbox's resources on the stack whose environment is ``stack_env``."""
    healthcare = "http://" + stack_env["HEALTHCARE_EMULATOR_HOST"]
    storage = stack_env["STORAGE_EMULATOR_HOST"].rstrip("/")
    session = requests.Session()
    _create_store(session, healthcare, sandbox)
    _fill_bucket(session, storage, sandbox)
    bigquery = stack_env.get("BIGQUERY_EMULATOR_HOST")
    if bigquery:
        _create_bigquery_dataset(session, bigquery.rstrip("/"), sandbox)
    grants = [grant for grant in sandbox.grants() if bigquery or not grant.bigquery]
    return Seeded(_grant_agent(session, healthcare, sandbox.project, grants), grants)


def set_instance_delay(healthcare_url: str, seconds: float) -> None:
    """Admin surface: the Healthcare emulator spends ``seconds`` per instance from now on."""
    _call(requests.Session(), "POST", f"{healthcare_url}/_emulator/config", "setting the per-instance delay",
          json={"instanceDelaySeconds": seconds})


def sandbox_objects(sandbox: Sandbox) -> dict[str, bytes]:
    """The bucket's objects: the samples, the broken file and the filter file."""
    objects = {sandbox.samples_prefix + name: sampledata.real_bytes(name) for name in SAMPLE_FILES}
    objects[sandbox.samples_prefix + BROKEN_FILE] = sampledata.broken_file()
    study = sampledata.uids_of(sampledata.real_bytes(FILTERED_SAMPLE)).study
    objects[sandbox.filter_object] = f"/studies/{study}\n".encode()
    return objects


# -- the public REST calls -------------------------------------------------------------
def _call(session: requests.Session, method: str, url: str, what: str, **kwargs) -> requests.Response:
    response = session.request(method, url, timeout=_TIMEOUT_S, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError(f"{what} failed: HTTP {response.status_code} {response.text[:500]}")
    return response


def _create_store(session: requests.Session, healthcare: str, sandbox: Sandbox) -> None:
    """Healthcare API v1: ``datasets.create`` then ``dicomStores.create``."""
    parent = f"{healthcare}/v1/projects/{sandbox.project}/locations/{sandbox.location}/datasets"
    _call(session, "POST", parent, f"creating dataset {sandbox.dataset}",
          params={"datasetId": sandbox.dataset}, headers=_BEARER, json={})
    _call(session, "POST", f"{parent}/{sandbox.dataset}/dicomStores", f"creating store {sandbox.store_id}",
          params={"dicomStoreId": sandbox.store_id}, headers=_BEARER, json={})


def _fill_bucket(session: requests.Session, storage: str, sandbox: Sandbox) -> None:
    """Cloud Storage JSON API: ``buckets.insert``, then one media upload per object."""
    _call(session, "POST", f"{storage}/storage/v1/b", f"creating bucket {sandbox.bucket}",
          params={"project": sandbox.project}, json={"name": sandbox.bucket})
    for name, data in sandbox_objects(sandbox).items():
        content_type = "text/plain" if name.endswith(".txt") else "application/dicom"
        _call(session, "POST", f"{storage}/upload/storage/v1/b/{sandbox.bucket}/o",
              f"uploading gs://{sandbox.bucket}/{name}", params={"uploadType": "media", "name": name},
              data=data, headers={"Content-Type": content_type})


def _grant_agent(session: requests.Session, healthcare: str, project: str,
                 grants: Sequence[Grant]) -> dict:
    """Admin surface: create the project's service agent, then grant it each role."""
    admin = f"{healthcare}/_emulator"
    agent = _call(session, "POST", f"{admin}/service-agent", "creating the Healthcare service agent",
                  json={"project": project}).json()
    for grant in grants:
        _call(session, "POST", f"{admin}/iam", f"granting {grant.role} on {grant.where}",
              json={"resource": grant.resource, "role": grant.role, "member": agent["member"]})
    return agent


def _create_bigquery_dataset(session: requests.Session, bigquery: str, sandbox: Sandbox) -> None:
    """BigQuery v2: ``datasets.insert`` (the export creates its table)."""
    _call(session, "POST", f"{bigquery}/bigquery/v2/projects/{sandbox.project}/datasets",
          f"creating BigQuery dataset {sandbox.bigquery_dataset}",
          json={"datasetReference": {"projectId": sandbox.project, "datasetId": sandbox.bigquery_dataset}})
