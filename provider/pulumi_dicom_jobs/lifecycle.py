"""What each step of a job resource does, shared by every face that serves one.

Why here: the dynamic providers (:mod:`pulumi_dicom_jobs.dynamic.providers`)
and the provider plugin (:mod:`pulumi_dicom_jobs.plugin.provider`) must
behave the same (same check messages, same replace/update split, same body,
same waiter, same outputs). Each face only translates its protocol to and
from the snake_case property dicts these functions take; the decisions are
made once, here. Property paths and keys are the spec's snake_case names.
The ``dicom-jobs`` CLI checks its flags and builds its request with the same
:func:`check` and :func:`job_request`.

* :func:`check`   offline validation; never raises, no network.
* :func:`job_request` what checked inputs start: the kind, the store, the body.
* :func:`diff`    which inputs replace the job (a new operation) and whether
  an in-place setting changed; an unknown value counts as a change.
* :func:`create`  starts the job and waits (:func:`pulumi_dicom_jobs.jobs.run_job`).
* :func:`read`    re-reads the operation; a forgotten one (404) keeps the state.
* :func:`read_imported` what ``pulumi import`` records: an ended operation of the
  job's kind that passes the job's verdict, with the inputs the import states.
* :func:`update`  records the new settings; no API call.
* delete          forgets the job and touches no data (nothing to share).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from collections.abc import Mapping  # not typing.Mapping: isinstance on it is several times slower
from typing import Any, Callable, NamedTuple, Optional

from pulumi_dicom_jobs import api_facts, jobs, names, request_body, spec, validation
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.failures import FailureReason, JobFailed, OperationNotFound
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.targets import JobTargets

__all__ = ["OUTPUT_KEYS", "CreateOptions", "JobRequest", "normalize", "user_inputs", "operation_outputs",
           "check", "job_request", "diff", "create", "read", "read_imported", "update", "is_export", "adopted",
           "client_for"]

#: Output-only properties (besides the inputs) of both resources.
OUTPUT_KEYS = tuple(item.name for item in spec.OUTPUTS)


@dataclass(frozen=True)
class CreateOptions:
    """How a face wants a create to run, beyond the resource's own inputs.

    ``api_endpoint`` is the provider's default endpoint (the resource's own
    ``api_endpoint`` wins); ``timeout_seconds`` an extra cap on the wait (the
    engine's customTimeouts; the smaller of it and the input wins);
    ``cancel`` stops the wait (Ctrl-C), cancelling the operation unless
    ``cancel_on_interrupt`` is false. ``on_restarted`` gets the job's kind and the
    new operation's name each time the job is started again while IAM grants
    propagate (a face says so: :func:`~pulumi_dicom_jobs.progress_text.restart_line`).
    """

    api_endpoint: Optional[str] = None
    timeout_seconds: Optional[float] = None
    on_progress: Optional[Callable[[OperationStatus], None]] = None
    on_restarted: Optional[Callable[[JobKind, str], None]] = None
    cancel: Optional[CancelToken] = None
    cancel_on_interrupt: bool = True


def is_export(job_spec: spec.JobSpec) -> bool:
    return job_spec is spec.EXPORT_JOB


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


def check(job_spec: spec.JobSpec, props: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(property path, reason)`` for every problem; never raises."""
    try:
        return (validation.check_export if is_export(job_spec) else validation.check_import)(dict(props))
    except Exception as exc:  # check must never raise
        return [("", f"inputs could not be checked: {type(exc).__name__}")]


class JobRequest(NamedTuple):
    """What starting a job sends: its kind (the API call and the operation's method), the
    store, and the request body."""

    kind: JobKind
    dicom_store: str
    body: dict[str, Any]


def job_request(job_spec: spec.JobSpec, inputs: Mapping[str, Any]) -> JobRequest:
    """The request of inputs that passed :func:`check`."""
    export = is_export(job_spec)
    body = (request_body.build_export_body if export else request_body.build_import_body)(dict(inputs))
    return JobRequest(JobKind.of_request(export, body), inputs["dicom_store"], body)


def adopted(job_spec: spec.JobSpec, olds: Mapping[str, Any]) -> bool:
    """True for the state of a job imported by its operation's name alone (by an earlier plugin,
    before import ids stated the job's inputs: :func:`read_imported`).

    Reading an operation gives its outputs only: the API does not say which
    store or source it ran on. Such a state has an operation and none of the
    inputs that would replace the job; the program's inputs describe that
    job, so they are taken as they are instead of starting it again. Imports
    today record the inputs, so their state is never this.
    """
    return bool(olds.get("operation_name")) and all(olds.get(k) is None for k in job_spec.replace_names)


def diff(job_spec: spec.JobSpec, olds: Mapping[str, Any], news: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(inputs whose change replaces the job, in-place settings that changed)``.

    An unknown value counts as a change; an imported job (:func:`adopted`)
    has none.
    """
    if adopted(job_spec, olds):
        return [], []
    replaces, updates = [], []
    for key in job_spec.replace_names:
        new = news.get(key)
        if validation.contains_unknown(new) or normalize(olds.get(key)) != normalize(new):
            replaces.append(key)
    for key, default in spec.defaults(job_spec).items():
        new = news.get(key)
        if validation.contains_unknown(new):
            updates.append(key)
            continue
        old_value = olds.get(key) if olds.get(key) is not None else default
        new_value = new if new is not None else default
        if normalize(old_value) != normalize(new_value):
            updates.append(key)
    return replaces, updates


def client_for(props: Mapping[str, Any], default_endpoint: Optional[str] = None) -> HealthcareClient:
    """The API client a resource's inputs ask for (its endpoint, else the face's default)."""
    return HealthcareClient(props.get("api_endpoint") or default_endpoint,
                            props.get("api_version") or api_facts.DEFAULT_API_VERSION)


def _checked_request(job_spec: spec.JobSpec, props: Mapping[str, Any]) -> tuple[dict[str, Any], JobRequest]:
    """``(inputs, request)`` of valid ``props``; invalid ones raise JobFailed."""
    failures = check(job_spec, props)
    if failures:
        raise JobFailed(FailureReason.INVALID_INPUT, "invalid inputs: " + "; ".join(
            f"{path}: {reason}" for path, reason in failures))
    inputs = user_inputs(props, job_spec.input_names)
    return inputs, job_request(job_spec, inputs)


def create(job_spec: spec.JobSpec, props: Mapping[str, Any],
           options: CreateOptions = CreateOptions()) -> tuple[str, dict[str, Any]]:
    """Start the job and wait for it: ``(id, outputs)``; a failure raises JobFailed."""
    inputs, request = _checked_request(job_spec, props)
    timeout = float(inputs.get("timeout_seconds") or spec.DEFAULT_TIMEOUT_SECONDS)
    if options.timeout_seconds:
        timeout = min(timeout, options.timeout_seconds)
    with client_for(inputs, options.api_endpoint) as client:
        status = jobs.run_job(
            client, request.kind, request.dicom_store, request.body, timeout_seconds=timeout,
            max_failed_instances=_int(inputs.get("max_failed_instances"), 0),
            on_progress=options.on_progress, cancel=options.cancel,
            cancel_on_interrupt=options.cancel_on_interrupt,
            on_restarted=None if options.on_restarted is None else partial(options.on_restarted, request.kind))
    return status.name, {**inputs, **operation_outputs(status)}


def read(job_spec: spec.JobSpec, id_: str, props: Mapping[str, Any],
         default_endpoint: Optional[str] = None) -> dict[str, Any]:
    """The resource's state now: the inputs, and the operation's outputs re-read.

    If the API forgot the operation (404: operations expire) the recorded
    outputs are kept: the job's data are still there.
    """
    inputs = user_inputs(props, job_spec.input_names)
    recorded = {k: props[k] for k in OUTPUT_KEYS if props.get(k) is not None}
    with client_for(props, default_endpoint) as client:
        try:
            status = jobs.get_operation(client, id_)
        except OperationNotFound:
            return {**inputs, **recorded}
    return {**inputs, **operation_outputs(status)}


def read_imported(job_spec: spec.JobSpec, operation: str, props: Mapping[str, Any],
                  default_endpoint: Optional[str] = None) -> dict[str, Any]:
    """The state ``pulumi import`` records for ``operation``, run as the job ``props`` describe.

    The API does not say which store an operation ran on nor what it read or
    wrote: ``props`` say it, and are checked as a create's are. The operation
    must be in the store's dataset, of the job's kind, ended, and pass the
    job's verdict (a create that ended so would have failed, and a failed job
    is not recorded). A forgotten operation raises OperationNotFound.
    """
    inputs, request = _checked_request(job_spec, props)
    kind = request.kind
    if names.dataset_of(inputs["dicom_store"]) != names.dataset_of(operation):
        raise JobFailed(FailureReason.INVALID_INPUT, f"operation {operation} is not in the dataset of the "
                                                     f"DICOM store {inputs['dicom_store']}")
    with client_for(inputs, default_endpoint) as client:
        status = jobs.get_operation(client, operation)
    ran = JobKind.of_method_name(status.api_method_name)
    if ran is not None and ran is not kind:
        raise JobFailed(FailureReason.INVALID_INPUT,
                        f"operation {operation} ran a DICOM {ran.noun} job ({status.api_method_name}), "
                        f"not the {kind.noun} these inputs describe")
    if not status.done:
        raise JobFailed(FailureReason.IN_FLIGHT, f"operation {operation} is still running ({status.processed} "
                                                 f"instances done so far): a job is recorded once it has ended",
                        status)
    jobs.judge(status, _int(inputs.get("max_failed_instances"), 0), JobTargets.of_request(kind, request.body))
    return {**inputs, **operation_outputs(status)}


def update(job_spec: spec.JobSpec, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
    """The new settings with the recorded outputs; no API call."""
    recorded = {k: olds[k] for k in OUTPUT_KEYS if olds.get(k) is not None}
    return {**user_inputs(news, job_spec.input_names), **recorded}


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
