"""The job resources' inputs and outputs, written down once.

Why one table: every face of the product speaks the same inputs (the
resources' Args and ``__init__``s in :mod:`pulumi_dicom_jobs.resource_args`,
``check``'s known keys, ``diff``'s replace/update split, the request body's
field names, the CLI's flags, the pulumi-gcp components and the plugin's
package schema). Each of them derives what it needs from :data:`IMPORT_JOB`
and :data:`EXPORT_JOB`, or is checked against them by
``tests/beside/test_spec.py``, so adding an input is one entry
here plus its rule in :mod:`pulumi_dicom_jobs.validation`.

Plain data only: no Pulumi, no HTTP (an import contract holds it, see
ARCHITECTURE.md). Types use the Pulumi package schema's
names (``string``, ``boolean``, ``integer``, ``number``, ``object``, and
``any`` for a value of any shape). Enum values come from the discovery
document facts in :mod:`pulumi_dicom_jobs.api_facts`.
"""

from __future__ import annotations

from dataclasses import dataclass
import functools
from typing import Any, Iterator, Optional

from pulumi_dicom_jobs import api_facts

#: Default time a create may wait (``timeout_seconds``): large imports run for hours.
DEFAULT_TIMEOUT_SECONDS = 6 * 3600
#: The value types an input or output may have (Pulumi package schema names).
TYPES = frozenset({"string", "boolean", "integer", "number", "object", "any"})


@dataclass(frozen=True)
class InputSpec:
    """One input property of a job resource, or one field of a nested input object.

    ``default`` is the value that applies when the input is unset (``None``
    means "nothing": the API's own behaviour). ``replaces`` says whether a
    change starts a new job (``True``) or is recorded in place (``False``);
    nested fields inherit their object's. ``api`` is true when ``camel`` is
    the request body's own field name and the value is sent as given (the
    ``schema`` choice is not: it selects ``schemaFlattened``/``schemaJson``).
    ``cli`` is the ``dicom-jobs`` flag (``--x``) or argument (``STORE``) that
    sets it, if any. An ``object`` input has ``fields`` and a ``type_name``.
    """

    name: str
    camel: str
    type: str
    description: str
    required: bool = False
    default: Any = None
    enum: tuple[str, ...] = ()
    replaces: bool = True
    api: bool = False
    cli: Optional[str] = None
    type_name: Optional[str] = None
    fields: tuple["InputSpec", ...] = ()

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"{self.name}: unknown type {self.type!r}")
        if (self.type == "object") != bool(self.fields) or bool(self.fields) != bool(self.type_name):
            raise ValueError(f"{self.name}: an object input has fields and a type_name, nothing else has")

    def field(self, name: str) -> "InputSpec":
        """The nested field called ``name`` (snake_case)."""
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields)


@dataclass(frozen=True)
class OutputSpec:
    """One output-only property of both job resources."""

    name: str
    camel: str
    type: str
    description: str


@dataclass(frozen=True)
class JobSpec:
    """One job resource: its type name, what it does, and its inputs in order."""

    name: str
    description: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]

    def input(self, name: str) -> InputSpec:
        """The input called ``name`` (snake_case)."""
        for item in self.inputs:
            if item.name == name:
                return item
        raise KeyError(f"{self.name} has no input {name!r}")

    @property
    def input_names(self) -> frozenset[str]:
        return frozenset(item.name for item in self.inputs)

    @property
    def replace_names(self) -> tuple[str, ...]:
        """Inputs whose change replaces the job (a new operation runs), in order."""
        return tuple(item.name for item in self.inputs if item.replaces)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(item.name for item in self.outputs)

    @property
    def objects(self) -> tuple[InputSpec, ...]:
        """The nested input objects (gcsSource, bigqueryDestination...)."""
        return tuple(item for item in self.inputs if item.type == "object")


# -- inputs both jobs have ---------------------------------------------------
DICOM_STORE = InputSpec(
    "dicom_store", "dicomStore", "string", required=True, cli="STORE",
    description="The DICOM store the job imports into or exports from: "
                "projects/PROJECT/locations/LOCATION/datasets/DATASET/dicomStores/STORE "
                "(a pulumi-gcp healthcare.DicomStore's id).")
API_VERSION = InputSpec(
    "api_version", "apiVersion", "string", default=api_facts.DEFAULT_API_VERSION,
    enum=api_facts.API_VERSIONS, replaces=False, cli="--api-version",
    description="Cloud Healthcare API version the job is run and read with.")
