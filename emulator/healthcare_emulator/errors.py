"""Google API errors as the emulator raises and renders them.

One exception type, :class:`ApiError`, carries the HTTP status, the
``google.rpc.Code`` name and a message; the HTTP layer renders it in Google's
JSON error shape. Keeping the status table here means the state, IAM and
schema modules can fail precisely without knowing anything about HTTP.
"""

from __future__ import annotations

from typing import Optional

#: HTTP status → ``google.rpc.Code`` name, as Google's front end maps them.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

#: ``google.rpc.Code`` numbers → names, for operation errors.
RPC_CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

INTERNAL = 13
ABORTED = 10


class ApiError(Exception):
    """A request the emulator answers with a Google JSON error."""

    def __init__(self, http_status: int, message: str, status: Optional[str] = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.status = status or STATUS_NAMES.get(http_status, "UNKNOWN")

    def body(self) -> dict:
        """``{"error": {"code", "message", "status"}}`` as Google sends it."""
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def already_exists(message: str) -> ApiError:
    return ApiError(409, message)
