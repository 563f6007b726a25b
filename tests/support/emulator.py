"""Clients for the Healthcare emulator: its public REST API and its admin surface.

Tests and benchmarks talk to the emulator only over HTTP, the way any other
client would; nothing here imports the emulator's internals. ``HealthcareApi``
answers raw ``requests`` responses (tests assert on status codes and error
bodies), plus conveniences that insist on success. ``EmulatorAdmin`` drives
``/_emulator/`` (reset, config, faults, IAM, the request and operation logs).
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Optional

import requests

from healthcare_emulator.stack import DEFAULT_PROJECT
from healthcare_emulator.waiting import poll

PROJECT = DEFAULT_PROJECT
LOCATION = "us-central1"
ROLE_OBJECT_VIEWER = "roles/storage.objectViewer"
ROLE_OBJECT_ADMIN = "roles/storage.objectAdmin"
ROLE_BQ_DATA_EDITOR = "roles/bigquery.dataEditor"
ROLE_BQ_JOB_USER = "roles/bigquery.jobUser"
#: Method names of DICOM import/export operations (dataset creation is an operation too).
DICOM_METHOD = ".dicom.DicomService."
_TIMEOUT_S = 30


def location(project: str = PROJECT) -> str:
    """``projects/P/locations/L``: the parent of every dataset the tests create."""
    return f"projects/{project}/locations/{LOCATION}"


class HealthcareApi:
    """The public REST surface of one emulator, for one API version, with a bearer token."""

    def __init__(self, base_url: str, version: str = "v1", token: Optional[str] = "test-token",
                 timeout_s: float = _TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.timeout_s = timeout_s
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def request(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        """Any call, answered as it came (tests check statuses and error bodies)."""
        return self.session.request(method, self.url(path), json=body, params=params or None,
                                    timeout=self.timeout_s)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params or None, timeout=self.timeout_s)

    def post(self, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body if body is not None else {},
                                 params=params or None, timeout=self.timeout_s)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.url(path), timeout=self.timeout_s)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> dict:
        """A call that must succeed (200: the API answers every success so); its JSON answer."""
        response = self.request(method, path, body, **params)
        assert response.status_code == 200, response.text
        return response.json() if response.content else {}

    # -- datasets and stores ------------------------------------------------------
    def location(self, project: str = PROJECT) -> str:
        return location(project)

    def create_dataset(self, dataset_id: Optional[str] = None, project: str = PROJECT) -> str:
        """Create a dataset (a random id unless given); return its name."""
        dataset_id = dataset_id or f"ds{uuid.uuid4().hex[:8]}"
        self.call("POST", f"{location(project)}/datasets", {}, datasetId=dataset_id)
        return f"{location(project)}/datasets/{dataset_id}"

    def create_dicom_store(self, dataset: str, store_id: Optional[str] = None) -> str:
        """Create a DICOM store in ``dataset`` (a random id unless given); return its name."""
        store_id = store_id or f"st{uuid.uuid4().hex[:8]}"
        self.call("POST", f"{dataset}/dicomStores", {}, dicomStoreId=store_id)
        return f"{dataset}/dicomStores/{store_id}"

    def create_store(self, dataset_id: Optional[str] = None, store_id: Optional[str] = "store",
                     project: str = PROJECT) -> str:
        """Create a dataset and a DICOM store in it; return the store name."""
        return self.create_dicom_store(self.create_dataset(dataset_id, project), store_id)

    # -- operations -------------------------------------------------------------------
    def start(self, store: str, verb: str, body: dict) -> str:
        """POST ``store:import`` or ``store:export``; the operation's name."""
        return self.call("POST", f"{store}:{verb}", body)["name"]

    def operation(self, name: str) -> dict:
        return self.call("GET", name)

    def wait_done(self, name: str, deadline_s: float = 30.0) -> dict:
        """The operation once it is done (fails after ``deadline_s``)."""
        return poll(lambda: (lambda op: op if op.get("done") else None)(self.operation(name)),
                    deadline_s=deadline_s, what=f"operation {name} done")

    # -- DICOMweb ---------------------------------------------------------------------
    def qido(self, path: str) -> list[dict]:
        """A QIDO-RS search (``.../dicomWeb/studies`` and below) that must succeed."""
        response = self.get(path)
        response.raise_for_status()
        return response.json() if response.content else []

    def study_count(self, store: str) -> int:
        return len(self.qido(f"{store}/dicomWeb/studies") or [])

    def sop_uids(self, store: str) -> set[str]:
        """SOP Instance UIDs in a store, walked through QIDO-RS studies/series/instances."""
        uids: set[str] = set()
        for study in self.qido(f"{store}/dicomWeb/studies"):
            st = study["0020000D"]["Value"][0]
            for series in self.qido(f"{store}/dicomWeb/studies/{st}/series"):
                se = series["0020000E"]["Value"][0]
                for instance in self.qido(f"{store}/dicomWeb/studies/{st}/series/{se}/instances"):
                    uids.add(instance["00080018"]["Value"][0])
        return uids


