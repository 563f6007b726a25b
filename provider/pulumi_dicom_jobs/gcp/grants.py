"""The Cloud Healthcare Service Agent and the IAM grants a DICOM job needs.

Import and export jobs do not run as the caller: the Cloud Healthcare Service
Agent of the project that owns the DICOM store,
``service-{PROJECT_NUMBER}@gcp-sa-healthcare.iam.gserviceaccount.com``, reads
and writes Cloud Storage and BigQuery. It needs, and this module grants, exactly:

========================  ==============================  ==========================
job                        role                            granted on
========================  ==============================  ==========================
import from GCS            ``roles/storage.objectViewer``  the source bucket
export to GCS              ``roles/storage.objectAdmin``   the destination bucket
export to BigQuery         ``roles/bigquery.dataEditor``   the destination dataset
export to BigQuery         ``roles/bigquery.jobUser``      the destination project
export with a filter file  ``roles/storage.objectViewer``  the filter file's bucket
========================  ==============================  ==========================

Every grant is additive (``gcp.storage.BucketIAMMember``,
``gcp.bigquery.DatasetIamMember``, ``gcp.projects.IAMMember``): nothing here
ever replaces a resource's policy or a role's member list, so other members
keep their access. Bucket and dataset grants are the tightest scope IAM offers
for these APIs (Cloud Storage IAM has no per-prefix grant under uniform
bucket-level access). The only project-level grant is ``roles/bigquery.jobUser``,
because BigQuery jobs belong to a project; for a cross-project export it is
granted in the *destination* project, where the load job runs.

Child resource names are predictable: ``{name}-source-reader``,
``{name}-export-writer``, ``{name}-bq-data-editor``, ``{name}-bq-job-user`` and
``{name}-filter-reader``, where ``name`` is the caller's name (the components
pass their own name). :class:`GrantSet` names grants after the bucket or
dataset instead and creates each one once, for programs with many jobs.

IAM is eventually consistent: a fresh grant can take a short while to take
effect. Every job (either Pulumi face, and the CLI: :mod:`pulumi_dicom_jobs.jobs.run`)
is started again when it ends ``PERMISSION_DENIED`` before any instance
succeeded, for :data:`pulumi_dicom_jobs.settings.DEFAULT_PERMISSION_RETRY_SECONDS`
(120 s; environment ``DICOM_JOBS_PERMISSION_RETRY_SECONDS``) after the first
start (docs/real-gcp.md, "The permission retry"), so a job that ``depends_on``
its grants (as every component in :mod:`pulumi_dicom_jobs.gcp.components`
arranges) succeeds in the same ``pulumi up`` that creates the grants. A denial
outlasting the window fails the job, naming the missing role and the helper
here that grants it.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from pulumi_dicom_jobs import targets as _targets
from pulumi_dicom_jobs.names import parse_dicom_store, parse_table_uri
from pulumi_dicom_jobs.validation import bucket_of

__all__ = [
    "ROLE_OBJECT_VIEWER",
    "ROLE_OBJECT_ADMIN",
    "ROLE_BQ_DATA_EDITOR",
    "ROLE_BQ_JOB_USER",
    "SERVICE_AGENT_DOMAIN",
    "service_agent_email",
    "service_agent_member",
    "healthcare_service_agent",
    "HEALTHCARE_API",
    "HealthcareServiceAgent",
    "parse_dicom_store",
    "store_project",
    "store_location",
    "bucket_of",
    "parse_table_uri",
    "import_source_grants",
    "gcs_export_grants",
    "bigquery_export_grants",
    "filter_file_grants",
    "GrantSet",
]

# The roles are named once, in pulumi_dicom_jobs.targets (the permission hints use them too).
ROLE_OBJECT_VIEWER = _targets.ROLE_OBJECT_VIEWER
ROLE_OBJECT_ADMIN = _targets.ROLE_OBJECT_ADMIN
ROLE_BQ_DATA_EDITOR = _targets.ROLE_DATA_EDITOR
ROLE_BQ_JOB_USER = _targets.ROLE_JOB_USER

SERVICE_AGENT_DOMAIN = "gcp-sa-healthcare.iam.gserviceaccount.com"
HEALTHCARE_API = "healthcare.googleapis.com"

# --------------------------------------------------------------------------- #
# Plain-string helpers (the names are parsed by pulumi_dicom_jobs.names, buckets checked by
# the resources' own rule, pulumi_dicom_jobs.validation.bucket_of)
# --------------------------------------------------------------------------- #


def service_agent_email(project_number: str | int) -> str:
    """The Cloud Healthcare Service Agent's email for a project number."""
    number = str(project_number).strip()
    if not number.isdigit():
        raise ValueError(f"a project number is all digits, got {project_number!r}")
    return f"service-{number}@{SERVICE_AGENT_DOMAIN}"


