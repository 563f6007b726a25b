"""dicom-jobs: bootstrap a Cloud Healthcare DICOM environment from stack config.

Creates, from ``Pulumi.<stack>.yaml`` (see ``Pulumi.example.yaml``):

* the Healthcare dataset and DICOM store (pulumi-gcp; kept on ``pulumi destroy``
  unless ``keep_store_on_destroy: false``, because deleting the store deletes
  every instance in it);
* the Cloud Storage buckets and BigQuery datasets marked for creation;
* the Cloud Healthcare API, enabled (never disabled on destroy), and its
  service agent, created (:class:`pulumi_dicom_jobs.gcp.grants.HealthcareServiceAgent`;
  both idempotent, so a project that has them already works the same);
* the Healthcare service agent's grants, each (bucket/dataset, role) once
  (:class:`pulumi_dicom_jobs.gcp.grants.GrantSet`), taking the member from the
  created agent so none runs before it exists;
* one import job per ``imports`` entry, then one export job per ``exports``
  entry, every export ordered after every import.

The jobs are dynamic resources unless ``job_provider: plugin`` puts them on
the ``dicom-jobs`` provider plugin (``dicom-jobs:index:*``: progress in
``pulumi up``, Ctrl-C, ``customTimeouts``; docs/plugin.md), as ``make demo``
does. The project is named ``dicom-environment``, not ``dicom-jobs``: the
engine would hand its config to the plugin of that name (pulumi/pulumi#3546).

Stack outputs: ``dicom_store``, ``service_agent``, and ``imports`` / ``exports``
maps from entry name to operation name, counters, logs URL and destination.
Changing ``triggers`` (global or per entry) re-runs the jobs it applies to.
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping

import pulumi
import pulumi_gcp as gcp

from pulumi_dicom_jobs.gcp.components import DicomBigQueryExport, DicomGcsExport, DicomGcsImport
from pulumi_dicom_jobs.gcp.grants import GrantSet, HealthcareServiceAgent, bucket_of

IMPORT_KEYS = {
    "name", "bucket", "create_bucket", "pattern", "max_failed_instances",
    "blob_storage_class", "timeout_seconds", "triggers",
}
GCS_EXPORT_KEYS = {
    "name", "kind", "bucket", "create_bucket", "prefix", "mime_type", "filter_file",
    "max_failed_instances", "timeout_seconds", "triggers",
}
BQ_EXPORT_KEYS = {
    "name", "kind", "project", "dataset", "table", "create_dataset", "write_disposition",
    "force", "include_source_store", "schema", "filter_file", "max_failed_instances",
    "timeout_seconds", "triggers",
}
#: Per kind of entry (imports have none): the keys allowed and the keys required.
IMPORT_RULES = {None: (IMPORT_KEYS, ("name", "bucket"))}
EXPORT_RULES = {"gcs": (GCS_EXPORT_KEYS, ("name", "bucket")), "bigquery": (BQ_EXPORT_KEYS, ("name", "dataset", "table"))}


def _entries(section: str, rules: Mapping[Any, tuple[set[str], tuple[str, ...]]], mistakes: list[str]) -> list[dict]:
    """The config list ``section``'s well-formed entries; one line in ``mistakes`` per problem."""
    key = f"{pulumi.get_project()}:{section}"
    raw = config.get_object(section)
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        mistakes.append(f"{key} must be a list of entries, each starting with '- ', but it is a mapping (keys "
                        f"{', '.join(sorted(map(str, raw)))}): put '- ' before its first key ('- name: ...')")
        return []
    if not isinstance(raw, list):
        mistakes.append(f"{key} must be a list of entries ('- name: ...'), got {raw!r}")
        return []
    good = []
    for index, entry in enumerate(raw):
        where = f"{key}[{index}]"
        if not isinstance(entry, Mapping):
            mistakes.append(f"{where} must be a mapping of keys ('name: ...', 'bucket: ...'), got {entry!r}")
            continue
        if entry.get("name"):
            where += f" ({entry['name']})"
        kind = None if None in rules else entry.get("kind")
        if kind not in rules:
            mistakes.append(f"{where}: kind must be one of {', '.join(sorted(rules))}, got {kind!r}")
            continue
        allowed, required = rules[kind]
        problems = [_unknown_key(str(name), allowed) for name in entry if name not in allowed]
        problems += [f"missing {name}" for name in required if not entry.get(name)]
        mistakes.extend(f"{where}: {problem}" for problem in problems)
        if not problems:
            good.append(dict(entry))
    return good


