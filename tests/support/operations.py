"""The tests' one builder of long-running operations, as the Healthcare API answers them.

Why: tests that script an API (support.scripted) or feed the job layer,
the waiter and the displays a snapshot need an operation's JSON; written
once here, its shape (proto3 JSON: int64 counters as strings, zeros and
unset fields omitted, ARCHITECTURE.md "Operations") cannot drift between
tests. Method names are spelled out, never taken from the product, so a
product that got them wrong disagrees with its tests.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Optional, Union

from pulumi_dicom_jobs.lro import OperationStatus

__all__ = ["BQ_EXPORT_METHOD", "DATASET", "GCS_EXPORT_METHOD", "IMPORT_METHOD", "OPERATION", "STORE",
           "fresh_operation_name", "operation", "snapshot"]

DATASET = "projects/p/locations/l/datasets/d"
STORE = f"{DATASET}/dicomStores/s"
OPERATION = f"{DATASET}/operations/9"
_METHOD = "google.cloud.healthcare.v1.dicom.DicomService."
IMPORT_METHOD = _METHOD + "ImportDicomData"
GCS_EXPORT_METHOD = _METHOD + "ExportDicomData"
BQ_EXPORT_METHOD = _METHOD + "ExportDicomData_bq"

#: An operation's error: the whole object, or ``(code, message)``.
Error = Union[dict, tuple[int, str]]


def _timestamp(value: Union[str, dt.datetime]) -> str:
    return value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def operation(name: str = OPERATION, *, done: bool = False, method: Optional[str] = None, success: int = 0,
              failure: int = 0, pending: int = 0, create_time: Union[str, dt.datetime, None] = None,
              end_time: Optional[str] = None, logs_url: Optional[str] = None,
              cancel_requested: Optional[bool] = None, error: Optional[Error] = None,
              response: Optional[dict] = None) -> dict:
    """An operation's JSON; a field left at its default is absent, as the API omits it."""
    counter = {key: str(value) for key, value in (("success", success), ("failure", failure),
                                                  ("pending", pending)) if value}
    metadata: dict = {"counter": counter} if counter else {}
    for key, value in (("apiMethodName", method), ("logsUrl", logs_url), ("endTime", end_time),
                       ("cancelRequested", cancel_requested)):
        if value is not None:
            metadata[key] = value
    if create_time is not None:
        metadata["createTime"] = _timestamp(create_time)
    raw: dict = {"name": name, "metadata": metadata}
    if done:
        raw["done"] = True
    if error is not None:
        raw["error"] = error if isinstance(error, dict) else {"code": error[0], "message": error[1]}
    if response is not None:
        raw["response"] = response
    return raw


def snapshot(name: str = OPERATION, **fields) -> OperationStatus:
    """The product's snapshot of :func:`operation` (same arguments)."""
    return OperationStatus.from_json(operation(name, **fields))


def fresh_operation_name(dataset: str = DATASET) -> str:
    """An operation name no test started before (the job layer remembers the ones it did)."""
    return f"{dataset}/operations/{uuid.uuid4().int % 10**12}"
