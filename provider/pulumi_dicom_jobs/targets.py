"""What a job reads and writes, from its request: the buckets and dataset a
permission hint must name.

Why: Cloud Storage and BigQuery deny the service agent by naming a missing
*permission* (``storage.objects.list``, ``bigquery.tables.create``), not the
role to grant. The operation itself carries no request, but the caller that
started it knows the job's kind and its request body, so the hint can still
say exactly which role to grant on which bucket, dataset or project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pulumi_dicom_jobs import names
from pulumi_dicom_jobs.kinds import JobKind

ROLE_OBJECT_VIEWER = "roles/storage.objectViewer"
ROLE_OBJECT_ADMIN = "roles/storage.objectAdmin"
ROLE_DATA_EDITOR = "roles/bigquery.dataEditor"
ROLE_JOB_USER = "roles/bigquery.jobUser"
#: Cloud Storage permissions that only read (an import's source, an export's filter file).
_STORAGE_READS = ("storage.objects.list", "storage.objects.get", "storage.buckets.get")


@dataclass(frozen=True)
class Grant:
    """One role to grant the service agent, and where (``bucket B``, ``dataset P:D``, ``project P``)."""

    role: str
    where: str


@dataclass(frozen=True)
class JobTargets:
    """The pattern, buckets and dataset one job touches (None when its request lacks them)."""

    kind: JobKind
    source_uri: Optional[str] = None
    source_bucket: Optional[str] = None
    destination_bucket: Optional[str] = None
    filter_bucket: Optional[str] = None
    table_project: Optional[str] = None
    table_dataset: Optional[str] = None

    @classmethod
    def of_request(cls, kind: JobKind, body: Mapping[str, Any]) -> "JobTargets":
        """Read them from an import or export request body (unparseable parts are left out)."""
        source = _text(body, "gcsSource", "uri")
        project = dataset = None
        table = _text(body, "bigqueryDestination", "tableUri")
        if table:
            try:
                project, dataset, _ = names.parse_table_uri(table)
            except ValueError:
                pass
        return cls(kind, source_uri=source, source_bucket=_bucket(source),
                   destination_bucket=_bucket(_text(body, "gcsDestination", "uriPrefix")),
                   filter_bucket=_bucket(_text(body, "filterConfig", "resourcePathsGcsUri")),
                   table_project=project, table_dataset=dataset)

    def grants_for(self, permission: str) -> list[Grant]:
        """The roles that give the service agent ``permission`` for this job (empty if unknown)."""
        if permission.startswith("storage."):
            if permission in _STORAGE_READS:
                bucket = self.source_bucket if self.kind is JobKind.IMPORT else self.filter_bucket
                return [Grant(ROLE_OBJECT_VIEWER, f"bucket {bucket}")] if bucket else []
            if self.destination_bucket:
                return [Grant(ROLE_OBJECT_ADMIN, f"bucket {self.destination_bucket}")]
            return []
        if permission.startswith("bigquery.") and self.table_project and self.table_dataset:
            return [Grant(ROLE_DATA_EDITOR, f"dataset {self.table_project}:{self.table_dataset}"),
                    Grant(ROLE_JOB_USER, f"project {self.table_project}")]
        return []

    def where_for(self, role: str) -> Optional[str]:
        """Where ``role`` is granted for this job (for a denial that names the role)."""
        for permission in ("storage.objects.list", "storage.objects.create", "bigquery.tables.create"):
            for grant in self.grants_for(permission):
                if grant.role == role:
                    return grant.where
        return None


def _text(body: Mapping[str, Any], outer: str, inner: str) -> Optional[str]:
    value = body.get(outer)
    text = value.get(inner) if isinstance(value, Mapping) else None
    return text if isinstance(text, str) and text else None


def _bucket(uri: Optional[str]) -> Optional[str]:
    if not uri or not uri.startswith("gs://"):
        return None
    return names.split_gs_uri(uri)[0] or None
