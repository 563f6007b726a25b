"""The ``dicom-jobs`` provider plugin: the Pulumi provider protocol over the shared job lifecycle.

Why a real provider beside the dynamic resources: only a provider process of
its own gets what a long job needs in ``pulumi up``: the engine's address
(progress in the resource's row), ``Cancel`` (Ctrl-C), the request's
``timeout`` (customTimeouts), any language's SDK, and ``pulumi import``. The
decisions are :mod:`pulumi_dicom_jobs.lifecycle`'s, the same as the dynamic
providers'; this class translates the protocol (camelCase ``PropertyValue``
maps, :mod:`pulumi_dicom_jobs.plugin.props`) and runs blocking work off the
event loop.

Why an executor of its own: ``create`` blocks for the whole job (hours).
``asyncio.to_thread`` would use the loop's default executor (a handful of
threads), so the sixth concurrent job would wait for a free thread before
even starting. :data:`WAIT_WORKERS` threads are created on demand; a waiting
job's thread sleeps between polls, so hundreds cost memory, not CPU.

Read: with the recorded state (refresh) it re-reads the operation and
answers the recorded inputs; with the id alone (``pulumi import``, the
``import`` option) the id states what the API cannot tell
(:mod:`pulumi_dicom_jobs.plugin.import_id`) and the answer is the state a
create would have recorded (:func:`pulumi_dicom_jobs.lifecycle.read_imported`).

Failures are raised as :class:`~pulumi_dicom_jobs.plugin.rpc_status.RpcFailure`
(a status code and the whole message); the servicer answers them as such.

Cancel: the engine sends ``Cancel`` once (Ctrl-C, or before shutting the
plugin down). It sets the process-wide :class:`CancelToken`: every waiting
create stops within moments and fails naming its operation, and nothing new
starts (:func:`pulumi_dicom_jobs.jobs.run_job`).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

import grpc
from pulumi.provider.experimental.provider import (CheckFailure, CheckRequest, CheckResponse,
                                                   ConfigureRequest, ConfigureResponse, CreateRequest,
                                                   CreateResponse, DeleteRequest, DiffRequest,
                                                   DiffResponse, GetSchemaRequest, GetSchemaResponse,
                                                   PropertyDiff, PropertyDiffKind, Provider, ReadRequest,
                                                   ReadResponse, UpdateRequest, UpdateResponse)

from pulumi_dicom_jobs import api_facts, lifecycle, settings, spec
from pulumi_dicom_jobs.command_lines import wait_and_cancel_commands, wait_command, with_commands
from pulumi_dicom_jobs.failures import FailureReason, JobFailed
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.plugin import config, import_id, package_schema, props
from pulumi_dicom_jobs.plugin.engine_log import EngineLog, ProgressMessages
from pulumi_dicom_jobs.plugin.rpc_status import RpcFailure, failure_code
from pulumi_dicom_jobs.progress_text import restart_line

__all__ = ["DicomJobsProvider", "WAIT_WORKERS"]

#: Threads for blocking work (job waits, reads): enough for every job of a large stack at once.
WAIT_WORKERS = 1024
_T = TypeVar("_T")
_JOBS = {package_schema.token(job.name): job for job in spec.JOBS}
_OUTPUT_CAMEL = [props.TOP_CAMEL[name] for name in lifecycle.OUTPUT_KEYS]


class DicomJobsProvider(Provider):
    """Serves ``dicom-jobs:index:DicomImportJob`` and ``dicom-jobs:index:DicomExportJob``."""

    def __init__(self, engine_address: Optional[str] = None, *, workers: int = WAIT_WORKERS) -> None:
        self.log = EngineLog(engine_address)
        self.cancel_token = CancelToken()
        self.config = config.ProviderConfig()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dicom-job")

    async def _blocking(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @staticmethod
    def _job(type_token: str) -> spec.JobSpec:
        try:  # a component's child has its parents' types before a "$" (its URN's type chain)
            return _JOBS[type_token.rsplit("$", 1)[-1]]
        except KeyError:
            raise RpcFailure(grpc.StatusCode.INVALID_ARGUMENT,
                             f"dicom-jobs serves {', '.join(sorted(_JOBS))}, not {type_token}") from None

    # -- the package and its configuration ----------------------------------
    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(schema=package_schema.schema_json())

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        values = props.plain_map(request.new_inputs)
        failures = [CheckFailure(name, reason) for name, reason in config.check(values)]
        return CheckResponse(inputs=request.new_inputs, failures=failures)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        values: dict[str, Any] = {key.rsplit(":", 1)[-1]: value for key, value in request.variables.items()}
        values.update(props.plain_map(request.args))
        self.config = config.resolve(values)
        if self.config.impersonate_service_account:
            # One plugin process serves one provider configuration; the API
            # layer reads the account from the environment at call time.
            os.environ[settings.IMPERSONATE_ENV] = self.config.impersonate_service_account
        return ConfigureResponse(accept_secrets=True, supports_preview=False, accept_resources=False)

    # -- offline steps --------------------------------------------------------
    async def check(self, request: CheckRequest) -> CheckResponse:
        job = self._job(request.type)
        failures = lifecycle.check(job, props.to_snake(request.new_inputs))
        return CheckResponse(inputs=request.new_inputs,
                             failures=[CheckFailure(props.camel_path(path), reason) for path, reason in failures])

    async def diff(self, request: DiffRequest) -> DiffResponse:
        job = self._job(request.type)
        replaces, updates = lifecycle.diff(job, props.to_snake(request.old_state),
                                           props.to_snake(request.new_inputs))
        detailed = {props.TOP_CAMEL[k]: PropertyDiff(PropertyDiffKind.UPDATE_REPLACE, True) for k in replaces}
        detailed.update({props.TOP_CAMEL[k]: PropertyDiff(PropertyDiffKind.UPDATE, True) for k in updates})
        return DiffResponse(changes=bool(detailed), replaces=[props.TOP_CAMEL[k] for k in replaces],
                            stables=[] if replaces else list(_OUTPUT_CAMEL), delete_before_replace=False,
                            diffs=list(detailed), detailed_diff=detailed)

    # -- the job ------------------------------------------------------------
    def _create_options(self, urn: str, timeout: float) -> lifecycle.CreateOptions:
        return lifecycle.CreateOptions(api_endpoint=self.config.api_endpoint,
                                       timeout_seconds=timeout if timeout and timeout > 0 else None,
                                       on_progress=ProgressMessages(self.log, urn),
                                       on_restarted=lambda kind, name: self.log.warning(
                                           urn, restart_line(kind, name)),
                                       cancel=self.cancel_token,
                                       cancel_on_interrupt=self.config.cancel_on_interrupt)

    def _failure_text(self, job: spec.JobSpec, failure: JobFailed, inputs: dict[str, Any],
                      secrets: frozenset[str] = frozenset()) -> str:
        """The failure's message, with the commands that resume or clear what it left running.

        A secret input never reaches the message: the import id it suggests leaves it out, and says so.
        """
        api_version = inputs.get("api_version") or api_facts.DEFAULT_API_VERSION
        text = str(with_commands(failure, api_version))  # a JobInFlight: the commands, and no operation
        running = failure.operation.name if failure.operation is not None else None
        if failure.reason is FailureReason.INTERRUPTED and not self.config.cancel_on_interrupt and running:
            wait, cancel = wait_and_cancel_commands(running, api_version)
            stated = {key: value for key, value in inputs.items() if key not in secrets}
            left_out = sorted(props.TOP_CAMEL.get(key, key) for key in secrets if inputs.get(key) is not None)
            text += (f"\nTo resume: `{wait}` waits for it to finish; then record it in the stack with "
                     f"`pulumi import {package_schema.token(job.name)} NAME "
                     f"'{import_id.format_id(job, running, stated)}'`"
                     + (f" (add the secret {', '.join(left_out)} to that id)" if left_out else "")
                     + f". Or stop it: `{cancel}`.")
        elif failure.reason is FailureReason.IN_FLIGHT and running:
            text += f"\n`{wait_command(running, api_version)}` waits for it to finish."
        return text

    async def create(self, request: CreateRequest) -> CreateResponse:
        job = self._job(request.type)
        inputs = props.to_snake(request.properties)
        secrets = props.secret_keys(request.properties)
        if request.preview:
            return CreateResponse(properties=request.properties)
        try:
            id_, outs = await self._blocking(lifecycle.create, job, inputs,
                                             self._create_options(request.urn, request.timeout))
        except JobFailed as failure:
            raise RpcFailure(failure_code(failure), self._failure_text(job, failure, inputs, secrets)) from None
        return CreateResponse(resource_id=id_, properties=props.to_wire(outs, secrets))

    async def read(self, request: ReadRequest) -> ReadResponse:
        """Refresh (the recorded state and inputs come with the request) or import (the id alone)."""
        job = self._job(request.type)
        if not request.properties and not request.inputs:
            return await self._read_for_import(job, request.resource_id)
        state = props.to_snake(request.properties)
        outs = await self._blocking(lifecycle.read, job, request.resource_id, state, self.config.api_endpoint)
        secrets = props.secret_keys(request.properties) | props.secret_keys(request.inputs)
        # the engine records the inputs Read answers: the recorded ones, never fewer
        recorded = props.to_snake(request.inputs)
        inputs = lifecycle.user_inputs(recorded or outs, job.input_names)
        return ReadResponse(resource_id=request.resource_id, properties=props.to_wire(outs, secrets),
                            inputs=props.to_wire(inputs, secrets))

    async def _read_for_import(self, job: spec.JobSpec, id_: str) -> ReadResponse:
        try:
            wanted = import_id.parse(job, id_)
        except ValueError as exc:
            raise RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        try:
            outs = await self._blocking(lifecycle.read_imported, job, wanted.operation, wanted.inputs,
                                        self.config.api_endpoint)
        except JobFailed as failure:
            raise RpcFailure(failure_code(failure), self._failure_text(job, failure, wanted.inputs)) from None
        inputs = lifecycle.user_inputs(outs, job.input_names)
        return ReadResponse(resource_id=wanted.operation, properties=props.to_wire(outs),
                            inputs=props.to_wire(inputs))

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        job = self._job(request.type)
        outs = lifecycle.update(job, props.to_snake(request.olds), props.to_snake(request.news))
        return UpdateResponse(properties=props.to_wire(outs, props.secret_keys(request.news)))

    async def delete(self, request: DeleteRequest) -> None:
        """Forget the job: imported instances and exported objects or rows are data, not the job."""
        self._job(request.type)

    async def cancel(self) -> None:
        """Ctrl-C: every waiting create stops (see the module docstring)."""
        self.cancel_token.cancel()