API_ENDPOINT = InputSpec(
    "api_endpoint", "apiEndpoint", "string", replaces=False, cli="--endpoint",
    description=f"API endpoint URL (default {api_facts.DEFAULT_ENDPOINT}); the "
                "HEALTHCARE_EMULATOR_HOST environment variable wins over it.")
TIMEOUT_SECONDS = InputSpec(
    "timeout_seconds", "timeoutSeconds", "number", default=DEFAULT_TIMEOUT_SECONDS, replaces=False,
    cli="--timeout",
    description="How long to wait for the operation before failing (and cancelling it), in seconds. "
                "Changing it does not re-run the job.")
MAX_FAILED_INSTANCES = InputSpec(
    "max_failed_instances", "maxFailedInstances", "integer", default=0, replaces=False,
    cli="--max-failed-instances",
    description="How many instances may fail before the job counts as failed. "
                "Changing it does not re-run the job.")
TRIGGERS = InputSpec(
    "triggers", "triggers", "any",
    description="Any value; when it changes, the job runs again (a new operation).")

# -- import ------------------------------------------------------------------
GCS_SOURCE = InputSpec(
    "gcs_source", "gcsSource", "object", required=True, api=True, cli="SOURCE", type_name="GcsSource",
    description="Where the DICOM files to import are in Cloud Storage.",
    fields=(InputSpec(
        "uri", "uri", "string", required=True, api=True, cli="SOURCE",
        description="gs://BUCKET/OBJECT; '*' and '?' match within a path segment, a final '**' "
                    "(optionally '**.EXT') matches across segments."),))
BLOB_STORAGE_SETTINGS = InputSpec(
    "blob_storage_settings", "blobStorageSettings", "object", api=True, type_name="BlobStorageSettings",
    description="How the imported instances are stored.",
    fields=(InputSpec(
        "blob_storage_class", "blobStorageClass", "string", api=True, cli="--blob-storage-class",
        # The API's "unspecified" value is accepted and means the store's default.
        enum=api_facts.BLOB_STORAGE_CLASSES + ("BLOB_STORAGE_CLASS_UNSPECIFIED",),
        description="Storage class of the imported instances (default: the store's)."),))

# -- export ------------------------------------------------------------------
GCS_DESTINATION = InputSpec(
    "gcs_destination", "gcsDestination", "object", api=True, cli="DESTINATION", type_name="GcsDestination",
    description="Export to Cloud Storage (set this or bigqueryDestination, not both).",
    fields=(
        InputSpec("uri_prefix", "uriPrefix", "string", required=True, api=True, cli="DESTINATION",
                  description="gs://BUCKET[/PATH]: the instances are written under it as "
                              "STUDY/SERIES/INSTANCE[/FRAME].EXT."),
        InputSpec("mime_type", "mimeType", "string", api=True, cli="--mime-type",
                  description="Format of the exported files, e.g. application/dicom (the default), "
                              "'application/dicom; transfer-syntax=UID', image/jpeg or image/png."),
    ))
BIGQUERY_DESTINATION = InputSpec(
    "bigquery_destination", "bigqueryDestination", "object", api=True, cli="DESTINATION",
    type_name="BigQueryDestination",
    description="Export instance metadata to a BigQuery table (set this or gcsDestination, not both).",
    fields=(
        InputSpec("table_uri", "tableUri", "string", required=True, api=True, cli="DESTINATION",
                  description=f"bq://PROJECT.DATASET.TABLE to write to, at most "
                              f"{api_facts.MAX_TABLE_URI_CHARS} characters; the dataset may live in "
                              "another project."),
        InputSpec("write_disposition", "writeDisposition", "string", api=True, cli="--write-disposition",
                  # The API's "unspecified" value is accepted and means unset.
                  enum=api_facts.WRITE_DISPOSITIONS + (api_facts.WRITE_DISPOSITION_UNSET,),
                  description="If the table exists: WRITE_EMPTY (only if empty), WRITE_TRUNCATE or "
                              "WRITE_APPEND. Unset (or WRITE_DISPOSITION_UNSPECIFIED) without force: any "
                              "existing table fails the export, a re-run's own table too."),
        InputSpec("force", "force", "boolean", api=True, cli="--force",
                  description="Overwrite the table if it exists (the same as WRITE_TRUNCATE); "
                              "only without writeDisposition, which the API lets win."),
        InputSpec("include_source_store", "includeSourceStore", "boolean", api=True,
                  cli="--include-source-store",
                  description="Add a column naming the DICOM store each row came from."),
        InputSpec("schema", "schema", "string", enum=tuple(api_facts.SCHEMA_FIELDS), cli="--schema",
                  description="Table schema: FLATTENED or JSON (the API's schemaFlattened or schemaJson)."),
    ))
