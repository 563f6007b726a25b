"""Requests and answers as handlers see them, and the route tables that pick a handler.

Why apart from :mod:`healthcare_emulator.server`: handlers see a parsed
:class:`Request` and return a :class:`Response` (or raise
:class:`~healthcare_emulator.errors.ApiError`); they never touch sockets, so
the socket-level concerns (auth, faults, dropping connections, the request
log) stay in the server, and the two route tables (the public API in
:mod:`~healthcare_emulator.api_routes`, the test-only admin surface in
:mod:`~healthcare_emulator.admin_routes`) share one matching rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .errors import ApiError, invalid, not_found
from .sysparams import SystemParameters


@dataclass
class Request:
    method: str
    path: str  # URL path, percent-decoded, without the query
    query: dict[str, str]  # the method's own query parameters (system parameters taken out)
    headers: dict[str, str]
    body: bytes = b""
    system: SystemParameters = field(default_factory=SystemParameters)

    def json(self) -> Any:
        """The body as JSON (None when empty); 400 when it does not parse."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise invalid("Invalid JSON payload received. The body is not valid JSON.") from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> "Response":
        return cls(status, json.dumps(value).encode(),
                   {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})

    @classmethod
    def error(cls, error: ApiError, headers: Optional[dict[str, str]] = None) -> "Response":
        return cls.json(error.body(), error.http_status, headers)


Handler = Callable[[Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """One method on one URL pattern; ``byte_stream`` marks answers that are not JSON resources
    (DICOMweb: the API reference types them ``HttpBody``)."""

    method: str
    pattern: re.Pattern
    handler: Handler
    byte_stream: bool = False


def route(method: str, pattern: str, handler: Handler, byte_stream: bool = False) -> Route:
    return Route(method, re.compile(pattern), handler, byte_stream)


def find(table: list[Route], request: Request, path: str) -> tuple[Route, dict[str, str]]:
    """The route for ``request`` whose pattern matches ``path``, and its named groups.

    ``path`` is the request's path below the surface's prefix. 404 naming the
    method when the path exists with other methods only, else 404 naming the
    URL, as Google's front end answers.
    """
    path_matched = False
    for candidate in table:
        match = candidate.pattern.match(path)
        if match:
            path_matched = True
            if candidate.method == request.method:
                return candidate, {k: v for k, v in match.groupdict().items() if v is not None}
    if path_matched:
        raise ApiError(404, f"Method {request.method} is not supported on {request.path}")
    raise not_found(f"The requested URL {request.path} was not found on this server.")
