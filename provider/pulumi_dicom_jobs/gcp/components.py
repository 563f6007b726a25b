"""Component resources: a DICOM job with the bucket or dataset and the grants it needs.

Three components, each a few lines in a program::

    from pulumi_dicom_jobs.gcp.components import DicomGcsImport, DicomGcsExport, DicomBigQueryExport

    ct = DicomGcsImport("ct", dicom_store=store.id, bucket="my-scans", pattern="ct/**.dcm")
    png = DicomGcsExport("png", dicom_store=store.id, bucket="my-renders", mime_type="image/png",
                         opts=pulumi.ResourceOptions(depends_on=[ct]))
    meta = DicomBigQueryExport("meta", dicom_store=store.id, dataset_id="dicom_meta", table="instances",
                               write_disposition="WRITE_TRUNCATE", opts=pulumi.ResourceOptions(depends_on=[ct]))

Each one:

* optionally creates the Cloud Storage bucket or BigQuery dataset (a plain
  pulumi-gcp resource named ``{name}-bucket`` / ``{name}-dataset``; by default it
  is *not* emptied on destroy, so ``pulumi destroy`` fails on a non-empty one and
  leaves it in place);
* grants the project's Cloud Healthcare Service Agent exactly the roles the job
  needs (see :mod:`pulumi_dicom_jobs.gcp.grants`; names ``{name}-source-reader``,
  ``{name}-export-writer``, ``{name}-bq-data-editor``, ``{name}-bq-job-user``,
  ``{name}-filter-reader``) unless ``grants=`` hands it grants made elsewhere;
* runs the job (named ``name``, child of the component: the dynamic resource,
  or with ``plugin=True`` the provider plugin's ``dicom-jobs:index:*`` resource,
  which shows progress in ``pulumi up`` and stops on Ctrl-C, see docs/plugin.md),
  which ``depends_on`` those grants *and* on whatever the component itself was
  told to depend on, so ``depends_on=[an_import]`` on an export really orders the
  export job after the import job.

Grant propagation: IAM changes take a while to reach the Healthcare API, so
the job resources start a job that ends ``PERMISSION_DENIED`` before any
instance succeeded again for a while (the permission retry, written once in
docs/real-gcp.md#the-permission-retry and in
:func:`pulumi_dicom_jobs.jobs.run.run_job`); that covers a grant created
moments earlier in the same ``pulumi up``.

The service agent defaults to the one of the project parsed from
``dicom_store``: the component enables the Healthcare API there
(``{name}-healthcare-api``, ``gcp.projects.Service``, never disabled on
destroy) and creates the agent (``{name}-healthcare-agent``,
``gcp.projects.ServiceIdentity``), and every grant takes its member from that
identity, so on a fresh project no grant runs before the agent exists. Both
are idempotent on Google Cloud, so a project where they already exist works
the same. Pass ``service_agent="serviceAccount:..."`` to skip both.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from pulumi_dicom_jobs import spec
from pulumi_dicom_jobs.dynamic import resources as dynamic_resources
from pulumi_dicom_jobs.gcp import grants as _grants
from pulumi_dicom_jobs.names import join_gs_uri

__all__ = ["DicomGcsImport", "DicomGcsExport", "DicomBigQueryExport"]

_TYPE_PREFIX = "dicom-jobs:components"


def _job_kwargs(**values: Any) -> dict[str, Any]:
    """Drop the options left unset so the job resource applies its own defaults."""
    return {key: value for key, value in values.items() if value is not None}


class _DicomJobComponent(pulumi.ComponentResource):
    """Shared plumbing: the service agent, the grants and the job's options."""

    job: pulumi.CustomResource
    grants: list[pulumi.Resource]
    service_agent: pulumi.Output[str]

    def __init__(self, type_name: str, name: str, opts: Optional[pulumi.ResourceOptions]) -> None:
        super().__init__(f"{_TYPE_PREFIX}:{type_name}", name, None, opts)
        self._name = name
        # ``depends_on`` given to the component itself: the job honours it too.
        self._outer_depends_on: list[pulumi.Resource] = []
        if opts is not None and opts.depends_on is not None:
            depends = opts.depends_on
            if isinstance(depends, pulumi.Resource):
                depends = [depends]
            if isinstance(depends, (list, tuple)):
                # Plain resources only; an Output-valued depends_on still orders
                # the component itself (and so everything that depends on it).
                self._outer_depends_on = [d for d in depends if isinstance(d, pulumi.Resource)]

    def _child(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **extra)

    def _service_agent(self, dicom_store: pulumi.Input[str], service_agent: pulumi.Input[str] | None) -> pulumi.Output[str]:
        """The member handed in, else the store project's agent, created (with the API
        enabled) by ``{name}-healthcare-api`` and ``{name}-healthcare-agent``."""
        if service_agent is not None:
            return pulumi.Output.from_input(service_agent)
        agent = _grants.HealthcareServiceAgent(self._name, _grants.store_project(dicom_store), opts=self._child())
        return agent.member

    def _bucket(
        self,
        dicom_store: pulumi.Input[str],
        bucket: pulumi.Input[str] | None,
        *,
        create: bool,
        location: pulumi.Input[str] | None,
        project: pulumi.Input[str] | None,
        force_destroy: bool,
    ) -> tuple[gcp.storage.Bucket | None, pulumi.Output[str]]:
        """Create ``{name}-bucket`` (located with the store by default), or resolve ``bucket``.

        Returns the bucket (``None`` when not created) and its name.
        """
        if not create:
            return None, pulumi.Output.from_input(bucket).apply(_grants.bucket_of)
        made = gcp.storage.Bucket(
            f"{self._name}-bucket",
            name=bucket,
            project=project,
            location=location if location is not None else _grants.store_location(dicom_store),
            uniform_bucket_level_access=True,
            force_destroy=force_destroy,
            opts=self._child(),
        )
        return made, made.name

    def _grants_or(
        self,
        given: Sequence[pulumi.Resource] | None,
        make: Callable[[], list[pulumi.CustomResource]],
        filter_file: pulumi.Input[str] | None = None,
    ) -> list[pulumi.Resource]:
        """The grants handed in, else those ``make`` creates plus the filter file's."""
        if given is not None:
            return list(given)
        made = make()
        if filter_file is not None:
            made += _grants.filter_file_grants(
                self._name, filter_uri=filter_file, member=self.service_agent, opts=self._child()
            )
        return list(made)

    def _job_class(self, job: spec.JobSpec, plugin: bool) -> type:
        """The resource class of ``job`` (named as the spec names it) in the chosen face: the
        provider plugin or the dynamic resources."""
        if plugin:
            from pulumi_dicom_jobs.plugin import resources as plugin_resources  # only when chosen
            return getattr(plugin_resources, job.name)
        return getattr(dynamic_resources, job.name)

    def _job_opts(self) -> pulumi.ResourceOptions:
        return self._child(depends_on=[*self.grants, *self._outer_depends_on])

    def _expose_job(self, extra: Mapping[str, Any]) -> None:
        job = self.job
        self.operation_name: pulumi.Output[str] = job.operation_name
        self.success_count: pulumi.Output[int] = job.success_count
        self.failure_count: pulumi.Output[int] = job.failure_count
        self.logs_url: pulumi.Output[str] = job.logs_url
        self.create_time: pulumi.Output[str] = job.create_time
        self.end_time: pulumi.Output[str] = job.end_time
        self.register_outputs(
            {
                "service_agent": self.service_agent,
                "operation_name": self.operation_name,
                "success_count": self.success_count,
                "failure_count": self.failure_count,
                "logs_url": self.logs_url,
                **extra,
            }
        )


