"""Offline checks of the job resources' inputs (the ``check`` step).

Why: a typo in a URI or an enum would otherwise surface minutes into
``pulumi up`` as a 400 from the API, or, worse, as a job that imports nothing.
Every rule here is pure (no network, no credentials) so ``pulumi preview``
reports all problems at once, each as ``(property path, reason)``.

Values not known yet during a preview (``pulumi.output.Unknown`` or the
RPC's unknown sentinel string) are never reported: the rule that would need
them is skipped, and the engine calls ``check`` again once they are known.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping  # not typing.Mapping: isinstance on it is several times slower
from typing import Any, Callable

from pulumi_dicom_jobs import api_facts, names, spec

Failure = tuple[str, str]

#: The RPC layer's sentinel for an unknown value (``pulumi.runtime.rpc.UNKNOWN``).
_RPC_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

#: The keys ``check`` knows, from the one input table (:mod:`pulumi_dicom_jobs.spec`).
COMMON_KEYS = frozenset(item.name for item in spec.COMMON_INPUTS)
IMPORT_KEYS = spec.IMPORT_JOB.input_names
EXPORT_KEYS = spec.EXPORT_JOB.input_names
NESTED_KEYS: dict[str, frozenset[str]] = {
    name: item.field_names for name, item in spec.nested_objects().items()}
#: Keys the engine or the SDK add to inputs (``__provider``) are not the user's.
_RESERVED_PREFIX = "__"

#: What the API accepts in a store name's project and location (the name is
#: split by :mod:`pulumi_dicom_jobs.names`; dataset and store ids: at most 256).
_PROJECT_ID_RE = re.compile(r"[a-z0-9][a-z0-9.:-]{0,62}[a-z0-9]|[a-z0-9]")
_LOCATION_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
_MAX_ID_CHARS = 256
_BUCKET_PART_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$")
_IPV4_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_EXTENSION_RE = re.compile(r"^\.[^/*?]+$")
#: The parts of ``bq://PROJECT.DATASET.TABLE`` (split by :mod:`pulumi_dicom_jobs.names`).
_TABLE_PROJECT_RE = re.compile(r"(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
_TABLE_DATASET_RE = re.compile(r"[A-Za-z0-9_]{1,1024}")
_TABLE_RE = re.compile(r"[\w\- ]{1,1024}$")


def is_unknown(value: Any) -> bool:
    """True for a value the engine does not know yet (preview)."""
    if isinstance(value, str):
        return value == _RPC_UNKNOWN
    return type(value).__name__ == "Unknown" and type(value).__module__.startswith("pulumi")


def contains_unknown(value: Any) -> bool:
    """True when ``value`` or anything nested in it is unknown."""
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


# -- single-value rules: return a reason, or None --------------------------
def store_name_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "is required: projects/PROJECT/locations/LOCATION/datasets/DATASET/dicomStores/STORE"
    parts = names.split_dicom_store(value)
    if (parts is None or not _PROJECT_ID_RE.fullmatch(parts.project)
            or not _LOCATION_RE.fullmatch(parts.location)):
        return (f"{value!r} is not a DICOM store name: expected "
                "projects/PROJECT/locations/LOCATION/datasets/DATASET/dicomStores/STORE")
    # the ids' length is part of is_healthcare_id, so a too-long id is named like a bad one
    for part, id_ in (("dataset", parts.dataset), ("store", parts.store)):
        if not is_healthcare_id(id_):
            return (f"{value!r}: the {part} id {id_!r} must be 1 to {_MAX_ID_CHARS} letters, "
                    "digits, '_', '-' or '.' (the API's [\\p{L}\\p{N}_\\-\\.]{1,256})")
        if id_ in (".", ".."):  # would address another URL path segment
            return f"{value!r}: the {part} id must not be {id_!r}"
    return None


def is_healthcare_id(value: str) -> bool:
    """The API's rule for dataset and store ids: Unicode letters and digits, ``_-.``."""
    return 0 < len(value) <= _MAX_ID_CHARS and all(
        ch in "_-." or unicodedata.category(ch)[0] in ("L", "N") for ch in value)


