"""What can go wrong talking to the API, as types.

Why typed errors: callers react to *kinds* of failure (an operation the API
forgot, a refused permission, a server that asks to slow down), and a type
says that once, where ``exc.http_status == 404`` scattered over the callers
would not. :func:`from_http_status` picks the class from the HTTP status (as
google-api-core's ``exceptions.from_http_response`` does), refined by the
Google error body's ``status`` where one HTTP status covers several RPC codes
(400 is INVALID_ARGUMENT, FAILED_PRECONDITION or OUT_OF_RANGE).

Two errors are not answers at all: :class:`TransportError` (the API could
not be reached) and :class:`AmbiguousRequestError` (a non-idempotent request
may or may not have been processed; see :mod:`pulumi_dicom_jobs.api.transport`).
:class:`CredentialsError` says no request could be sent at all, for want of
usable Google credentials; its text says how to get some.

All four derive from :class:`HealthcareApiError`, so a caller that treats
every way a call can fail alike (the CLI's "API problem", exit 6) names one
class; a caller that tells them apart still catches each by its own.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "HealthcareApiError",
    "ApiError", "InvalidArgument", "FailedPrecondition", "OutOfRange", "Unauthenticated",
    "PermissionDenied", "NotFound", "Conflict", "TooManyRequests", "InternalServerError",
    "MethodNotImplemented", "BadGateway", "ServiceUnavailable", "GatewayTimeout",
    "from_http_status", "TransportError", "AmbiguousRequestError", "CredentialsError",
    "NoCredentials", "HOW_TO_GET_CREDENTIALS",
]


class HealthcareApiError(Exception):
    """Anything the API layer raises: a call that failed, or could not be sent at all."""


class ApiError(HealthcareApiError):
    """The API answered with an error (after any retries).

    ``http_status``: the HTTP status; ``status``: the Google error body's
    status (``NOT_FOUND``...) or the HTTP reason; ``message``: the API's text;
    ``retry_after``: seconds from a ``Retry-After`` header, if any.
    """

    #: The HTTP status a subclass stands for (None: any).
    code: Optional[int] = None

    def __init__(self, http_status: int, status: str, message: str,
                 retry_after: Optional[float] = None, method: str = "", path: str = "") -> None:
        super().__init__(f"HTTP {http_status} {status}: {message}" + (f" ({method} {path})" if method else ""))
        self.http_status = http_status
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.method = method
        self.path = path


class InvalidArgument(ApiError):
    """400: the request is malformed (INVALID_ARGUMENT)."""

    code = 400


class FailedPrecondition(InvalidArgument):
    """400 FAILED_PRECONDITION: the system is not in a state the call needs."""


class OutOfRange(InvalidArgument):
    """400 OUT_OF_RANGE."""


class Unauthenticated(ApiError):
    """401: no valid credentials."""

    code = 401


class PermissionDenied(ApiError):
    """403: the caller may not do this."""

    code = 403


class NotFound(ApiError):
    """404: the resource (a store, an operation) is not known to the API."""

    code = 404


class Conflict(ApiError):
    """409: ALREADY_EXISTS or ABORTED."""

    code = 409


class TooManyRequests(ApiError):
    """429: RESOURCE_EXHAUSTED; the server did not act on the request."""

    code = 429


class InternalServerError(ApiError):
    """500: INTERNAL or UNKNOWN."""

    code = 500


class MethodNotImplemented(ApiError):
    """501: UNIMPLEMENTED."""

    code = 501


class BadGateway(ApiError):
    """502."""

    code = 502


class ServiceUnavailable(ApiError):
    """503: UNAVAILABLE; the server did not act on the request."""

    code = 503


class GatewayTimeout(ApiError):
    """504: DEADLINE_EXCEEDED; nobody answered in time."""

    code = 504


_BY_HTTP_STATUS: dict[int, type[ApiError]] = {
    cls.code: cls for cls in (InvalidArgument, Unauthenticated, PermissionDenied, NotFound, Conflict,
                              TooManyRequests, InternalServerError, MethodNotImplemented, BadGateway,
                              ServiceUnavailable, GatewayTimeout) if cls.code is not None}
_BY_400_STATUS: dict[str, type[ApiError]] = {
    "FAILED_PRECONDITION": FailedPrecondition, "OUT_OF_RANGE": OutOfRange}


def from_http_status(http_status: int, status: str, message: str, retry_after: Optional[float] = None,
                     method: str = "", path: str = "") -> ApiError:
    """The :class:`ApiError` subclass for ``http_status`` (and ``status``), else ApiError itself."""
    cls = _BY_HTTP_STATUS.get(http_status, ApiError)
    if cls is InvalidArgument:
        cls = _BY_400_STATUS.get(status, InvalidArgument)
    return cls(http_status, status, message, retry_after, method, path)


class TransportError(HealthcareApiError):
    """The API could not be reached (after any retries)."""


class AmbiguousRequestError(HealthcareApiError):
    """A non-idempotent request may or may not have been processed.

    ``timed_out``: nobody answered in time (a read timeout, a 504), so the
    server may still be holding the request and process it later; any other
    cause (a reset, a 500) means it was processed by now or never will be.
    """

    def __init__(self, method: str, path: str, cause: BaseException | str, *,
                 timed_out: bool = False) -> None:
        super().__init__(f"{method} {path}: no reliable answer ({cause}); it may have been processed")
        self.method = method
        self.path = path
        self.cause = cause
        self.timed_out = timed_out


#: What a user can do when no Google credentials are found (the faces show it as is).
HOW_TO_GET_CREDENTIALS = (
    "To get credentials: run `gcloud auth application-default login` "
    "(add `--impersonate-service-account=SA_EMAIL` to act as a service account), "
    "or set GOOGLE_OAUTH_ACCESS_TOKEN to an access token (for example the output of "
    "`gcloud auth print-access-token`), or set GOOGLE_APPLICATION_CREDENTIALS to a credentials "
    "file; GOOGLE_IMPERSONATE_SERVICE_ACCOUNT=SA_EMAIL impersonates a service account with any of "
    "these. For the local emulator, set HEALTHCARE_EMULATOR_HOST=HOST:PORT instead.")


class CredentialsError(HealthcareApiError):
    """Google credentials could not produce an access token: nothing was sent."""


class NoCredentials(CredentialsError):
    """No Google credentials at all: no emulator, no access token, no ADC."""

    def __init__(self) -> None:
        super().__init__("no Google credentials found: HEALTHCARE_EMULATOR_HOST and "
                         "GOOGLE_OAUTH_ACCESS_TOKEN are not set and Application Default Credentials "
                         "were not found. " + HOW_TO_GET_CREDENTIALS)
