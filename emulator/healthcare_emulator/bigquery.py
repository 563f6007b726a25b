"""A small BigQuery REST client and the export's table semantics.

The export writes to BigQuery through the public REST API, like the real
service, so tests can read the result with ``google-cloud-bigquery``. Facts
about ``bqemulator`` 1.4.0 that shape this module (checked by hand):

* ``tables.insert``, ``tabledata.insertAll``, ``tables.delete`` and
  ``jobs.query`` work; load jobs through multipart upload do not, so rows go
  in with ``insertAll`` in batches;
* ``numRows`` from ``tables.get`` is stale after a ``DELETE`` statement, so
  "is the table empty" is answered with ``SELECT COUNT(*)``;
* neither ``tables.patch`` with new fields nor ``ALTER TABLE ADD COLUMN``
  leaves the table writable (the next ``insertAll`` answers 500); the
  export never extends a table anyway (below);
* ``insertAll`` silently ignores unknown fields.

Write dispositions (``bigqueryDestination``), see :func:`effective_disposition`:
a ``writeDisposition`` other than ``WRITE_DISPOSITION_UNSPECIFIED`` wins and
``force`` beside it is ignored (the discovery document: "If a
write_disposition is specified, the force parameter is ignored");
otherwise ``force: true`` is ``WRITE_TRUNCATE``; otherwise (neither set,
``force: false`` or ``WRITE_DISPOSITION_UNSPECIFIED``, which proto3 cannot
tell from unset) only a table that does not exist yet may be written
(:data:`NEW_TABLE_ONLY`). A missing table is created whatever the
disposition; an existing table, empty or not, fails a :data:`NEW_TABLE_ONLY`
export (ALREADY_EXISTS); ``WRITE_EMPTY`` on a non-empty table fails the
operation (FAILED_PRECONDITION); ``WRITE_TRUNCATE`` deletes and recreates
the table with the new schema; a missing dataset fails the operation
(NOT_FOUND). An existing table that is written as it is (``WRITE_APPEND``,
``WRITE_EMPTY`` on an empty table) and lacks a column of the export's schema
fails the operation before any row is written (FAILED_PRECONDITION, naming
every missing column): the documents do not say whether the service adds
columns, and the stricter reading is that it does not, so a program that
passes here never relies on it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import requests

from .jobcontext import OperationFailed
from .restclient import RestClient
from .rpc import ALREADY_EXISTS, FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND, UNKNOWN

_TIMEOUT_S = 120.0
#: rows per insertAll request (BigQuery recommends ≤500)
INSERT_BATCH = 500
MAX_TABLE_URI = 2000

WRITE_EMPTY = "WRITE_EMPTY"
WRITE_TRUNCATE = "WRITE_TRUNCATE"
WRITE_APPEND = "WRITE_APPEND"
WRITE_DISPOSITION_UNSPECIFIED = "WRITE_DISPOSITION_UNSPECIFIED"
DISPOSITIONS = (WRITE_DISPOSITION_UNSPECIFIED, WRITE_EMPTY, WRITE_TRUNCATE, WRITE_APPEND)
#: Not an API value: what "neither writeDisposition nor force" means here
#: (write a new table, fail on any existing one); shown in the operation's logs.
NEW_TABLE_ONLY = "NEW_TABLE_ONLY"


class BigQueryError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TableRef:
    project: str
    dataset: str
    table: str

    @property
    def dataset_resource(self) -> str:
        """``bq://PROJECT.DATASET``, the resource the IAM check is about."""
        return f"bq://{self.project}.{self.dataset}"

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"


def parse_table_uri(uri: Any) -> TableRef:
    """``bq://PROJECT.DATASET.TABLE`` → its parts; ValueError naming ``tableUri`` otherwise.

    The project id may itself contain a domain (``example.com:proj``), so the
    dataset and table are the last two dot-separated parts.
    """
    if not isinstance(uri, str) or not uri:
        raise ValueError("bigqueryDestination.tableUri is required (bq://PROJECT.DATASET.TABLE)")
    if len(uri) > MAX_TABLE_URI:
        raise ValueError(f"bigqueryDestination.tableUri is longer than {MAX_TABLE_URI} characters")
    if not uri.startswith("bq://"):
        raise ValueError(f"bigqueryDestination.tableUri must look like bq://PROJECT.DATASET.TABLE, got {uri!r}")
    head, _, table = uri[len("bq://"):].rpartition(".")
    project, _, dataset = head.rpartition(".")
    if not (project and dataset and table):
        raise ValueError(f"bigqueryDestination.tableUri must look like bq://PROJECT.DATASET.TABLE, got {uri!r}")
    # Project ids: 6-30 chars, lowercase letters, digits and hyphens, starting with a
    # letter, optionally behind a domain ("example.com:my-project").
    if not re.fullmatch(r"(?:[a-z0-9][a-z0-9.\-]*[a-z0-9]:)?[a-z][a-z0-9\-]{4,28}[a-z0-9]", project):
        raise ValueError(f"bigqueryDestination.tableUri has an invalid project id {project!r}")
    if not re.fullmatch(r"[A-Za-z0-9_]{1,1024}", dataset):
        raise ValueError(f"bigqueryDestination.tableUri has an invalid dataset id {dataset!r}")
    # Table names may hold Unicode letters, marks and digits, '_', '-' and spaces.
    if not re.fullmatch(r"[\w\- ]{1,1024}", table):
        raise ValueError(f"bigqueryDestination.tableUri has an invalid table id {table!r}")
    return TableRef(project, dataset, table)


