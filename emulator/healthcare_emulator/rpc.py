"""``google.rpc.Code``: the numbers, their names, and the HTTP statuses that carry them.

Why one module: an operation's ``error.code`` is a ``google.rpc.Code`` number,
an HTTP error's ``status`` is a ``google.rpc.Code`` name, and Google's front
end maps one to the other. The data plane, the operations layer, the state
and the HTTP layer all speak these codes; keeping the table here means each
of them names a code the same way and none of them needs to know HTTP.
"""

from __future__ import annotations

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16

#: ``google.rpc.Code`` number → name.
CODE_NAMES: dict[int, str] = {
    OK: "OK", CANCELLED: "CANCELLED", UNKNOWN: "UNKNOWN", INVALID_ARGUMENT: "INVALID_ARGUMENT",
    DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED", NOT_FOUND: "NOT_FOUND", ALREADY_EXISTS: "ALREADY_EXISTS",
    PERMISSION_DENIED: "PERMISSION_DENIED", RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED",
    FAILED_PRECONDITION: "FAILED_PRECONDITION", ABORTED: "ABORTED", OUT_OF_RANGE: "OUT_OF_RANGE",
    UNIMPLEMENTED: "UNIMPLEMENTED", INTERNAL: "INTERNAL", UNAVAILABLE: "UNAVAILABLE",
    DATA_LOSS: "DATA_LOSS", UNAUTHENTICATED: "UNAUTHENTICATED",
}

#: HTTP status → the ``google.rpc.Code`` Google's front end reports with it.
HTTP_STATUS_CODES: dict[int, int] = {
    400: INVALID_ARGUMENT,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: NOT_FOUND,
    409: ALREADY_EXISTS,
    412: FAILED_PRECONDITION,
    429: RESOURCE_EXHAUSTED,
    499: CANCELLED,
    500: INTERNAL,
    501: UNIMPLEMENTED,
    502: UNAVAILABLE,
    503: UNAVAILABLE,
    504: DEADLINE_EXCEEDED,
}


def status_name(http_status: int) -> str:
    """The ``status`` string of an HTTP error body, e.g. ``NOT_FOUND`` for 404 (``UNKNOWN`` if unmapped)."""
    code = HTTP_STATUS_CODES.get(http_status)
    return CODE_NAMES[code] if code is not None else "UNKNOWN"