class DicomGcsImport(_DicomJobComponent):
    """Import DICOM files from a Cloud Storage bucket into a DICOM store.

    Creates ``{name}-bucket`` when ``create_bucket`` is true (useful for a
    landing bucket that something else fills), ``{name}-source-reader``
    (``roles/storage.objectViewer`` on the bucket for the Healthcare service
    agent) and the job ``name`` importing ``gs://{bucket}/{pattern}``.

    ``pattern`` follows the API's wildcard rules: ``*``, ``?``, and ``**`` only
    at the end (optionally with an extension, e.g. ``ct/**.dcm``).
    """

    bucket: gcp.storage.Bucket | None
    bucket_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        dicom_store: pulumi.Input[str],
        bucket: pulumi.Input[str] | None = None,
        pattern: str = "**.dcm",
        create_bucket: bool = False,
        bucket_location: pulumi.Input[str] | None = None,
        bucket_project: pulumi.Input[str] | None = None,
        bucket_force_destroy: bool = False,
        blob_storage_class: str | None = None,
        max_failed_instances: int | None = None,
        timeout_seconds: float | None = None,
        triggers: Sequence[Any] | None = None,
        api_version: str | None = None,
        api_endpoint: str | None = None,
        service_agent: pulumi.Input[str] | None = None,
        grants: Sequence[pulumi.Resource] | None = None,
        plugin: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        super().__init__("DicomGcsImport", name, opts)
        if bucket is None and not create_bucket:
            raise ValueError(f"DicomGcsImport {name!r}: give bucket=, or create_bucket=True")
        pattern = (pattern or "").lstrip("/")
        if not pattern or pattern.startswith("gs://"):
            raise ValueError(f"DicomGcsImport {name!r}: pattern is the object part, e.g. 'dir/**.dcm', got {pattern!r}")

        self.bucket, self.bucket_name = self._bucket(
            dicom_store, bucket, create=create_bucket, location=bucket_location,
            project=bucket_project, force_destroy=bucket_force_destroy,
        )
        self.source_uri: pulumi.Output[str] = self.bucket_name.apply(lambda b: join_gs_uri(b, pattern))

        self.service_agent = self._service_agent(dicom_store, service_agent)
        self.grants = self._grants_or(
            grants,
            lambda: _grants.import_source_grants(
                name, bucket=self.bucket_name, member=self.service_agent, opts=self._child()
            ),
        )

        self.job = self._job_class(spec.IMPORT_JOB, plugin)(
            name,
            dicom_store=dicom_store,
            gcs_source={"uri": self.source_uri},
            **_job_kwargs(
                blob_storage_settings={"blob_storage_class": blob_storage_class} if blob_storage_class else None,
                max_failed_instances=max_failed_instances,
                timeout_seconds=timeout_seconds,
                triggers=list(triggers) if triggers is not None else None,
                api_version=api_version,
                api_endpoint=api_endpoint,
            ),
            opts=self._job_opts(),
        )
        self._expose_job({"bucket_name": self.bucket_name, "source_uri": self.source_uri})


