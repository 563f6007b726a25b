"""Fixtures and the fault-matrix report for tests/reliability.

The matrix (faults injected / survived / duplicate operations) is printed at
the end of the session through the terminal reporter, so it shows with or
without ``-s``.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

SUPPORT = Path(__file__).parent / "_support"
if str(SUPPORT) not in sys.path:
    sys.path.insert(0, str(SUPPORT))
TESTS = Path(__file__).parent.parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

LOCATION = "us-central1"
DICOM_METHOD = ".dicom.DicomService."


@dataclass
class MatrixRow:
    phase: str
    fault: str
    injected: int
    survived: bool
    duplicates: int
    note: str = ""


MATRIX: list[MatrixRow] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if not MATRIX:
        return
    tr = terminalreporter
    tr.section("fault matrix (tests/reliability)")
    phases = sorted({r.phase for r in MATRIX}, key=["start", "poll", "cancel", "auth"].index)
    faults = list(dict.fromkeys(r.fault for r in MATRIX))
    cell = {(r.phase, r.fault): r for r in MATRIX}
    width = max(len(f) for f in faults) + 2
    tr.write_line("fault".ljust(width) + "".join(p.ljust(22) for p in phases))
    for fault in faults:
        line = fault.ljust(width)
        for phase in phases:
            row = cell.get((phase, fault))
            text = "-" if row is None else (
                f"inj={row.injected} {'ok' if row.survived else 'FAIL'} dup={row.duplicates}")
            line += text.ljust(22)
        tr.write_line(line)
    total = len(MATRIX)
    survived = sum(r.survived for r in MATRIX)
    duplicates = sum(r.duplicates for r in MATRIX)
    tr.write_line(f"cases: {total}, survived: {survived}, with duplicate operations: "
                  f"{sum(1 for r in MATRIX if r.duplicates)} ({duplicates} extra operations)")
    for row in MATRIX:
        if row.note:
            tr.write_line(f"  {row.phase}/{row.fault}: {row.note}")


class Rest:
    """Authorized REST calls to the Healthcare emulator plus tiny GCS helpers."""

    def __init__(self, healthcare_url: str, storage_url: str, project: str) -> None:
        self.url = healthcare_url
        self.storage = storage_url.rstrip("/")
        self.project = project
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer rel-test-admin"

    def call(self, method: str, path: str, body: dict | None = None, **params) -> requests.Response:
        return self.session.request(method, f"{self.url}/v1/{path}", json=body,
                                    params=params or None, timeout=30)

    def store(self) -> str:
        dataset = f"ds{uuid.uuid4().hex[:8]}"
        parent = f"projects/{self.project}/locations/{LOCATION}"
        self.call("POST", f"{parent}/datasets", {}, datasetId=dataset).raise_for_status()
        name = f"st{uuid.uuid4().hex[:8]}"
        self.call("POST", f"{parent}/datasets/{dataset}/dicomStores", {},
                  dicomStoreId=name).raise_for_status()
        return f"{parent}/datasets/{dataset}/dicomStores/{name}"

    def bucket(self, files: dict[str, bytes]) -> str:
        name = f"rel-{uuid.uuid4().hex[:12]}"
        requests.post(f"{self.storage}/storage/v1/b", params={"project": self.project},
                      json={"name": name}, timeout=30).raise_for_status()
        for obj, data in files.items():
            requests.post(f"{self.storage}/upload/storage/v1/b/{name}/o",
                          params={"uploadType": "media", "name": obj}, data=data,
                          timeout=30).raise_for_status()
        return name

    def operation(self, name: str) -> dict:
        response = self.call("GET", name)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def rest(stack, emulator, project) -> Rest:  # emulator: reset before each test
    return Rest(stack.healthcare_url, stack.storage_url, project)


def dicom_ops(emulator, store: str | None = None) -> list[dict]:
    """DICOM import/export operations the emulator ever started (optionally on one store)."""
    ops = [op for op in emulator.get("operations")["operations"]
           if DICOM_METHOD in (op.get("apiMethodName") or "")]
    return [op for op in ops if store is None or op.get("store") == store]
