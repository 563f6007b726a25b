"""The dynamic providers behind :class:`DicomImportJob` and :class:`DicomExportJob`.

Why so small: the Pulumi SDK pickles the provider object into every
resource's state. A class defined in this installed module is pickled by
reference (a few dozen bytes, no code), so the dynamic provider host imports
this same module in a fresh process. The instances hold no attributes at all:
HTTP sessions and credentials are created per call (see
:mod:`pulumi_dicom_jobs.api.auth`) and never persisted.

Lifecycle (one job = one long-running operation; id = operation name):

Every method first lets the dynamic provider host run many of them at once
(:func:`hostpool.widen_on_first_call`: its stock pool is 4 threads, and a
``create`` holds one for its whole wait). That happens on the first call, not
at import, so importing this module changes nothing; the first RPC of a
``pulumi up`` (a ``check``) reaches it before any ``create`` waits.

* ``check``  offline validation (:mod:`validation`); never raises, no network.
* ``diff``   what the job imports/exports, its API version/endpoint excluded,
  and ``triggers`` replace (a new operation runs); ``timeout_seconds``,
  ``max_failed_instances``, ``api_version`` and ``api_endpoint`` update in
  place without re-running anything.
* ``create`` starts the job and waits (:func:`pulumi_dicom_jobs.jobs.run_job`).
* ``read``   re-reads the operation; if the API forgot it (404, operations
  expire) the recorded state is kept: the job's data are still there.
* ``update`` records the new settings; no API call.
* ``delete`` only forgets the job. Imported instances and exported objects
  or rows are data, not the job: deleting them on ``pulumi destroy`` (or on a
  replace) would silently destroy data the user may depend on, and the API
  has no "undo import". Manage the store, bucket or table themselves for that.
"""

from __future__ import annotations

from typing import Any, Mapping

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, \
    ResourceProvider, UpdateResult

from pulumi_dicom_jobs import apischema, jobs, requests_body, spec, validation
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.cli.hints import wait_and_cancel_commands
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight, OperationNotFound
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.dynamic import hostpool

#: Output-only properties (besides the inputs) of both resources.
OUTPUT_KEYS = tuple(item.name for item in spec.OUTPUTS)


def normalize(value: Any) -> Any:
    """Comparable form: no None entries, whole floats as ints (the wire sends doubles)."""
    if isinstance(value, Mapping):
        return {k: normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def user_inputs(props: Mapping[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """The user's inputs among ``props`` (drops outputs, ``__provider``, None)."""
    return {k: v for k, v in props.items() if k in keys and v is not None}


def _int(value: Any, default: int) -> int:
    return default if value is None else int(value)


class _DicomJobProvider(ResourceProvider):
    """Shared lifecycle; subclasses set the job kind."""

    export: bool = False
    job_spec: spec.JobSpec = spec.IMPORT_JOB

    # -- offline --------------------------------------------------------
    def _check(self, props: dict) -> list[tuple[str, str]]:
        return (validation.check_export if self.export else validation.check_import)(props)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        hostpool.widen_on_first_call()
        try:
            failures = self._check(news)
        except Exception as exc:  # check must never raise
            failures = [("", f"inputs could not be checked: {type(exc).__name__}")]
        return CheckResult(news, [CheckFailure(path, reason) for path, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        hostpool.widen_on_first_call()
        replaces, changed = [], False
        for key in self.job_spec.replace_names:
            new = news.get(key)
            if validation.contains_unknown(new) or normalize(olds.get(key)) != normalize(new):
                replaces.append(key)
        for key, default in spec.defaults(self.job_spec).items():
            new = news.get(key)
            if validation.contains_unknown(new):
                changed = True
                continue
            old_value = olds.get(key) if olds.get(key) is not None else default
            new_value = new if new is not None else default
            if normalize(old_value) != normalize(new_value):
                changed = True
        return DiffResult(changes=bool(replaces) or changed, replaces=replaces,
                          stables=None if replaces else list(OUTPUT_KEYS),
                          delete_before_replace=False)

    # -- online ---------------------------------------------------------
    def _client(self, props: Mapping[str, Any]) -> HealthcareClient:
        return HealthcareClient(props.get("api_endpoint"),
                                props.get("api_version") or apischema.DEFAULT_API_VERSION)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Start the job and wait for it; a failure raises JobFailed with the whole story.

        The SDK's provider host sends the engine the formatted traceback of
        whatever ``create`` raises, and ``pulumi up`` prints it. The runner's
        frames add nothing to a JobFailed message, so they are cut: the user
        sees the host's two frames, this one, and the message. A job not
        started because an older one runs names the commands that wait for or
        cancel that one.
        """
        hostpool.widen_on_first_call()
        try:
            return self._create(props)
        except JobFailed as failure:
            if isinstance(failure, JobInFlight):
                api_version = props.get("api_version") or apischema.DEFAULT_API_VERSION
                failure = failure.with_commands(*wait_and_cancel_commands(failure.operation_ref, api_version))
            raise failure.with_traceback(None) from None

    def _create(self, props: dict[str, Any]) -> CreateResult:
        failures = self._check(props)
        if failures:
            raise JobFailed("invalid_input", "invalid inputs: " + "; ".join(
                f"{path}: {reason}" for path, reason in failures))
        inputs = user_inputs(props, self.job_spec.input_names)
        body = (requests_body.build_export_body if self.export else requests_body.build_import_body)(inputs)
        with self._client(props) as client:
            status = jobs.run_job(
                client, inputs["dicom_store"], body, export=self.export,
                timeout_seconds=float(inputs.get("timeout_seconds") or jobs.DEFAULT_TIMEOUT_SECONDS),
                max_failed_instances=_int(inputs.get("max_failed_instances"), 0))
        return CreateResult(id_=status.name, outs={**inputs, **operation_outputs(status)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        hostpool.widen_on_first_call()
        inputs = user_inputs(props, self.job_spec.input_names)
        recorded = {k: props[k] for k in OUTPUT_KEYS if props.get(k) is not None}
        with self._client(props) as client:
            try:
                status = jobs.get_operation(client, id_)
            except OperationNotFound:
                return ReadResult(id_, {**inputs, **recorded})
        return ReadResult(id_, {**inputs, **operation_outputs(status)})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        hostpool.widen_on_first_call()
        recorded = {k: olds[k] for k in OUTPUT_KEYS if olds.get(k) is not None}
        return UpdateResult({**user_inputs(news, self.job_spec.input_names), **recorded})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Forget the job; the imported or exported data stay (module docstring says why)."""
        hostpool.widen_on_first_call()
        return None


def operation_outputs(status: OperationStatus) -> dict[str, Any]:
    """The resources' output properties for an operation snapshot."""
    return {
        "operation_name": status.name,
        "success_count": status.success,
        "failure_count": status.failure,
        "logs_url": status.logs_url,
        "create_time": status.create_time,
        "end_time": status.end_time,
        "api_method_name": status.api_method_name,
    }


class DicomImportJobProvider(_DicomJobProvider):
    """``dicomStores.import`` from Cloud Storage."""

    export = False
    job_spec = spec.IMPORT_JOB


class DicomExportJobProvider(_DicomJobProvider):
    """``dicomStores.export`` to Cloud Storage or BigQuery."""

    export = True
    job_spec = spec.EXPORT_JOB