class DicomGcsExport(_DicomJobComponent):
    """Export a DICOM store to Cloud Storage (as DICOM, or rendered as JPEG/PNG).

    Creates ``{name}-bucket`` (unless ``create_bucket=False``),
    ``{name}-export-writer`` (``roles/storage.objectAdmin`` on the bucket), with a
    ``filter_file`` also ``{name}-filter-reader`` (``roles/storage.objectViewer``
    on the filter file's bucket), and the job ``name`` writing
    ``gs://{bucket}/{prefix}/{study}/{series}/{instance}[/{frame}].{ext}``.
    """

    bucket: gcp.storage.Bucket | None
    bucket_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        dicom_store: pulumi.Input[str],
        bucket: pulumi.Input[str] | None = None,
        prefix: str = "",
        mime_type: str | None = None,
        filter_file: pulumi.Input[str] | None = None,
        create_bucket: bool = True,
        bucket_location: pulumi.Input[str] | None = None,
        bucket_project: pulumi.Input[str] | None = None,
        bucket_force_destroy: bool = False,
        max_failed_instances: int | None = None,
        timeout_seconds: float | None = None,
        triggers: Sequence[Any] | None = None,
        api_version: str | None = None,
        api_endpoint: str | None = None,
        service_agent: pulumi.Input[str] | None = None,
        grants: Sequence[pulumi.Resource] | None = None,
        plugin: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        super().__init__("DicomGcsExport", name, opts)
        if bucket is None and not create_bucket:
            raise ValueError(f"DicomGcsExport {name!r}: give bucket=, or leave create_bucket on")

        self.bucket, self.bucket_name = self._bucket(
            dicom_store, bucket, create=create_bucket, location=bucket_location,
            project=bucket_project, force_destroy=bucket_force_destroy,
        )
        self.uri_prefix: pulumi.Output[str] = self.bucket_name.apply(lambda b: join_gs_uri(b, prefix))

        self.service_agent = self._service_agent(dicom_store, service_agent)
        self.grants = self._grants_or(
            grants,
            lambda: _grants.gcs_export_grants(
                name, bucket=self.bucket_name, member=self.service_agent, opts=self._child()
            ),
            filter_file,
        )

        destination: dict[str, Any] = {"uri_prefix": self.uri_prefix}
        if mime_type:
            destination["mime_type"] = mime_type
        self.job = self._job_class(spec.EXPORT_JOB, plugin)(
            name,
            dicom_store=dicom_store,
            gcs_destination=destination,
            **_job_kwargs(
                filter_config={"resource_paths_gcs_uri": filter_file} if filter_file is not None else None,
                max_failed_instances=max_failed_instances,
                timeout_seconds=timeout_seconds,
                triggers=list(triggers) if triggers is not None else None,
                api_version=api_version,
                api_endpoint=api_endpoint,
            ),
            opts=self._job_opts(),
        )
        self._expose_job({"bucket_name": self.bucket_name, "uri_prefix": self.uri_prefix})