FILTER_CONFIG = InputSpec(
    "filter_config", "filterConfig", "object", api=True, type_name="FilterConfig",
    description="Export only some studies, series or instances.",
    fields=(InputSpec(
        "resource_paths_gcs_uri", "resourcePathsGcsUri", "string", required=True, api=True, cli="--filter",
        description="gs://BUCKET/OBJECT of a file listing one /studies/UID[/series/UID[/instances/UID]] "
                    "per line."),))

# -- outputs -----------------------------------------------------------------
OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("operation_name", "operationName", "string",
               "The long-running operation's name (also the resource's id)."),
    OutputSpec("success_count", "successCount", "integer", "Instances the operation processed successfully."),
    OutputSpec("failure_count", "failureCount", "integer", "Instances the operation failed to process."),
    OutputSpec("logs_url", "logsUrl", "string", "Cloud Logging link to the operation's per-instance logs."),
    OutputSpec("create_time", "createTime", "string", "When the operation started (RFC 3339)."),
    OutputSpec("end_time", "endTime", "string", "When the operation finished (RFC 3339)."),
    OutputSpec("api_method_name", "apiMethodName", "string",
               "The API method the operation reports, e.g. "
               "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData."),
)

#: Inputs of both jobs, after the kind's own (their order sets diff's ``replaces`` order).
_COMMON_TAIL: tuple[InputSpec, ...] = (API_VERSION, API_ENDPOINT, TIMEOUT_SECONDS, MAX_FAILED_INSTANCES,
                                       TRIGGERS)
COMMON_INPUTS: tuple[InputSpec, ...] = (DICOM_STORE, *_COMMON_TAIL)

IMPORT_JOB = JobSpec(
    "DicomImportJob",
    "Imports DICOM files from Cloud Storage into a DICOM store (one long-running operation). "
    "Deleting the resource leaves the imported instances in the store.",
    (DICOM_STORE, GCS_SOURCE, BLOB_STORAGE_SETTINGS, *_COMMON_TAIL),
    OUTPUTS)
EXPORT_JOB = JobSpec(
    "DicomExportJob",
    "Exports a DICOM store to Cloud Storage or BigQuery (one long-running operation). "
    "Deleting the resource leaves the exported objects or rows in place.",
    (DICOM_STORE, GCS_DESTINATION, BIGQUERY_DESTINATION, FILTER_CONFIG, *_COMMON_TAIL),
    OUTPUTS)
JOBS: tuple[JobSpec, ...] = (IMPORT_JOB, EXPORT_JOB)


# -- helpers ---------------------------------------------------------------------
def nested_objects() -> dict[str, InputSpec]:
    """Every nested input object of either job, by snake_case name."""
    return {item.name: item for job_spec in JOBS for item in job_spec.objects}


def walk(job_spec: JobSpec) -> Iterator[tuple[str, InputSpec]]:
    """``(property path, spec)`` for every input and nested field, e.g. ``gcs_source.uri``."""
    for item in job_spec.inputs:
        yield item.name, item
        for field in item.fields:
            yield f"{item.name}.{field.name}", field


@functools.lru_cache(maxsize=None)
def camel_names() -> dict[str, str]:
    """snake_case -> camelCase of every input, nested field and output of either job.

    A name has one spelling wherever it stands (ValueError otherwise), so a
    face can translate a name without knowing where it is. Callers must not
    modify the dict.
    """
    names: dict[str, str] = {}
    for job_spec in JOBS:
        items = [item for _path, item in walk(job_spec)] + list(job_spec.outputs)
        for item in items:
            if names.setdefault(item.name, item.camel) != item.camel:
                raise ValueError(f"{item.name} has two camelCase spellings")
    return names


def cli_flags(job_spec: JobSpec) -> dict[str, str]:
    """Property path -> the ``dicom-jobs`` flag or argument that sets it."""
    return {path: item.cli for path, item in walk(job_spec) if item.cli is not None}


@functools.lru_cache(maxsize=None)
def defaults(job_spec: JobSpec) -> dict[str, Any]:
    """The value each in-place input has when unset (for ``diff``; computed once per job,
    since preview diffs every resource). Callers must not modify the dict."""
    return {item.name: item.default for item in job_spec.inputs if not item.replaces}