def bucket_problem(bucket: str) -> str | None:
    """Cloud Storage bucket naming rules (3-63 characters, dotted names up to 222)."""
    if not bucket:
        return "names no bucket: expected gs://BUCKET/..."
    dotted = "." in bucket
    if len(bucket) < 3 or len(bucket) > (222 if dotted else 63):
        return f"bucket name {bucket!r} must be 3 to 63 characters long (222 with dots)"
    if _IPV4_RE.match(bucket):
        return f"bucket name {bucket!r} must not look like an IP address"
    if bucket.startswith("goog"):
        return f"bucket name {bucket!r} must not start with 'goog'"
    for part in bucket.split("."):
        if len(part) > 63 or not _BUCKET_PART_RE.match(part):
            return (f"bucket name {bucket!r} may hold only lowercase letters, digits, '-', '_' "
                    "and '.', and must start and end with a letter or digit")
    return None


def bucket_of(uri_or_bucket: str) -> str:
    """The bucket of ``gs://BUCKET[/OBJECT]``, or a bare bucket name, if :func:`bucket_problem`
    accepts it; ValueError naming the rule otherwise (the pulumi-gcp helpers' buckets)."""
    value = uri_or_bucket or ""
    if value.startswith(names.GS_SCHEME):
        value = names.split_gs_uri(value)[0]
    elif "/" in value or ":" in value:
        raise ValueError(f"not a bucket name or gs:// URI: {uri_or_bucket!r}")
    problem = bucket_problem(value)
    if problem:
        raise ValueError(f"{uri_or_bucket!r}: {problem}")
    return value


def _split_gs(value: Any, need_object: bool) -> tuple[str | None, str]:
    """``(problem, object)`` for a ``gs://`` URI (the object is only meaningful without a problem)."""
    if not isinstance(value, str) or not value:
        return "is required: a Cloud Storage URI gs://BUCKET/...", ""
    if not value.startswith(names.GS_SCHEME):
        return f"{value!r} is not a Cloud Storage URI (must start with gs://)", ""
    bucket, obj = names.split_gs_uri(value)
    problem = bucket_problem(bucket)
    if problem is None and need_object and not obj:
        problem = f"{value!r} names no object: expected gs://BUCKET/OBJECT"
    return problem, obj


def import_uri_problem(value: Any) -> str | None:
    """The ``gcsSource.uri`` rules, wildcards included.

    ``*`` and ``?`` match inside one path segment and may appear anywhere in
    the object name. ``**`` matches across ``/``; it may appear once, at the
    very end of the path (optionally followed by an extension such as
    ``.dcm``), and never together with another wildcard. A folder
    (``gs://BUCKET/DIR/``, no wildcard) is none of the documented forms: the
    API would look for an object of that very name and import nothing, so it
    is refused with the two patterns the user most likely meant.
    """
    problem, obj = _split_gs(value, need_object=True)
    if problem:
        return problem
    if obj.endswith("/") and not any(ch in obj for ch in "*?"):
        return (f"{value!r} names a folder, which the API does not import (it takes "
                f"gs://BUCKET/OBJECT with wildcards): use '{value}**' for every object under it, "
                f"subfolders included, or '{value}*.dcm' for the .dcm files directly in it")
    if "***" in obj:
        return f"{value!r}: three or more '*' in a row are not a wildcard"
    if "**" not in obj:
        return None
    if obj.count("**") > 1:
        return f"{value!r}: '**' may appear only once, at the end of the path"
    head, _, tail = obj.partition("**")
    if any(ch in head or ch in tail for ch in "*?"):
        return f"{value!r}: '**' cannot be combined with another wildcard ('*' or '?') in the path"
    if tail and not _EXTENSION_RE.match(tail):
        return (f"{value!r}: '**' must end the path, optionally followed by an extension "
                "such as '.dcm'")
    return None


def object_uri_problem(value: Any) -> str | None:
    """A single object (``gs://BUCKET/OBJECT``, no wildcards), e.g. a filter file."""
    problem, obj = _split_gs(value, need_object=True)
    if problem:
        return problem
    if "*" in obj or "?" in obj:
        return f"{value!r} must name one object: wildcards are not allowed here"
    return None


def uri_prefix_problem(value: Any) -> str | None:
    """An export destination ``gs://BUCKET[/PATH]`` (no wildcards)."""
    problem, obj = _split_gs(value, need_object=False)
    if problem:
        return problem
    if "*" in obj or "?" in obj:
        return f"{value!r}: wildcards are not allowed in an export destination"
    return None


def mime_type_problem(value: Any) -> str | None:
    if value == "":  # proto3 cannot tell "" from unset: the original DICOM, as the API reads it
        return None
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty MIME type string"
    if api_facts.canonical_mime_type(value) in api_facts.supported_mime_types():
        return None
    return (f"{value!r} is not a supported MIME type: use application/dicom (optionally with "
            "'; transfer-syntax=UID' or '; transfer-syntax=*'), application/octet-stream "
            "(optionally '; transfer-syntax=1.2.840.10008.1.2.1' or '*'), image/jpeg or image/png")


