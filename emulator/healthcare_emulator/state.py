"""The emulator's state: datasets, DICOM stores, instances, operations, IAM, config.

Why a module of plain classes with one lock and no HTTP: every request
handler and every running job touches the same few dictionaries, and keeping
them here (as moto keeps its backends apart from its responses) lets the HTTP
layer stay a thin translation and lets tests reason about one lock.

With a ``data_dir`` the state survives a restart: ``state.json`` (datasets,
stores, operations, grants, denials) is rewritten atomically after each
change, and instances are appended as files plus one JSON line each in their
store's ``index.jsonl``. Operations still running at shutdown come back as
failed with ABORTED: the work they were doing is gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from .errors import already_exists, invalid, not_found
from .iam import IamPolicy
from .jobcontext import DUPLICATE_COUNTINGS, DUPLICATES_NOT_COUNTED, StoredInstance
from .projects import ProjectNumbers
from .rpc import ABORTED

DEFAULT_CONFIG: dict[str, Any] = {
    "instanceDelaySeconds": 0.0,
    "operationMinSeconds": 0.0,
    "enforceIam": True,
    "grantPropagationSeconds": 0.0,
    "maxSampleErrors": 10,
    "countDuplicatesAs": DUPLICATES_NOT_COUNTED,
}
#: Each key's type, or for a text key the tuple of its allowed values.
_CONFIG_TYPES: dict[str, Any] = {
    "instanceDelaySeconds": float, "operationMinSeconds": float, "enforceIam": bool,
    "grantPropagationSeconds": float, "maxSampleErrors": int, "countDuplicatesAs": DUPLICATE_COUNTINGS}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    """``2024-01-02T03:04:05.123456Z``, the Timestamp JSON form."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_resource_id(value: Optional[str], field_name: str) -> str:
    """Enforce the API's ``[\\p{L}\\p{N}_\\-\\.]{1,256}`` rule for dataset and store ids."""
    if not value:
        raise invalid(f"{field_name} is required")
    if len(value) > 256 or not all(
            ch in "_-." or unicodedata.category(ch)[0] in ("L", "N") for ch in value):
        raise invalid(f"{field_name} {value!r} is invalid: it must match [\\p{{L}}\\p{{N}}_\\-\\.]{{1,256}}")
    if value in (".", ".."):  # a URL path cannot address such a resource afterwards
        raise invalid(f"{field_name} {value!r} is invalid: it must not be '.' or '..'")
    return value


def merge_config(current: dict, update: Any) -> dict:
    """``current`` updated with ``update`` after checking keys and types (400 otherwise)."""
    if not isinstance(update, dict):
        raise invalid("config must be a JSON object")
    merged = dict(current)
    for key, value in update.items():
        kind = _CONFIG_TYPES.get(key)
        if kind is None:
            raise invalid(f"unknown config key {key!r}; known: {', '.join(_CONFIG_TYPES)}")
        if isinstance(kind, tuple):
            if value not in kind:
                raise invalid(f"config {key} must be one of {', '.join(kind)}, got {value!r}")
            merged[key] = value
            continue
        if kind is bool:
            if not isinstance(value, bool):
                raise invalid(f"config {key} must be a boolean")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise invalid(f"config {key} must be a non-negative number")
        elif kind is int and int(value) != value:
            raise invalid(f"config {key} must be an integer")
        merged[key] = kind(value)
    return merged


@dataclass
class Dataset:
    name: str  # projects/P/locations/L/datasets/D
    body: dict  # the Dataset resource as returned by get

    def to_json(self) -> dict:
        return {**self.body, "name": self.name}


@dataclass
class DicomStore:
    name: str  # projects/P/locations/L/datasets/D/dicomStores/S
    body: dict
    instances: dict[str, StoredInstance] = field(default_factory=dict)  # by SOP Instance UID
    deleted: bool = False

    def to_json(self) -> dict:
        return {**self.body, "name": self.name}