def service_agent_member(project_number: str | int) -> str:
    """The IAM member string ``serviceAccount:service-N@gcp-sa-healthcare...``."""
    return f"serviceAccount:{service_agent_email(project_number)}"


# --------------------------------------------------------------------------- #
# Output-level helpers
# --------------------------------------------------------------------------- #


def store_project(dicom_store: pulumi.Input[str]) -> pulumi.Output[str]:
    """The project id of a DICOM store resource name (an Output)."""
    return pulumi.Output.from_input(dicom_store).apply(lambda s: parse_dicom_store(s)[0])


def store_location(dicom_store: pulumi.Input[str]) -> pulumi.Output[str]:
    """The location (region) of a DICOM store resource name (an Output)."""
    return pulumi.Output.from_input(dicom_store).apply(lambda s: parse_dicom_store(s)[1])


class HealthcareServiceAgent:
    """Enable the Cloud Healthcare API and create its service agent; ``member`` for grants.

    On a fresh project a grant to the agent fails ("Service account ... does
    not exist") until the agent exists, and it exists only once the API is
    enabled. So this creates, under ``name``:

    * ``{name}-healthcare-api``: ``gcp.projects.Service`` for
      ``healthcare.googleapis.com`` with ``disable_on_destroy=False`` (turning
      the API off would break every other user of it in the project);
    * ``{name}-healthcare-agent``: ``gcp.projects.ServiceIdentity``, which
      creates the agent (``generateServiceIdentity``) after the API is enabled.

    ``member`` is the identity's ``member`` output, so every grant taking it
    depends on the agent existing. Both are idempotent on Google Cloud:
    enabling an enabled API and generating an existing identity succeed and
    change nothing, so a project where both already exist works the same;
    removing them from the stack disables nothing and deletes no agent.
    """

    def __init__(self, name: str, project: pulumi.Input[Optional[str]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        self.api = gcp.projects.Service(
            f"{name}-healthcare-api", project=project, service=HEALTHCARE_API,
            disable_on_destroy=False, opts=opts)
        self.identity = gcp.projects.ServiceIdentity(
            f"{name}-healthcare-agent", project=project, service=HEALTHCARE_API,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.api])))
        #: ``serviceAccount:service-N@gcp-sa-healthcare.iam.gserviceaccount.com`` (an Output).
        self.member: pulumi.Output[str] = self.identity.member


def healthcare_service_agent(
    project: pulumi.Input[Optional[str]] = None,
    opts: Optional[pulumi.InvokeOptions] = None,
) -> pulumi.Output[str]:
    """The Healthcare service agent's IAM member for ``project``, as an Output.

    ``project`` is the project that owns the DICOM store (the agent is per
    project; for a cross-project BigQuery export it is still the *store's*
    project). ``None`` means the gcp provider's default project.

    This only *reads* the project number (``gcp.organizations.get_project``):
    it creates nothing, so a grant to the member it returns fails on a fresh
    project where the agent does not exist yet. Programs that own the project
    use :class:`HealthcareServiceAgent` instead (the components and the root
    program do); this lookup suits a store in a project someone else set up.
    """
    result = gcp.organizations.get_project_output(project_id=project, opts=opts)
    return result.number.apply(service_agent_member)