class DicomBigQueryExport(_DicomJobComponent):
    """Export a DICOM store's metadata to a BigQuery table.

    Creates ``{name}-dataset`` (unless ``create_dataset=False``; tables are not
    deleted on destroy unless ``delete_contents_on_destroy=True``),
    ``{name}-bq-data-editor`` (``roles/bigquery.dataEditor`` on the dataset),
    ``{name}-bq-job-user`` (``roles/bigquery.jobUser`` on the destination
    project, the only project-level grant), with a ``filter_file`` also
    ``{name}-filter-reader``, and the job ``name`` writing
    ``bq://{project}.{dataset_id}.{table}``.

    ``project`` is the destination project (default: the store's project);
    a different project makes a cross-project export, with both BigQuery grants
    in the destination project. ``write_disposition`` (``WRITE_EMPTY``,
    ``WRITE_TRUNCATE``, ``WRITE_APPEND``) or ``force``: with neither, the
    export only creates a new table and fails on an existing one, its own
    included (a ``triggers`` re-run or a replace), so a job that may run twice
    sets ``write_disposition``. ``force=True`` beside a write disposition is
    refused: the API ignores ``force`` then.
    """

    def __init__(
        self,
        name: str,
        *,
        dicom_store: pulumi.Input[str],
        dataset_id: str,
        table: str,
        project: pulumi.Input[str] | None = None,
        create_dataset: bool = True,
        dataset_location: pulumi.Input[str] | None = None,
        delete_contents_on_destroy: bool = False,
        write_disposition: str | None = None,
        force: bool | None = None,
        include_source_store: bool | None = None,
        schema: str | None = None,
        filter_file: pulumi.Input[str] | None = None,
        max_failed_instances: int | None = None,
        timeout_seconds: float | None = None,
        triggers: Sequence[Any] | None = None,
        api_version: str | None = None,
        api_endpoint: str | None = None,
        service_agent: pulumi.Input[str] | None = None,
        grants: Sequence[pulumi.Resource] | None = None,
        plugin: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        super().__init__("DicomBigQueryExport", name, opts)
        if force is True and write_disposition not in (None, "WRITE_DISPOSITION_UNSPECIFIED"):
            raise ValueError(f"DicomBigQueryExport {name!r}: force=True is ignored by the API when "
                             "write_disposition is set, so it would not overwrite the table: set only "
                             "write_disposition (WRITE_TRUNCATE overwrites)")
        destination_project = (
            pulumi.Output.from_input(project) if project is not None else _grants.store_project(dicom_store)
        )

        self.dataset: gcp.bigquery.Dataset | None = None
        if create_dataset:
            self.dataset = gcp.bigquery.Dataset(
                f"{name}-dataset",
                dataset_id=dataset_id,
                project=destination_project,
                location=dataset_location if dataset_location is not None else _grants.store_location(dicom_store),
                delete_contents_on_destroy=delete_contents_on_destroy,
                opts=self._child(),
            )
            self.dataset_project: pulumi.Output[str] = self.dataset.project
            self.dataset_id: pulumi.Output[str] = self.dataset.dataset_id
        else:
            self.dataset_project = destination_project
            self.dataset_id = pulumi.Output.from_input(dataset_id)
        self.table_uri: pulumi.Output[str] = pulumi.Output.all(self.dataset_project, self.dataset_id).apply(
            lambda parts: f"bq://{parts[0]}.{parts[1]}.{table}"
        )

        self.service_agent = self._service_agent(dicom_store, service_agent)
        self.grants = self._grants_or(
            grants,
            lambda: _grants.bigquery_export_grants(
                name,
                project=self.dataset_project,
                dataset_id=self.dataset_id,
                member=self.service_agent,
                opts=self._child(),
            ),
            filter_file,
        )

        destination: dict[str, Any] = {"table_uri": self.table_uri}
        destination.update(
            _job_kwargs(
                write_disposition=write_disposition,
                force=force,
                include_source_store=include_source_store,
                schema=schema,
            )
        )
        self.job = self._job_class(spec.EXPORT_JOB, plugin)(
            name,
            dicom_store=dicom_store,
            bigquery_destination=destination,
            **_job_kwargs(
                filter_config={"resource_paths_gcs_uri": filter_file} if filter_file is not None else None,
                max_failed_instances=max_failed_instances,
                timeout_seconds=timeout_seconds,
                triggers=list(triggers) if triggers is not None else None,
                api_version=api_version,
                api_endpoint=api_endpoint,
            ),
            opts=self._job_opts(),
        )
        self._expose_job({"table_uri": self.table_uri})