def effective_disposition(destination: dict) -> str:
    """What a ``bigqueryDestination`` asks for: a write disposition or :data:`NEW_TABLE_ONLY`.

    A set ``writeDisposition`` wins and ``force`` is ignored beside it (the
    discovery document says so; the provider refuses the pair at preview
    anyway). ``WRITE_DISPOSITION_UNSPECIFIED`` is proto3's unset and is
    treated exactly like a missing field.

    Neither set (``force`` unset or false) is read strictly, as
    :data:`NEW_TABLE_ONLY`: the ``dicomStores.export`` reference says that
    when ``force`` is not set and the table already exists "the export call
    returns an error", and the BigQuery export guide grants the "existing but
    empty table succeeds" exception to ``writeDisposition`` alone. The
    discovery document's enum description ("default behavior is the same as
    WRITE_EMPTY") would let an existing empty table through; of the two
    readings the emulator takes the stricter one, so that a program that
    passes here cannot fail on Google Cloud because a table was left behind
    (by a cancelled, timed-out or retried run, a ``triggers`` re-run, a
    replace, or a user).
    """
    disposition = destination.get("writeDisposition")
    if disposition and disposition != WRITE_DISPOSITION_UNSPECIFIED:
        return disposition
    return WRITE_TRUNCATE if destination.get("force") is True else NEW_TABLE_ONLY


class BigQueryClient(RestClient):
    """Just the REST calls the export needs; one session per thread."""

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> requests.Response:
        url = f"{self.base_url}/bigquery/v2/{path}"
        try:
            return self._session.request(method, url, json=body, timeout=_TIMEOUT_S)
        except requests.RequestException as exc:
            raise BigQueryError(f"BigQuery request {method} {path} failed: {exc}") from exc

    @staticmethod
    def _fail(response: requests.Response, what: str) -> BigQueryError:
        try:
            message = response.json()["error"]["message"]
        except Exception:
            message = response.text.strip()[:300]
        return BigQueryError(f"{what}: HTTP {response.status_code} {message}", response.status_code)

    @staticmethod
    def _tables(ref: TableRef) -> str:
        return f"projects/{ref.project}/datasets/{ref.dataset}/tables"

    # -- metadata ----------------------------------------------------------
    def dataset_exists(self, project: str, dataset: str) -> bool:
        response = self._call("GET", f"projects/{project}/datasets/{dataset}")
        if response.status_code == 404:
            return False
        if not response.ok:
            raise self._fail(response, f"cannot read dataset {project}.{dataset}")
        return True

    def get_table(self, ref: TableRef) -> Optional[dict]:
        response = self._call("GET", f"{self._tables(ref)}/{ref.table}")
        if response.status_code == 404:
            return None
        if not response.ok:
            raise self._fail(response, f"cannot read table {ref}")
        return response.json()

    def create_table(self, ref: TableRef, fields: Sequence[dict]) -> None:
        body = {"tableReference": {"projectId": ref.project, "datasetId": ref.dataset,
                                   "tableId": ref.table},
                "schema": {"fields": list(fields)}}
        response = self._call("POST", self._tables(ref), body)
        if not response.ok:
            raise self._fail(response, f"cannot create table {ref}")

    def delete_table(self, ref: TableRef) -> None:
        response = self._call("DELETE", f"{self._tables(ref)}/{ref.table}")
        if not response.ok and response.status_code != 404:
            raise self._fail(response, f"cannot delete table {ref}")

    # -- data ----------------------------------------------------------------
    def query(self, project: str, sql: str) -> dict:
        response = self._call("POST", f"projects/{project}/queries",
                              {"query": sql, "useLegacySql": False, "timeoutMs": int(_TIMEOUT_S * 1000)})
        if not response.ok:
            raise self._fail(response, "query failed")
        return response.json()

    def row_count(self, ref: TableRef) -> int:
        body = self.query(ref.project, f"SELECT COUNT(*) FROM `{ref.project}.{ref.dataset}.{ref.table}`")
        rows = body.get("rows") or [{"f": [{"v": "0"}]}]
        return int(rows[0]["f"][0]["v"])

    def insert_rows(self, ref: TableRef, rows: Iterable[dict], batch: int = INSERT_BATCH) -> int:
        """insertAll in batches; raises BigQueryError on any rejected row. Returns rows sent."""
        sent = 0
        pending: list[dict] = []

        def flush() -> None:
            if not pending:
                return
            body = {"kind": "bigquery#tableDataInsertAllRequest",
                    "rows": [{"insertId": uuid.uuid4().hex, "json": row} for row in pending]}
            response = self._call("POST", f"{self._tables(ref)}/{ref.table}/insertAll", body)
            if not response.ok:
                raise self._fail(response, f"cannot insert rows into {ref}")
            errors = response.json().get("insertErrors") or []
            if errors:
                raise BigQueryError(f"BigQuery rejected {len(errors)} row(s) in {ref}: {errors[0]}")
            pending.clear()

        for row in rows:
            pending.append(row)
            sent += 1
            if len(pending) >= batch:
                flush()
        flush()
        return sent