@dataclass
class OperationRecord:
    """One long-running operation; rendered by :mod:`healthcare_emulator.operations`."""

    name: str  # projects/P/locations/L/datasets/D/operations/ID
    api_version: str
    method: str  # short method, e.g. "dicom.DicomService.ImportDicomData"
    request: dict
    store: Optional[str]
    create_time: datetime
    generation: int = 0
    end_time: Optional[datetime] = None
    done: bool = False
    cancel_requested: bool = False
    counters: Optional[dict[str, int]] = None
    sample_errors: list[dict] = field(default_factory=list)
    error: Optional[dict] = None
    response: Optional[dict] = None
    logs: list[dict] = field(default_factory=list)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def dataset(self) -> str:
        return self.name.rsplit("/operations/", 1)[0]

    @property
    def api_method_name(self) -> str:
        return f"google.cloud.healthcare.{self.api_version}.{self.method}"

    def to_json(self) -> dict:
        return {"name": self.name, "apiVersion": self.api_version, "method": self.method,
                "request": self.request, "store": self.store,
                "createTime": rfc3339(self.create_time),
                "endTime": rfc3339(self.end_time) if self.end_time else None,
                "done": self.done, "cancelRequested": self.cancel_requested,
                "counters": self.counters, "sampleErrors": self.sample_errors,
                "error": self.error, "response": self.response, "logs": self.logs}

    @classmethod
    def from_json(cls, data: dict) -> "OperationRecord":
        parse = datetime.fromisoformat
        record = cls(name=data["name"], api_version=data["apiVersion"], method=data["method"],
                     request=data["request"], store=data.get("store"),
                     create_time=parse(data["createTime"].replace("Z", "+00:00")),
                     end_time=(parse(data["endTime"].replace("Z", "+00:00"))
                               if data.get("endTime") else None),
                     done=data["done"], cancel_requested=data.get("cancelRequested", False),
                     counters=data.get("counters"), sample_errors=data.get("sampleErrors", []),
                     error=data.get("error"), response=data.get("response"),
                     logs=data.get("logs", []))
        return record


