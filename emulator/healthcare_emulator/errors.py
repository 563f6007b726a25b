"""Google API errors as the emulator raises and renders them.

One exception type, :class:`ApiError`, carries the HTTP status, the
``google.rpc.Code`` name (from :mod:`healthcare_emulator.rpc`) and a message;
the HTTP layer renders it in Google's JSON error shape, so the state, IAM and
schema modules can fail precisely without knowing anything about HTTP.
"""

from __future__ import annotations

from typing import Optional

from .rpc import status_name


class ApiError(Exception):
    """A request the emulator answers with a Google JSON error."""

    def __init__(self, http_status: int, message: str, status: Optional[str] = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.status = status or status_name(http_status)

    def body(self) -> dict:
        """``{"error": {"code", "message", "status"}}`` as Google sends it."""
        return {"error": {"code": self.http_status, "message": self.message, "status": self.status}}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def already_exists(message: str) -> ApiError:
    return ApiError(409, message)