def check_destination(client: BigQueryClient, ref: TableRef, disposition: str) -> Optional[dict]:
    """Fail early: missing dataset, an existing table the disposition may not write.

    Returns the existing table resource, or None when the table does not exist.

    Codes: a missing dataset is NOT_FOUND; :data:`NEW_TABLE_ONLY` on an
    existing table is ALREADY_EXISTS, because the rule broken is the table's
    existence, whatever it holds (the reference's wording: "the destination
    table already exists"); ``WRITE_EMPTY`` on a non-empty table is
    FAILED_PRECONDITION, because there the table's content is the condition.
    Two codes also let a test tell the two rules apart.
    """
    try:
        if not client.dataset_exists(ref.project, ref.dataset):
            raise OperationFailed(NOT_FOUND, f"BigQuery dataset {ref.project}.{ref.dataset} does not "
                                             f"exist (tableUri bq://{ref})")
        existing = client.get_table(ref)
        if existing is not None and disposition == NEW_TABLE_ONLY:
            raise OperationFailed(
                ALREADY_EXISTS,
                f"BigQuery table {ref} already exists; with neither bigqueryDestination.writeDisposition "
                "nor force set, the export only creates a new table, even over an empty one: set "
                "writeDisposition WRITE_TRUNCATE, WRITE_APPEND or WRITE_EMPTY (empty table), or force=true")
        if existing is not None and disposition == WRITE_EMPTY:
            count = client.row_count(ref)
            if count:
                raise OperationFailed(
                    FAILED_PRECONDITION,
                    f"BigQuery table {ref} already exists and holds {count} row(s); with "
                    "writeDisposition WRITE_EMPTY the export only writes to an empty table: "
                    "use WRITE_TRUNCATE or WRITE_APPEND")
        if disposition not in (NEW_TABLE_ONLY, WRITE_EMPTY, WRITE_APPEND, WRITE_TRUNCATE):
            raise OperationFailed(INVALID_ARGUMENT, f"unknown writeDisposition {disposition!r}")
        return existing
    except BigQueryError as exc:
        raise OperationFailed(UNKNOWN, f"BigQuery error: {exc}") from exc


def prepare_table(client: BigQueryClient, ref: TableRef, disposition: str,
                  fields: Sequence[dict]) -> None:
    """Make the table ready for ``disposition`` and rows of the schema ``fields``.

    Repeats :func:`check_destination` (the table may have changed meanwhile),
    then creates a missing table, recreates it for WRITE_TRUNCATE, or keeps
    the existing one for WRITE_EMPTY (empty table) and WRITE_APPEND
    (:data:`NEW_TABLE_ONLY` never gets here with an existing table), which
    must hold every column of ``fields`` (FAILED_PRECONDITION otherwise).
    """
    existing = check_destination(client, ref, disposition)
    try:
        if existing is None:
            client.create_table(ref, fields)
            return
        if disposition == WRITE_TRUNCATE:
            client.delete_table(ref)
            client.create_table(ref, fields)
            return
    except BigQueryError as exc:
        raise OperationFailed(UNKNOWN, f"BigQuery error: {exc}") from exc
    columns = {f["name"] for f in (existing.get("schema") or {}).get("fields", [])}
    missing = [f["name"] for f in fields if f["name"] not in columns]
    if missing:
        raise OperationFailed(
            FAILED_PRECONDITION,
            f"BigQuery table {ref} has no column(s) {', '.join(missing)} of the export's schema, so "
            f"nothing was written ({disposition} writes into the table as it is and adds no column): "
            "export to a new table, or with writeDisposition WRITE_TRUNCATE to replace this one")