def table_uri_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "is required: bq://PROJECT.DATASET.TABLE"
    if len(value) > api_facts.MAX_TABLE_URI_CHARS:
        return f"is {len(value)} characters long; at most {api_facts.MAX_TABLE_URI_CHARS} are allowed"
    if not value.startswith(names.BQ_SCHEME):
        return f"{value!r} is not a BigQuery URI (must start with bq://)"
    try:
        project, dataset, table = names.parse_table_uri(value)
    except ValueError:
        project = dataset = table = ""
    if not (_TABLE_PROJECT_RE.fullmatch(project) and _TABLE_DATASET_RE.fullmatch(dataset)
            and _TABLE_RE.match(table)):
        return (f"{value!r} is not bq://PROJECT.DATASET.TABLE: the project holds lowercase letters, "
                "digits and '-'; the dataset letters, digits and '_'; the table letters, digits, "
                "'_', '-' and spaces")
    return None


def bigquery_project_problem(api_version: Any, dicom_store: Any, table_uri: Any) -> str | None:
    """v1beta1 exports only to a BigQuery dataset of the store's project; v1 to any project.

    The v1beta1 ``dicomStores.export`` reference: "You can only export to a
    BigQuery dataset that's in the same project as the DICOM store"; the v1
    BigQuery export guide documents exports to another project. Called with
    values the other rules accept; a store named by its project *number*
    cannot be compared offline, so the API decides then.
    """
    if api_version != "v1beta1":
        return None
    store = names.split_dicom_store(dicom_store)
    if store is None or store.project.isdigit():
        return None
    project = names.parse_table_uri(table_uri)[0]
    if project == store.project:
        return None
    return (f"API version v1beta1 exports only to a BigQuery dataset in the DICOM store's project "
            f"({store.project}); {table_uri!r} is in project {project}: use a dataset in "
            f"{store.project}, or api_version v1, which exports to another project")