def _bucket_input(uri_or_bucket: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(uri_or_bucket).apply(bucket_of)


def _child_opts(opts: Optional[pulumi.ResourceOptions]) -> pulumi.ResourceOptions:
    return opts if opts is not None else pulumi.ResourceOptions()


def _bucket_member(
    resource_name: str,
    uri_or_bucket: pulumi.Input[str],
    role: str,
    member: pulumi.Input[str],
    opts: Optional[pulumi.ResourceOptions],
) -> list[pulumi.CustomResource]:
    """One additive ``role`` grant for ``member`` on the bucket of ``uri_or_bucket``."""
    return [
        gcp.storage.BucketIAMMember(
            resource_name,
            bucket=_bucket_input(uri_or_bucket),
            role=role,
            member=member,
            opts=_child_opts(opts),
        )
    ]


# --------------------------------------------------------------------------- #
# Per-job grant helpers
# --------------------------------------------------------------------------- #


def import_source_grants(
    name: str,
    *,
    bucket: pulumi.Input[str],
    member: pulumi.Input[str],
    opts: Optional[pulumi.ResourceOptions] = None,
) -> list[pulumi.CustomResource]:
    """``roles/storage.objectViewer`` on the import source bucket.

    ``bucket`` is a bucket name or any ``gs://bucket/...`` URI (the import's
    ``gcs_source.uri`` works). Creates ``{name}-source-reader``.
    """
    return _bucket_member(f"{name}-source-reader", bucket, ROLE_OBJECT_VIEWER, member, opts)


def gcs_export_grants(
    name: str,
    *,
    bucket: pulumi.Input[str],
    member: pulumi.Input[str],
    opts: Optional[pulumi.ResourceOptions] = None,
) -> list[pulumi.CustomResource]:
    """``roles/storage.objectAdmin`` on the export destination bucket.

    ``bucket`` is a bucket name or the export's ``gs://bucket/prefix``.
    Creates ``{name}-export-writer``.
    """
    return _bucket_member(f"{name}-export-writer", bucket, ROLE_OBJECT_ADMIN, member, opts)


def bigquery_export_grants(
    name: str,
    *,
    member: pulumi.Input[str],
    table_uri: pulumi.Input[Optional[str]] = None,
    project: pulumi.Input[Optional[str]] = None,
    dataset_id: pulumi.Input[Optional[str]] = None,
    opts: Optional[pulumi.ResourceOptions] = None,
) -> list[pulumi.CustomResource]:
    """``roles/bigquery.dataEditor`` on the dataset, ``roles/bigquery.jobUser`` on its project.

    Give either ``table_uri`` (``bq://PROJECT.DATASET.TABLE``) or ``project``
    and ``dataset_id`` (the short dataset id, as in ``gcp.bigquery.Dataset.dataset_id``).
    Both grants go to the *destination* project, which may differ from the
    store's. Creates ``{name}-bq-data-editor`` and ``{name}-bq-job-user``.
    """
    if table_uri is not None:
        if project is not None or dataset_id is not None:
            raise ValueError("give either table_uri or project and dataset_id, not both")
        parts = pulumi.Output.from_input(table_uri).apply(parse_table_uri)
        project = parts.apply(lambda p: p[0])
        dataset_id = parts.apply(lambda p: p[1])
    elif project is None or dataset_id is None:
        raise ValueError("bigquery_export_grants needs table_uri, or project and dataset_id")
    base = _child_opts(opts)
    editor = gcp.bigquery.DatasetIamMember(
        f"{name}-bq-data-editor",
        project=project,
        dataset_id=dataset_id,
        role=ROLE_BQ_DATA_EDITOR,
        member=member,
        opts=base,
    )
    job_user = gcp.projects.IAMMember(
        f"{name}-bq-job-user",
        project=project,
        role=ROLE_BQ_JOB_USER,
        member=member,
        opts=base,
    )
    return [editor, job_user]


def filter_file_grants(
    name: str,
    *,
    filter_uri: pulumi.Input[str],
    member: pulumi.Input[str],
    opts: Optional[pulumi.ResourceOptions] = None,
) -> list[pulumi.CustomResource]:
    """``roles/storage.objectViewer`` on the bucket holding an export filter file.

    ``filter_uri`` is the ``gs://bucket/path/filter.txt`` given as the export's
    ``filter_config.resource_paths_gcs_uri``. Creates ``{name}-filter-reader``.
    """
    return _bucket_member(f"{name}-filter-reader", filter_uri, ROLE_OBJECT_VIEWER, member, opts)


# --------------------------------------------------------------------------- #
# De-duplicated grants for programs with many jobs
# --------------------------------------------------------------------------- #


def _slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", value).strip("-").lower()


class GrantSet:
    """Creates each (resource, role) grant for one member at most once.

    Two Pulumi resources managing the same additive binding (same bucket, role
    and member) would step on each other: destroying one removes the access
    the other still relies on. A program running several jobs against the
    same bucket or dataset asks a ``GrantSet`` instead of the per-job helpers;
    it hands back the existing grant when asked twice. Names are derived from
    the granted resource, so they must be plain strings:

    * ``{bucket}-reader`` (``roles/storage.objectViewer`` on the bucket),
    * ``{bucket}-writer`` (``roles/storage.objectAdmin`` on the bucket),
    * ``{project}-{dataset}-bq-data-editor`` (dataset),
    * ``{project}-bq-job-user`` (project),

    each prefixed with ``prefix`` when one is given.
    """

    def __init__(
        self,
        member: pulumi.Input[str],
        *,
        prefix: str = "",
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        self.member = member
        self.prefix = f"{_slug(prefix)}-" if prefix else ""
        self.opts = _child_opts(opts)
        self._made: dict[tuple[str, ...], pulumi.CustomResource] = {}

    @property
    def resources(self) -> list[pulumi.CustomResource]:
        """Every grant created so far, in creation order."""
        return list(self._made.values())

    @staticmethod
    def _plain(value: object, what: str) -> str:
        if not isinstance(value, str):
            raise TypeError(f"GrantSet needs {what} as a plain string (it names the grant), got {type(value).__name__}")
        return value

    def _opts(self, depends_on: Optional[Sequence[pulumi.Resource]]) -> pulumi.ResourceOptions:
        if not depends_on:
            return self.opts
        return pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(depends_on=list(depends_on)))

    def _bucket_grant(
        self, bucket: str, role: str, suffix: str, depends_on: Optional[Sequence[pulumi.Resource]]
    ) -> pulumi.CustomResource:
        name = bucket_of(self._plain(bucket, "the bucket"))
        key = ("bucket", name, role)
        if key not in self._made:
            self._made[key] = gcp.storage.BucketIAMMember(
                f"{self.prefix}{name}-{suffix}",
                bucket=name,
                role=role,
                member=self.member,
                opts=self._opts(depends_on),
            )
        return self._made[key]

    def import_source(
        self, bucket: str, *, depends_on: Optional[Sequence[pulumi.Resource]] = None
    ) -> list[pulumi.CustomResource]:
        """The import source grant (``objectViewer``) on ``bucket`` (name or gs:// URI).

        ``depends_on`` (e.g. the ``gcp.storage.Bucket`` when the program creates
        it) applies when the grant is first created.
        """
        return [self._bucket_grant(bucket, ROLE_OBJECT_VIEWER, "reader", depends_on)]

    def filter_file(
        self, filter_uri: str, *, depends_on: Optional[Sequence[pulumi.Resource]] = None
    ) -> list[pulumi.CustomResource]:
        """The filter file grant (``objectViewer``) on the file's bucket."""
        return [self._bucket_grant(filter_uri, ROLE_OBJECT_VIEWER, "reader", depends_on)]

    def gcs_export(
        self, bucket: str, *, depends_on: Optional[Sequence[pulumi.Resource]] = None
    ) -> list[pulumi.CustomResource]:
        """The export destination grant (``objectAdmin``) on ``bucket``."""
        return [self._bucket_grant(bucket, ROLE_OBJECT_ADMIN, "writer", depends_on)]

    def bigquery_export(
        self, project: str, dataset_id: str, *, depends_on: Optional[Sequence[pulumi.Resource]] = None
    ) -> list[pulumi.CustomResource]:
        """``dataEditor`` on ``project.dataset_id`` and ``jobUser`` on ``project``."""
        project = self._plain(project, "the project")
        dataset_id = self._plain(dataset_id, "the dataset id")
        key = ("dataset", project, dataset_id, ROLE_BQ_DATA_EDITOR)
        if key not in self._made:
            self._made[key] = gcp.bigquery.DatasetIamMember(
                f"{self.prefix}{_slug(project)}-{_slug(dataset_id)}-bq-data-editor",
                project=project,
                dataset_id=dataset_id,
                role=ROLE_BQ_DATA_EDITOR,
                member=self.member,
                opts=self._opts(depends_on),
            )
        editor = self._made[key]
        key = ("project", project, ROLE_BQ_JOB_USER)
        if key not in self._made:
            self._made[key] = gcp.projects.IAMMember(
                f"{self.prefix}{_slug(project)}-bq-job-user",
                project=project,
                role=ROLE_BQ_JOB_USER,
                member=self.member,
                opts=self.opts,
            )
        return [editor, self._made[key]]
