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

What each step does is decided in :mod:`pulumi_dicom_jobs.lifecycle`, shared
with the provider plugin; this module adapts it to the dynamic provider API.

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

from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, \
    ResourceProvider, UpdateResult

from pulumi_dicom_jobs import api_facts, lifecycle, spec
from pulumi_dicom_jobs.command_lines import with_commands
from pulumi_dicom_jobs.dynamic import hostpool
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.lifecycle import OUTPUT_KEYS

__all__ = ["DicomImportJobProvider", "DicomExportJobProvider"]


class _DicomJobProvider(ResourceProvider):
    """Shared lifecycle; subclasses set the job kind."""

    job_spec: spec.JobSpec = spec.IMPORT_JOB
    #: The serialized provider (a class reference, no attributes) holds no
    #: secret, so the SDK need not wrap it, and every job's state, as a
    #: secret (pulumi/pulumi#15538): the state stays readable.
    serialize_as_secret_always = False

    # -- offline --------------------------------------------------------
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        hostpool.widen_on_first_call()
        failures = lifecycle.check(self.job_spec, news)
        return CheckResult(news, [CheckFailure(path, reason) for path, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        hostpool.widen_on_first_call()
        replaces, updates = lifecycle.diff(self.job_spec, olds, news)
        return DiffResult(changes=bool(replaces or updates), replaces=replaces,
                          stables=None if replaces else list(OUTPUT_KEYS),
                          delete_before_replace=False)

    # -- online ---------------------------------------------------------
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
            id_, outs = lifecycle.create(self.job_spec, props)
        except JobFailed as failure:
            failure = with_commands(failure, props.get("api_version") or api_facts.DEFAULT_API_VERSION)
            raise failure.with_traceback(None) from None
        return CreateResult(id_=id_, outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        hostpool.widen_on_first_call()
        return ReadResult(id_, lifecycle.read(self.job_spec, id_, props))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        hostpool.widen_on_first_call()
        return UpdateResult(lifecycle.update(self.job_spec, olds, news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Forget the job; the imported or exported data stay (module docstring says why)."""
        hostpool.widen_on_first_call()
        return None


class DicomImportJobProvider(_DicomJobProvider):
    """``dicomStores.import`` from Cloud Storage."""

    job_spec = spec.IMPORT_JOB


class DicomExportJobProvider(_DicomJobProvider):
    """``dicomStores.export`` to Cloud Storage or BigQuery."""

    job_spec = spec.EXPORT_JOB
