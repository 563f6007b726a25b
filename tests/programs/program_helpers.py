"""Helpers for running the example programs and the root program through ``pulumi_offline``.

Every test module starts ONE local stack with IAM enforced (``--enforce-iam``):
the Healthcare service agent can read or write a bucket or dataset only after
the program's own grants. Tests copy a program to ``tmp_path`` (the engine
keeps its state beside the program, never in the checkout), write a stack
config, upload data, run ``up`` / ``destroy``, and read back what the
emulators hold through their public REST surfaces (Cloud Storage JSON API,
BigQuery REST, Healthcare DICOMweb) and the Healthcare admin surface.
"""

from __future__ import annotations

import gc
import io
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import requests

from healthcare_emulator.stack import DEFAULT_PROJECT, LocalStack
from pulumi_offline.display import Display
from pulumi_offline.engine import Result, run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PROJECT = DEFAULT_PROJECT
LOCATION = "us-central1"
STACK = "test"
BEARER = {"Authorization": "Bearer tests"}
#: Permission-denied retry window for the provider (seconds): missing grants fail fast.
PERMISSION_RETRY_SECONDS = "1"
_TIMEOUT = 60

ROLE_OBJECT_VIEWER = "roles/storage.objectViewer"
ROLE_OBJECT_ADMIN = "roles/storage.objectAdmin"
ROLE_BQ_DATA_EDITOR = "roles/bigquery.dataEditor"
ROLE_BQ_JOB_USER = "roles/bigquery.jobUser"
JOB = "job"  # a DicomImportJob or DicomExportJob (dynamic resource)


# --------------------------------------------------------------------------- the stack
def start_enforcing_stack(log_dir: Path) -> LocalStack:
    """A fresh local stack whose Healthcare emulator enforces IAM (caller stops it)."""
    stack = LocalStack(healthcare_args=["--enforce-iam"], log_dir=log_dir).start()
    config = requests.get(f"{stack.healthcare_url}/_emulator/config", timeout=_TIMEOUT).json()
    assert config["enforceIam"] is True, config
    return stack


def engine_env(stack: LocalStack) -> dict[str, str]:
    return {**stack.env(), "DICOM_JOBS_PERMISSION_RETRY_SECONDS": PERMISSION_RETRY_SECONDS}


