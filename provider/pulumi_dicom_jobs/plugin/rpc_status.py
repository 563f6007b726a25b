"""What a failed RPC answers the engine: a gRPC status code and the message alone.

Why: the engine shows the status message under ``Diagnostics:`` as it is,
and reads the code (docs/plugin.md cites ``resourceStateAndError`` in
pulumi/pulumi's ``provider_plugin.go``): ``UNKNOWN``, ``INTERNAL`` and
``DATA_LOSS`` mean "the resource's state is unknown", every other code a
well-understood failure. A job that failed is a well-understood failure: it
was not created, and the next ``pulumi up`` creates it again. Only a bug in
the plugin answers ``INTERNAL``. No failure carries an
``ErrorResourceInitFailed`` detail: that would record the job as created,
and the next ``up`` would call ``Update``, which runs no job.
"""

from __future__ import annotations

import sys
import traceback
from typing import Optional

import grpc

from pulumi_dicom_jobs.api.errors import (AmbiguousRequestError, ApiError, CredentialsError,
                                          TransportError)
from pulumi_dicom_jobs.failures import FailureReason, JobFailed

__all__ = ["RpcFailure", "failure_code", "status_of"]

#: The code of each JobFailed reason (every FailureReason); ``OPERATION_ERROR`` prefers the operation's own.
_REASON_CODES = {
    FailureReason.INVALID_INPUT: grpc.StatusCode.INVALID_ARGUMENT,
    FailureReason.START_FAILED: grpc.StatusCode.FAILED_PRECONDITION,
    FailureReason.IN_FLIGHT: grpc.StatusCode.FAILED_PRECONDITION,
    FailureReason.OPERATION_ERROR: grpc.StatusCode.ABORTED,
    FailureReason.TOO_MANY_FAILURES: grpc.StatusCode.ABORTED,
    FailureReason.TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
    FailureReason.CANCELLED: grpc.StatusCode.CANCELLED,
    FailureReason.INTERRUPTED: grpc.StatusCode.CANCELLED,
    FailureReason.VANISHED: grpc.StatusCode.NOT_FOUND,
}
#: Codes the engine reads as "state unknown": never used for a job's own failure.
_UNKNOWN_STATE = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}
_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
_BY_NAME = {code.name: code for code in grpc.StatusCode}


class RpcFailure(Exception):
    """A request the plugin refuses or a job that failed: ``code`` and the whole message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _operation_code(failure: JobFailed) -> Optional[grpc.StatusCode]:
    error = failure.operation.error if failure.operation is not None else None
    number = error.get("code") if error else None
    code = _BY_NUMBER.get(number) if isinstance(number, int) else None
    return None if code is None or code is grpc.StatusCode.OK or code in _UNKNOWN_STATE else code


def _api_code(error: ApiError) -> grpc.StatusCode:
    """The API's own status (Google's error bodies name gRPC codes), else one from the HTTP status."""
    code = _BY_NAME.get(error.status)
    if code is not None and code is not grpc.StatusCode.OK and code not in _UNKNOWN_STATE:
        return code
    return grpc.StatusCode.UNAVAILABLE if error.http_status >= 500 else grpc.StatusCode.FAILED_PRECONDITION


def failure_code(failure: JobFailed) -> grpc.StatusCode:
    """The status code of a job that failed (the operation's own code when it ended with one)."""
    if failure.reason is FailureReason.OPERATION_ERROR:
        return _operation_code(failure) or _REASON_CODES[FailureReason.OPERATION_ERROR]
    return _REASON_CODES[failure.reason]


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """``(code, message)`` for an exception a provider method raised.

    A refusal by the API keeps the API's code (its error bodies name gRPC
    codes); an unreachable API is ``UNAVAILABLE``, missing credentials
    ``UNAUTHENTICATED``. A bug (any other exception) is ``INTERNAL``,
    named by its type; its traceback goes to the plugin's stderr, which the
    engine shows at its debug log level.
    """
    if isinstance(exc, RpcFailure):
        return exc.code, exc.message
    if isinstance(exc, JobFailed):
        return failure_code(exc), str(exc)
    if isinstance(exc, ApiError):
        return _api_code(exc), f"the Cloud Healthcare API refused the call: {exc}"
    if isinstance(exc, (TransportError, AmbiguousRequestError)):
        return grpc.StatusCode.UNAVAILABLE, f"the Cloud Healthcare API could not be reached: {exc}"
    if isinstance(exc, CredentialsError):
        return grpc.StatusCode.UNAUTHENTICATED, str(exc)
    if isinstance(exc, NotImplementedError):
        return grpc.StatusCode.UNIMPLEMENTED, f"dicom-jobs does not implement this call: {exc}"
    traceback.print_exception(exc, file=sys.stderr)
    return grpc.StatusCode.INTERNAL, (f"internal error in the dicom-jobs plugin ({type(exc).__name__}: {exc}); "
                                      "this is a bug, please report it")