def enum_problem(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def rule(value: Any) -> str | None:
        if value in choices:
            return None
        return f"{value!r} is not one of {', '.join(choices)}"
    return rule


def bool_problem(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{value!r} must be true or false"


def non_negative_int_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} must be a whole number >= 0"
    if isinstance(value, float) and not value.is_integer():
        return f"{value!r} must be a whole number >= 0"
    return None if value >= 0 else f"{value!r} must be a whole number >= 0"


def positive_number_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return f"{value!r} must be a number of seconds > 0"
    return None if value > 0 else f"{value!r} must be a number of seconds > 0"


def endpoint_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+/?$", value):
        return f"{value!r} must be a URL such as {api_facts.DEFAULT_ENDPOINT}"
    return None


# -- whole-resource checks --------------------------------------------------
class _Collector:
    """Apply rules, skipping unknown values and collecting failures."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []

    def add(self, path: str, reason: str) -> None:
        self.failures.append((path, reason))

    def rule(self, path: str, value: Any, rule: Callable[[Any], str | None]) -> None:
        if contains_unknown(value):
            return
        try:
            reason = rule(value)
        except Exception as exc:  # a rule must never take check down
            reason = f"could not be checked: {type(exc).__name__}"
        if reason:
            self.add(path, reason)

    def keys(self, path: str, value: Mapping[str, Any], allowed: frozenset[str]) -> None:
        for key in sorted(k for k in value if isinstance(k, str)):
            if key.startswith(_RESERVED_PREFIX) and not path:
                continue
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                self.add(where, f"unknown property {key!r}; expected one of {', '.join(sorted(allowed))}")

    def nested(self, props: Mapping[str, Any], key: str, required: bool) -> Mapping[str, Any] | None:
        """The nested object under ``key`` when it is known and a mapping."""
        value = props.get(key)
        if value is None:
            if required:
                self.add(key, "is required")
            return None
        if is_unknown(value):
            return None
        if not isinstance(value, Mapping):
            self.add(key, f"must be an object with {', '.join(sorted(NESTED_KEYS[key]))}")
            return None
        self.keys(key, value, NESTED_KEYS[key])
        return value


def _present(value: Any) -> bool:
    return value is not None


def _check_common(c: _Collector, props: Mapping[str, Any], allowed: frozenset[str]) -> None:
    c.keys("", props, allowed)
    c.rule("dicom_store", props.get("dicom_store"), store_name_problem)
    if _present(props.get("api_version")):
        c.rule("api_version", props["api_version"], enum_problem(spec.API_VERSION.enum))
    if _present(props.get("api_endpoint")):
        c.rule("api_endpoint", props["api_endpoint"], endpoint_problem)
    if _present(props.get("timeout_seconds")):
        c.rule("timeout_seconds", props["timeout_seconds"], positive_number_problem)
    if _present(props.get("max_failed_instances")):
        c.rule("max_failed_instances", props["max_failed_instances"], non_negative_int_problem)


def check_import(props: dict) -> list[tuple[str, str]]:
    """Every rule an import job's inputs break, as ``(property path, reason)``."""
    c = _Collector()
    if not isinstance(props, Mapping):
        return [("", "inputs must be an object")]
    _check_common(c, props, IMPORT_KEYS)
    source = c.nested(props, "gcs_source", required=True)
    if source is not None:
        c.rule("gcs_source.uri", source.get("uri"), import_uri_problem)
    blob = c.nested(props, "blob_storage_settings", required=False)
    if blob is not None and _present(blob.get("blob_storage_class")):
        c.rule("blob_storage_settings.blob_storage_class", blob["blob_storage_class"],
               enum_problem(spec.BLOB_STORAGE_SETTINGS.field("blob_storage_class").enum))
    return c.failures


def check_export(props: dict) -> list[tuple[str, str]]:
    """Every rule an export job's inputs break, as ``(property path, reason)``."""
    c = _Collector()
    if not isinstance(props, Mapping):
        return [("", "inputs must be an object")]
    _check_common(c, props, EXPORT_KEYS)
    gcs_value, bq_value = props.get("gcs_destination"), props.get("bigquery_destination")
    if not (is_unknown(gcs_value) or is_unknown(bq_value)):
        if gcs_value is None and bq_value is None:
            c.add("gcs_destination", "exactly one of gcs_destination or bigquery_destination is required")
        elif gcs_value is not None and bq_value is not None:
            c.add("bigquery_destination",
                  "exactly one of gcs_destination or bigquery_destination may be set, not both")
    gcs = c.nested(props, "gcs_destination", required=False)
    if gcs is not None:
        c.rule("gcs_destination.uri_prefix", gcs.get("uri_prefix"), uri_prefix_problem)
        if _present(gcs.get("mime_type")):
            c.rule("gcs_destination.mime_type", gcs["mime_type"], mime_type_problem)
    bq = c.nested(props, "bigquery_destination", required=False)
    if bq is not None:
        c.rule("bigquery_destination.table_uri", bq.get("table_uri"), table_uri_problem)
        version = props.get("api_version", spec.API_VERSION.default)
        compared = (version, props.get("dicom_store"), bq.get("table_uri"))
        if (not contains_unknown(compared) and store_name_problem(compared[1]) is None
                and table_uri_problem(compared[2]) is None):
            c.rule("bigquery_destination.table_uri", compared,
                   lambda values: bigquery_project_problem(*values))
        if _present(bq.get("write_disposition")):
            # WRITE_DISPOSITION_UNSPECIFIED is accepted and means unset (see README).
            c.rule("bigquery_destination.write_disposition", bq["write_disposition"],
                   enum_problem(spec.BIGQUERY_DESTINATION.field("write_disposition").enum))
        for flag in ("force", "include_source_store"):
            if _present(bq.get(flag)):
                c.rule(f"bigquery_destination.{flag}", bq[flag], bool_problem)
        if _present(bq.get("schema")):
            c.rule("bigquery_destination.schema", bq["schema"],
                   enum_problem(spec.BIGQUERY_DESTINATION.field("schema").enum))
        # The service ignores force when a write disposition is set (discovery
        # document), so force=true beside one would silently not overwrite:
        # refused here. force=false beside one changes nothing (proto3 cannot
        # tell it from unset) and is not sent.
        disposition = bq.get("write_disposition")
        if bq.get("force") is True and _present(disposition) and not is_unknown(disposition) \
                and disposition != api_facts.WRITE_DISPOSITION_UNSET:
            c.add("bigquery_destination.force",
                  "force=true is ignored by the API when write_disposition is set, so it would not "
                  "overwrite the table: set only write_disposition (WRITE_TRUNCATE overwrites)")
    flt = c.nested(props, "filter_config", required=False)
    if flt is not None:
        c.rule("filter_config.resource_paths_gcs_uri", flt.get("resource_paths_gcs_uri"),
               object_uri_problem)
    return c.failures