class Cloud:
    """Reads and writes the three emulators the way a user's tools would (no product code)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.gcs = stack.storage_url
        self.bq = stack.bigquery_url
        self.hc = stack.healthcare_url
        self.http = requests.Session()

    # -- cleanup between tests (one stack per module) ---------------------------
    def wipe(self) -> None:
        """Empty all three emulators; the Healthcare emulator keeps ``--enforce-iam``."""
        self.admin_post("reset")
        assert self.admin_get("config")["enforceIam"] is True
        self.http.get(f"{self.gcs}/wipe", timeout=_TIMEOUT).raise_for_status()
        for dataset in self.bq_datasets():
            self.http.delete(f"{self.bq}/bigquery/v2/projects/{PROJECT}/datasets/{dataset}",
                             params={"deleteContents": "true"}, timeout=_TIMEOUT).raise_for_status()
        assert self.bq_datasets() == []

    # -- Healthcare admin surface ------------------------------------------------
    def admin_get(self, path: str) -> dict:
        response = self.http.get(f"{self.hc}/_emulator/{path}", timeout=_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def admin_post(self, path: str, body: dict | None = None) -> dict:
        response = self.http.post(f"{self.hc}/_emulator/{path}", json=body or {}, timeout=_TIMEOUT)
        response.raise_for_status()
        return response.json() if response.content else {}

    def admin_delete(self, path: str, body: dict | None = None) -> None:
        self.http.delete(f"{self.hc}/_emulator/{path}", json=body or {}, timeout=_TIMEOUT).raise_for_status()

    def service_agent(self) -> dict:
        return self.admin_get("service-agent")

    def grants(self) -> set[tuple[str, str, str]]:
        """Every grant as ``(resource, role, member)``."""
        return {(g["resource"], g["role"], g["member"]) for g in self.admin_get("iam")["grants"]}

    def clear_requests(self) -> None:
        self.admin_post("requests/clear")
        assert self.admin_get("requests")["count"] == 0

    def job_posts(self) -> list[str]:
        """Paths of every ``:import`` / ``:export`` POST since the last clear."""
        return [r["path"] for r in self.admin_get("requests")["requests"]
                if r["method"] == "POST" and r["path"].split("?")[0].endswith((":import", ":export"))]

    def job_operations(self, kind: str | None = None) -> list[dict]:
        """Import (``kind="import"``) and/or export operations ever started, oldest first
        (a Healthcare dataset create is an operation too: never counted here)."""
        keys = {"import": {"gcsSource"}, "export": {"gcsDestination", "bigqueryDestination"},
                None: {"gcsSource", "gcsDestination", "bigqueryDestination"}}[kind]
        return [op for op in self.admin_get("operations")["operations"] if keys & set(op.get("request") or {})]

    # -- Healthcare API / DICOMweb -----------------------------------------------
    def hc_get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.hc}/v1/{path}", headers=BEARER, timeout=_TIMEOUT)

    def operation(self, name: str) -> dict:
        response = self.hc_get(name)
        response.raise_for_status()
        return response.json()

    def _qido(self, path: str) -> list[dict]:
        response = self.hc_get(path)
        response.raise_for_status()
        return response.json() if response.content else []

    def sop_uids(self, store: str) -> set[str]:
        """SOP Instance UIDs in a store, walked through QIDO-RS studies/series/instances."""
        uids: set[str] = set()
        for study in self._qido(f"{store}/dicomWeb/studies"):
            st = study["0020000D"]["Value"][0]
            for series in self._qido(f"{store}/dicomWeb/studies/{st}/series"):
                se = series["0020000E"]["Value"][0]
                for instance in self._qido(f"{store}/dicomWeb/studies/{st}/series/{se}/instances"):
                    uids.add(instance["00080018"]["Value"][0])
        return uids

    def create_store(self, dataset: str, store: str) -> str:
        parent = f"projects/{PROJECT}/locations/{LOCATION}"
        self.http.post(f"{self.hc}/v1/{parent}/datasets", params={"datasetId": dataset}, json={},
                       headers=BEARER, timeout=_TIMEOUT).raise_for_status()
        name = f"{parent}/datasets/{dataset}/dicomStores/{store}"
        self.http.post(f"{self.hc}/v1/{parent}/datasets/{dataset}/dicomStores", params={"dicomStoreId": store},
                       json={}, headers=BEARER, timeout=_TIMEOUT).raise_for_status()
        return name

    def wait_operation(self, name: str, deadline_s: float = 60.0) -> dict:
        deadline = time.monotonic() + deadline_s
        while True:
            op = self.operation(name)
            if op.get("done"):
                return op
            if time.monotonic() > deadline:
                raise TimeoutError(f"operation {name} not done after {deadline_s}s: {op}")
            time.sleep(0.05)  # poll interval, not a wait-for-luck sleep: the deadline bounds it

    def seed_store(self, store: str, objects: dict[str, bytes]) -> dict:
        """Fill ``store`` with ``objects`` through a real import from a scratch bucket.

        The scratch grant is revoked afterwards, so the programs under test see
        only their own grants.
        """
        bucket = "seed-scratch-bucket"
        self.create_bucket(bucket)
        self.upload(bucket, {f"seed/{k}": v for k, v in objects.items()})
        grant = {"resource": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
                 "role": ROLE_OBJECT_VIEWER, "member": self.service_agent()["member"]}
        self.admin_post("iam", grant)
        try:
            response = self.http.post(f"{self.hc}/v1/{store}:import", headers=BEARER, timeout=_TIMEOUT,
                                      json={"gcsSource": {"uri": f"gs://{bucket}/seed/**"}})
            response.raise_for_status()
            op = self.wait_operation(response.json()["name"])
        finally:
            self.admin_delete("iam", grant)
        assert "error" not in op, op
        assert self.grants() == set()
        return op

    # -- Cloud Storage JSON API ---------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        self.http.post(f"{self.gcs}/storage/v1/b", params={"project": PROJECT},
                       json={"name": bucket, "location": LOCATION}, timeout=_TIMEOUT).raise_for_status()

    def bucket_exists(self, bucket: str) -> bool:
        return self.http.get(f"{self.gcs}/storage/v1/b/{bucket}", timeout=_TIMEOUT).status_code == 200

    def upload(self, bucket: str, objects: dict[str, bytes]) -> None:
        for name, data in objects.items():
            self.http.post(f"{self.gcs}/upload/storage/v1/b/{bucket}/o",
                           params={"uploadType": "media", "name": name}, data=data,
                           headers={"Content-Type": "application/octet-stream"},
                           timeout=_TIMEOUT).raise_for_status()

    def objects(self, bucket: str, prefix: str = "") -> list[str]:
        response = self.http.get(f"{self.gcs}/storage/v1/b/{bucket}/o", timeout=_TIMEOUT)
        response.raise_for_status()
        return sorted(i["name"] for i in response.json().get("items", []) if i["name"].startswith(prefix))

    def read_object(self, bucket: str, name: str) -> bytes:
        response = self.http.get(f"{self.gcs}/storage/v1/b/{bucket}/o/{requests.utils.quote(name, safe='')}",
                                 params={"alt": "media"}, timeout=_TIMEOUT)
        response.raise_for_status()
        return response.content

    # -- BigQuery REST ---------------------------------------------------------------
    def bq_datasets(self) -> list[str]:
        response = self.http.get(f"{self.bq}/bigquery/v2/projects/{PROJECT}/datasets", timeout=_TIMEOUT)
        response.raise_for_status()
        return sorted(d["datasetReference"]["datasetId"] for d in response.json().get("datasets", []) or [])

    def bq_create_dataset(self, dataset: str) -> None:
        self.http.post(f"{self.bq}/bigquery/v2/projects/{PROJECT}/datasets", timeout=_TIMEOUT,
                       json={"datasetReference": {"projectId": PROJECT, "datasetId": dataset},
                             "location": LOCATION}).raise_for_status()

    def bq_tables(self, dataset: str) -> list[str]:
        response = self.http.get(f"{self.bq}/bigquery/v2/projects/{PROJECT}/datasets/{dataset}/tables",
                                 timeout=_TIMEOUT)
        response.raise_for_status()
        return sorted(t["tableReference"]["tableId"] for t in response.json().get("tables", []) or [])

    def bq_query(self, sql: str) -> list[dict[str, Any]]:
        response = self.http.post(f"{self.bq}/bigquery/v2/projects/{PROJECT}/queries",
                                  json={"query": sql, "useLegacySql": False}, timeout=_TIMEOUT)
        response.raise_for_status()
        body = response.json()
        names = [f["name"] for f in body["schema"]["fields"]]
        return [dict(zip(names, (c["v"] for c in row["f"]))) for row in body.get("rows", []) or []]

    def bq_sop_uids(self, dataset: str, table: str) -> list[str]:
        rows = self.bq_query(f"SELECT SOPInstanceUID FROM `{PROJECT}.{dataset}.{table}`")
        return sorted(r["SOPInstanceUID"] for r in rows)


# --------------------------------------------------------------------------- programs
@dataclass
class Program:
    directory: Path
    stack: LocalStack
    stack_name: str = STACK

    def write_config(self, config: dict[str, Any]) -> Path:
        path = self.directory / f"Pulumi.{self.stack_name}.yaml"
        path.write_text(json.dumps({"config": config}, indent=2))  # JSON is YAML
        return path

    def run(self, command: str) -> Result:
        out = io.StringIO()
        result = run(command, self.directory, stack=self.stack_name, env=engine_env(self.stack),
                     display=Display(out))
        # After a failed run the SDK's registration futures hold exceptions nobody retrieved; their
        # finalizers log a traceback whenever the GC reaches them. On CPython 3.11 that logging parses
        # source (traceback caret anchors) and, when the GC fires inside another ast.parse (pytest's
        # assertion rewriting of a lazily imported plugin), corrupts that parse: "SystemError: AST
        # constructor recursion depth mismatch". Collect here, at a harmless moment.
        gc.collect()
        result.text = out.getvalue()  # type: ignore[attr-defined]
        return result

    def up(self) -> Result:
        return self.run("up")

    def destroy(self) -> Result:
        return self.run("destroy")

    def state(self) -> dict[str, Any]:
        path = self.directory / ".pulumi-offline" / f"{self.stack_name}.json"
        return json.loads(path.read_text())

    def state_names(self) -> set[str]:
        return {r["urn"].rsplit("::", 1)[-1] for r in self.state()["resources"]}


def copy_program(source: Path, target: Path, patches: Iterable[tuple[str, str]] = ()) -> Path:
    """Copy a program directory (no state, no venv); apply exact textual patches to ``__main__.py``.

    Each patch ``(old, new)`` must match exactly once, so a drifting example
    fails the test loudly instead of silently running unpatched.
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".pulumi-offline", "venv", ".venv",
                                                                    "__pycache__", "Pulumi.*.yaml"))
    if (source / "Pulumi.yaml").exists() and not (target / "Pulumi.yaml").exists():
        shutil.copy(source / "Pulumi.yaml", target / "Pulumi.yaml")
    main = target / "__main__.py"
    text = main.read_text()
    for old, new in patches:
        assert text.count(old) == 1, f"patch anchor not found exactly once in {main}: {old!r}"
        text = text.replace(old, new)
    main.write_text(text)
    return target