class Persistence:
    """Files under ``data_dir``; every method is called with the state lock held."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir)
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def store_dir(self, store_name: str) -> Path:
        # Hashed: store ids may be "." or "..", which must never become path parts.
        return self.root / "instances" / hashlib.sha256(store_name.encode()).hexdigest()[:24]

    def save(self, snapshot: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def load(self) -> Optional[dict]:
        if not self.state_file.exists():
            return None
        return json.loads(self.state_file.read_text(encoding="utf-8"))

    def add_instance(self, store_name: str, instance: StoredInstance) -> None:
        folder = self.store_dir(store_name)
        folder.mkdir(parents=True, exist_ok=True)
        file_name = hashlib.sha256(instance.sop_uid.encode()).hexdigest()[:32] + ".dcm"
        (folder / file_name).write_bytes(instance.data)
        entry = {"study": instance.study_uid, "series": instance.series_uid, "sop": instance.sop_uid,
                 "file": file_name, "blobStorageClass": instance.blob_storage_class}
        with open(folder / "index.jsonl", "a", encoding="utf-8") as index:
            index.write(json.dumps(entry) + "\n")

    def load_instances(self, store_name: str) -> dict[str, StoredInstance]:
        folder = self.store_dir(store_name)
        found: dict[str, StoredInstance] = {}
        index = folder / "index.jsonl"
        if not index.exists():
            return found
        for line in index.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            data = (folder / entry["file"]).read_bytes()
            found[entry["sop"]] = StoredInstance(entry["study"], entry["series"], entry["sop"], data,
                                                 entry.get("blobStorageClass"))
        return found

    def remove_store(self, store_name: str) -> None:
        shutil.rmtree(self.store_dir(store_name), ignore_errors=True)

    def wipe(self) -> None:
        shutil.rmtree(self.root / "instances", ignore_errors=True)
        self.state_file.unlink(missing_ok=True)


class EmulatorState:
    """All mutable state, guarded by :attr:`lock` (re-entrant)."""

    def __init__(self, config: Optional[dict] = None, data_dir: Optional[Path] = None, *,
                 projects: Optional[ProjectNumbers] = None) -> None:
        self.lock = threading.RLock()
        self.projects = projects or ProjectNumbers()
        self.startup_config = merge_config(DEFAULT_CONFIG, config or {})
        self.config = dict(self.startup_config)
        self.datasets: dict[str, Dataset] = {}
        self.stores: dict[str, DicomStore] = {}
        self.operations: dict[str, OperationRecord] = {}
        self.iam = IamPolicy()
        self.generation = 0  # bumped by reset: jobs of an older generation are orphans
        self.persistence = Persistence(data_dir) if data_dir else None
        self.closed = False
        if self.persistence:
            self._load()

    # -- service agents --------------------------------------------------------
    def agent_exists(self, project_number: str) -> bool:
        """Whether that project's service agent exists. With IAM enforced it exists only once
        created (admin ``POST service-agent``, what ``gcp.projects.ServiceIdentity`` does), as
        on a new project; without enforcement every agent counts as existing."""
        with self.lock:
            return self.iam.agent_exists(project_number) or not self.config["enforceIam"]

    def check_grant_member(self, member: str) -> None:
        """400 when, with IAM enforced, ``member`` is a service agent not created yet."""
        with self.lock:
            if self.config["enforceIam"]:
                self.iam.check_member_exists(member)

    # -- persistence ---------------------------------------------------------
    def save(self) -> None:
        """Write ``state.json`` (no-op in memory mode or once closed). Call with the lock held."""
        if not self.persistence or self.closed:
            return
        self.persistence.save({
            "datasets": [d.__dict__ for d in self.datasets.values()],
            "stores": [{"name": s.name, "body": s.body} for s in self.stores.values()],
            "operations": [op.to_json() for op in self.operations.values()],
            "iam": self.iam.to_json(),
        })

    def _load(self) -> None:
        snapshot = self.persistence.load()
        if snapshot is None:
            return
        for item in snapshot.get("datasets", []):
            self.datasets[item["name"]] = Dataset(item["name"], item["body"])
        for item in snapshot.get("stores", []):
            store = DicomStore(item["name"], item["body"])
            store.instances = self.persistence.load_instances(store.name)
            self.stores[store.name] = store
        for item in snapshot.get("operations", []):
            record = OperationRecord.from_json(item)
            if not record.done:
                record.done = True
                record.end_time = now_utc()
                record.error = {"code": ABORTED,
                                "message": "The operation was interrupted by an emulator restart."}
            self.operations[record.name] = record
        self.iam.load_json(snapshot.get("iam", {}))

    def close(self) -> None:
        """Stop persisting and wake every running job so it stops at its next ``pace()``.

        What is on disk stays as it was: operations still running come back
        ABORTED on the next start.
        """
        with self.lock:
            self.closed = True
            for op in self.operations.values():
                op.cancel_event.set()

    # -- admin ---------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            for op in self.operations.values():
                op.cancel_event.set()  # orphaned jobs stop at their next pace()
            for store in self.stores.values():
                store.deleted = True
            self.datasets.clear()
            self.stores.clear()
            self.operations.clear()
            self.iam = IamPolicy()
            self.config = dict(self.startup_config)
            if self.persistence:
                self.persistence.wipe()

    # -- datasets -------------------------------------------------------------
    def create_dataset(self, parent: str, dataset_id: Optional[str], body: dict) -> Dataset:
        check_resource_id(dataset_id, "datasetId")
        name = f"{parent}/datasets/{dataset_id}"
        with self.lock:
            if name in self.datasets:
                raise already_exists(f"Dataset {name} already exists")
            clean = {k: v for k, v in body.items() if k not in ("name", "satisfiesPzs", "satisfiesPzi")}
            clean.setdefault("timeZone", "UTC")
            dataset = Dataset(name, clean)
            self.datasets[name] = dataset
            self.save()
            return dataset

    def get_dataset(self, name: str) -> Dataset:
        with self.lock:
            dataset = self.datasets.get(name)
            if dataset is None:
                raise not_found(f"Dataset {name} not found")
            return dataset

    def list_datasets(self, parent: str) -> list[Dataset]:
        with self.lock:
            return sorted((d for d in self.datasets.values() if d.name.startswith(parent + "/datasets/")),
                          key=lambda d: d.name)

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset and everything in it (as the real API does)."""
        with self.lock:
            self.get_dataset(name)
            del self.datasets[name]
            for store_name in [s for s in self.stores if s.startswith(name + "/dicomStores/")]:
                self._drop_store(store_name)
            self.save()

    # -- stores ---------------------------------------------------------------
    def create_store(self, dataset_name: str, store_id: Optional[str], body: dict) -> DicomStore:
        check_resource_id(store_id, "dicomStoreId")
        name = f"{dataset_name}/dicomStores/{store_id}"
        with self.lock:
            self.get_dataset(dataset_name)
            if name in self.stores:
                raise already_exists(f"DICOM store {name} already exists")
            store = DicomStore(name, {k: v for k, v in body.items() if k != "name"})
            self.stores[name] = store
            if self.persistence:
                self.persistence.remove_store(name)  # stale files of an earlier store of that name
            self.save()
            return store

    def get_store(self, name: str) -> DicomStore:
        with self.lock:
            store = self.stores.get(name)
            if store is None:
                dataset = name.split("/dicomStores/")[0]
                if dataset not in self.datasets:
                    raise not_found(f"Dataset {dataset} not found")
                raise not_found(f"DICOM store {name} not found")
            return store

    def list_stores(self, dataset_name: str) -> list[DicomStore]:
        with self.lock:
            self.get_dataset(dataset_name)
            return sorted((s for s in self.stores.values()
                           if s.name.startswith(dataset_name + "/dicomStores/")), key=lambda s: s.name)

    def delete_store(self, name: str) -> None:
        with self.lock:
            self.get_store(name)
            self._drop_store(name)
            self.save()

    def _drop_store(self, name: str) -> None:
        store = self.stores.pop(name)
        store.deleted = True
        if self.persistence:
            self.persistence.remove_store(name)

    # -- instances ------------------------------------------------------------
    def add_instance(self, store: DicomStore, instance: StoredInstance) -> bool:
        """Store ``instance``; False when its SOP Instance UID is already there."""
        with self.lock:
            if instance.sop_uid in store.instances:
                return False
            store.instances[instance.sop_uid] = instance
            if self.persistence and not store.deleted and not self.closed:
                self.persistence.add_instance(store.name, instance)
            return True

    def instances(self, store: DicomStore) -> list[StoredInstance]:
        with self.lock:
            return list(store.instances.values())

    # -- operations -------------------------------------------------------------
    def add_operation(self, record: OperationRecord) -> None:
        self.add_operations([record])

    def add_operations(self, records: list[OperationRecord]) -> None:
        """Register operations, saved once (a history of thousands is one write)."""
        with self.lock:
            for record in records:
                record.generation = self.generation
                self.operations[record.name] = record
            self.save()

    def get_operation(self, name: str) -> OperationRecord:
        with self.lock:
            record = self.operations.get(name)
            if record is None or record.dataset not in self.datasets:
                raise not_found(f"Operation {name} not found")
            return record

    def forget_operation(self, name: str) -> None:
        with self.lock:
            if self.operations.pop(name, None) is None:
                raise not_found(f"Operation {name} not found")
            self.save()