def _unknown_key(name: str, allowed: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{name}'{guess}; allowed: {', '.join(sorted(allowed))}"


config = pulumi.Config()
project: str = pulumi.Config("gcp").require("project")
location = config.get("location") or "us-central1"
dataset_name = config.require("dataset")
store_name = config.require("store")
keep_store = config.get_bool("keep_store_on_destroy")
keep_store = True if keep_store is None else keep_store
global_triggers = list(config.get_object("triggers") or [])
api_version = config.get("api_version")
api_endpoint = config.get("api_endpoint")
job_provider = config.get("job_provider") or "dynamic"
# Every mistake in the stack's config at once, one line each, before any resource: a RunError is
# reported by the Python language host as its message alone, without a traceback (docs/offline-engine.md).
mistakes: list[str] = []
if job_provider not in ("plugin", "dynamic"):
    mistakes.append(f"{pulumi.get_project()}:job_provider must be 'plugin' or 'dynamic', got {job_provider!r}")
imports_cfg = _entries("imports", IMPORT_RULES, mistakes)
exports_cfg = _entries("exports", EXPORT_RULES, mistakes)
names = [e["name"] for e in imports_cfg + exports_cfg]
duplicates = sorted({n for n in names if names.count(n) > 1})
if duplicates:
    mistakes.append(f"job names must be unique across {pulumi.get_project()}:imports and exports: "
                    f"{', '.join(duplicates)}")
if mistakes:
    where = f"Pulumi.{pulumi.get_stack()}.yaml (Pulumi.example.yaml shows every key)"
    raise pulumi.RunError(f"config mistake in {where}: {mistakes[0]}" if len(mistakes) == 1 else
                          "\n".join([f"{len(mistakes)} config mistakes in {where}:", *mistakes]))

# --- The Healthcare API and its service agent (a fresh project has neither) ---
healthcare = HealthcareServiceAgent("project", project)

# --- Healthcare dataset and DICOM store -------------------------------------
keep = pulumi.ResourceOptions(retain_on_delete=keep_store, depends_on=[healthcare.api])
hc_dataset = gcp.healthcare.Dataset("healthcare-dataset", name=dataset_name, location=location, project=project, opts=keep)
store = gcp.healthcare.DicomStore("dicom-store", name=store_name, dataset=hc_dataset.id, opts=keep)

# --- Buckets and BigQuery datasets ------------------------------------------
buckets: dict[str, gcp.storage.Bucket] = {}


def _bucket(name: str) -> gcp.storage.Bucket:
    if name not in buckets:
        buckets[name] = gcp.storage.Bucket(
            f"bucket-{name}",
            name=name,
            project=project,
            location=location,
            uniform_bucket_level_access=True,
            force_destroy=False,
        )
    return buckets[name]


for entry in imports_cfg:
    if entry.get("create_bucket", False):
        _bucket(bucket_of(entry["bucket"]))
for entry in exports_cfg:
    if entry["kind"] == "gcs" and entry.get("create_bucket", True):
        _bucket(bucket_of(entry["bucket"]))

bq_datasets: dict[tuple[str, str], gcp.bigquery.Dataset] = {}
for entry in exports_cfg:
    if entry["kind"] == "bigquery" and entry.get("create_dataset", True):
        key = (entry.get("project") or project, entry["dataset"])
        if key not in bq_datasets:
            label = entry["dataset"] if key[0] == project else f"{key[0]}-{entry['dataset']}"
            bq_datasets[key] = gcp.bigquery.Dataset(
                f"bq-{label}",
                dataset_id=entry["dataset"],
                project=key[0],
                location=location,
                delete_contents_on_destroy=False,
            )


def _bucket_deps(uri_or_name: str) -> list[pulumi.Resource]:
    made = buckets.get(bucket_of(uri_or_name))
    return [made] if made is not None else []


def _bucket_input(name: str) -> pulumi.Input[str]:
    made = buckets.get(bucket_of(name))
    return made.name if made is not None else bucket_of(name)


# --- The service agent's grants, each once; the member is the created agent's.
agent = healthcare.member
grants = GrantSet(agent)


def _common(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "max_failed_instances": entry.get("max_failed_instances"),
        "timeout_seconds": entry.get("timeout_seconds"),
        "triggers": [*global_triggers, *(entry.get("triggers") or [])] or None,
        "api_version": api_version,
        "api_endpoint": api_endpoint,
        "service_agent": agent,
        "plugin": job_provider == "plugin",
    }


# --- Imports -----------------------------------------------------------------
imports: dict[str, DicomGcsImport] = {}
for entry in imports_cfg:
    bucket = bucket_of(entry["bucket"])
    imports[entry["name"]] = DicomGcsImport(
        entry["name"],
        dicom_store=store.id,
        bucket=_bucket_input(bucket),
        pattern=entry.get("pattern") or "**.dcm",
        blob_storage_class=entry.get("blob_storage_class"),
        grants=grants.import_source(bucket, depends_on=_bucket_deps(bucket)),
        **_common(entry),
    )

# --- Exports (after every import) ------------------------------------------------
after_imports = pulumi.ResourceOptions(depends_on=list(imports.values()))
exports: dict[str, pulumi.ComponentResource] = {}
destinations: dict[str, pulumi.Output[str]] = {}
for entry in exports_cfg:
    filter_file = entry.get("filter_file")
    filter_grants = grants.filter_file(filter_file, depends_on=_bucket_deps(filter_file)) if filter_file else []
    if entry["kind"] == "gcs":
        bucket = bucket_of(entry["bucket"])
        component = DicomGcsExport(
            entry["name"],
            dicom_store=store.id,
            bucket=_bucket_input(bucket),
            create_bucket=False,
            prefix=entry.get("prefix") or "",
            mime_type=entry.get("mime_type"),
            filter_file=filter_file,
            grants=[*grants.gcs_export(bucket, depends_on=_bucket_deps(bucket)), *filter_grants],
            opts=after_imports,
            **_common(entry),
        )
        destinations[entry["name"]] = component.uri_prefix
    else:
        dest_project = entry.get("project") or project
        made = bq_datasets.get((dest_project, entry["dataset"]))
        component = DicomBigQueryExport(
            entry["name"],
            dicom_store=store.id,
            project=made.project if made is not None else dest_project,
            dataset_id=entry["dataset"],
            table=entry["table"],
            create_dataset=False,
            write_disposition=entry.get("write_disposition"),
            force=entry.get("force"),
            include_source_store=entry.get("include_source_store"),
            schema=entry.get("schema"),
            filter_file=filter_file,
            grants=[
                *grants.bigquery_export(dest_project, entry["dataset"], depends_on=[made] if made is not None else []),
                *filter_grants,
            ],
            opts=after_imports,
            **_common(entry),
        )
        destinations[entry["name"]] = component.table_uri
    exports[entry["name"]] = component


def _summary(component: Any, destination: pulumi.Input[str] | None = None) -> dict[str, Any]:
    summary = {
        "operation_name": component.operation_name,
        "success_count": component.success_count,
        "failure_count": component.failure_count,
        "logs_url": component.logs_url,
    }
    if destination is not None:
        summary["destination"] = destination
    return summary


pulumi.export("dicom_store", store.id)
pulumi.export("service_agent", agent)
pulumi.export("imports", {name: _summary(c, c.source_uri) for name, c in imports.items()})
pulumi.export("exports", {name: _summary(c, destinations[name]) for name, c in exports.items()})