def error_of(response: requests.Response) -> dict:
    """The ``error`` object of a Google JSON error response."""
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


class EmulatorAdmin:
    """Client for the emulator's ``/_emulator/`` admin surface (no auth, loopback only).

    Every call must answer 200 (the admin surface answers every success so).
    """

    def __init__(self, base_url: str, timeout_s: float = _TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: Optional[dict]) -> dict:
        response = self.session.request(method, f"{self.base_url}/_emulator/{path}", json=body,
                                        timeout=self.timeout_s)
        assert response.status_code == 200, f"{method} /_emulator/{path}: {response.status_code} {response.text}"
        return response.json() if response.content else {}

    def get(self, path: str) -> dict:
        return self._call("GET", path, None)

    def post(self, path: str, body: Optional[dict] = None) -> dict:
        return self._call("POST", path, body or {})

    def delete(self, path: str, body: Optional[dict] = None) -> dict:
        return self._call("DELETE", path, body or {})

    # -- conveniences --------------------------------------------------------------
    def reset(self) -> None:
        self.post("reset")

    def config(self, **values: Any) -> dict:
        """Merge ``values`` into the emulator's config (``instanceDelaySeconds=...``)."""
        return self.post("config", values)

    def service_agent(self, project: str = PROJECT) -> dict:
        """``project``'s Healthcare service agent: number, email, member, whether it exists."""
        return self.get(f"service-agent?project={project}")

    def create_service_agent(self, project: str = PROJECT) -> dict:
        """Create ``project``'s service agent (what enabling the API or ServiceIdentity does)."""
        return self.post("service-agent", {"project": project})

    def grant_agent(self, project: str = PROJECT, *, buckets: Iterable[str] = (),
                    bq_datasets: Iterable[str] = ()) -> dict:
        """What a user does before a first job, the way docs/emulator.md says: create
        ``project``'s service agent, then grant it what the product's grant helpers grant:
        ``roles/storage.objectViewer`` and ``roles/storage.objectAdmin`` on each bucket (import
        source, filter file, export destination), ``roles/bigquery.dataEditor`` on each BigQuery
        dataset (``"PROJECT.DATASET"``) and ``roles/bigquery.jobUser`` on its project. The agent."""
        agent = self.create_service_agent(project)
        wanted = [(f"//storage.googleapis.com/projects/_/buckets/{bucket}", role)
                  for bucket in buckets for role in (ROLE_OBJECT_VIEWER, ROLE_OBJECT_ADMIN)]
        for dataset in bq_datasets:
            bq_project, _, bq_dataset = dataset.partition(".")
            wanted += [(f"//bigquery.googleapis.com/projects/{bq_project}/datasets/{bq_dataset}", ROLE_BQ_DATA_EDITOR),
                       (f"//cloudresourcemanager.googleapis.com/projects/{bq_project}", ROLE_BQ_JOB_USER)]
        for resource, role in wanted:
            self.post("iam", {"resource": resource, "role": role, "member": agent["member"]})
        return agent

    def grants(self) -> set[tuple[str, str, str]]:
        """Every grant as ``(resource, role, member)``."""
        return {(g["resource"], g["role"], g["member"]) for g in self.get("iam")["grants"]}

    def requests_log(self) -> list[dict]:
        """Every non-admin request received since the last clear."""
        return self.get("requests")["requests"]

    def clear_requests(self) -> None:
        self.post("requests/clear")

    def operations(self) -> list[dict]:
        """Every operation ever started, across datasets (dataset creation included)."""
        return self.get("operations")["operations"]

    def store_operations(self, store: Optional[str] = None) -> list[dict]:
        """Import/export operations (those on a store), optionally on one store only."""
        return [op for op in self.operations() if op.get("store") and (store is None or op["store"] == store)]

    def add_history(self, dataset: str, count: int) -> None:
        """``count`` finished imports in ``dataset``, ended an hour ago (a long-lived dataset)."""
        assert self.post("operations/history", {"dataset": dataset, "count": count})["added"] == count

    def dicom_operations(self, store: Optional[str] = None) -> list[dict]:
        """DICOM import/export operations by method name, optionally on one store only."""
        return [op for op in self.operations() if DICOM_METHOD in (op.get("apiMethodName") or "")
                and (store is None or op.get("store") == store)]