def copy_root_program(target: Path, patches: Iterable[tuple[str, str]] = ()) -> Path:
    target.mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", target / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", target / "__main__.py")
    main = target / "__main__.py"
    text = main.read_text()
    for old, new in patches:
        assert text.count(old) == 1, f"patch anchor not found exactly once in {main}: {old!r}"
        text = text.replace(old, new)
    main.write_text(text)
    return target


def urn_type(urn: str) -> str:
    """The resource type of a URN, e.g. ``gcp:storage/bucket:Bucket`` (parent types dropped)."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


def short_type(urn: str) -> str:
    """``job`` for the dynamic job resources (their type is ``pulumi-python:dynamic/dicom-jobs:DicomImportJob`` or ``...:DicomExportJob``),
    the class name for our components, the type token otherwise."""
    kind = urn_type(urn)
    if kind.startswith("pulumi-python:dynamic"):
        return JOB
    if kind.startswith("dicom-jobs:components:"):
        return kind.rsplit(":", 1)[-1]
    return kind


def counts_by_type(result: Result, kind: str | None = None) -> Counter:
    """``{type: n}`` for the steps of ``kind`` (all kinds when None)."""
    return Counter(short_type(urn) for k, urn in result.steps if kind is None or k == kind)


def steps_of(result: Result, kind: str) -> list[str]:
    """Resource names of the steps of ``kind``."""
    return sorted(urn.rsplit("::", 1)[-1] for k, urn in result.steps if k == kind)


def job_urns(result: Result) -> dict[str, str]:
    """Name -> URN of the job resources of a run."""
    return {urn.rsplit("::", 1)[-1]: urn for _, urn in result.steps
            if short_type(urn) == JOB}


def state_job_outputs(program: Program) -> dict[str, dict[str, Any]]:
    """Name -> outputs of the job resources in the saved state."""
    return {r["urn"].rsplit("::", 1)[-1]: r["outputs"] for r in program.state()["resources"]
            if short_type(r["urn"]) == JOB}


def bucket_grant(bucket: str, role: str, member: str) -> tuple[str, str, str]:
    return (f"//storage.googleapis.com/projects/_/buckets/{bucket}", role, member)


def dataset_grant(dataset: str, role: str, member: str) -> tuple[str, str, str]:
    return (f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/{dataset}", role, member)


def project_grant(role: str, member: str) -> tuple[str, str, str]:
    return (f"//cloudresourcemanager.googleapis.com/projects/{PROJECT}", role, member)


def assert_permission_failure(result: Result, agent_email: str, role: str) -> str:
    """The run failed PERMISSION_DENIED for the service agent, with the hint naming ``role``."""
    assert not result.ok, result.text  # type: ignore[attr-defined]
    text = "\n".join(result.errors)
    assert "PERMISSION_DENIED" in text or "Permission denied" in text, text
    assert agent_email in text, text
    assert role in text, text
    assert "Hint:" in text and f"grant {role} to serviceAccount:{agent_email}" in text, text
    assert "Traceback" not in text, text
    return text


# --------------------------------------------------------------------------- fixtures
# Imported by each test module (``from program_helpers import enforcing_stack, cloud``):
# module scope gives one IAM-enforcing stack per module.
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def enforcing_stack(tmp_path_factory) -> Iterator[LocalStack]:
    stack = start_enforcing_stack(tmp_path_factory.mktemp("stack-logs"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def cloud(enforcing_stack: LocalStack) -> Cloud:
    """The module's stack, emptied (Healthcare reset, GCS wiped, BigQuery datasets dropped)."""
    cloud = Cloud(enforcing_stack)
    cloud.wipe()
    return cloud
