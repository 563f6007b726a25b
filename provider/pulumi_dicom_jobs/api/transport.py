"""HTTP to the Healthcare API: one session, one retry policy, honest about ambiguity.

Why its own module: retrying is only safe when a request cannot have had an
effect twice. Reads (operations.get/list) and ``:cancel`` are idempotent and
are retried on 429, 500, 502, 503, 504 and connection errors, with
exponential backoff, equal jitter (each pause uniform between half the
delay and the delay), a cap, and ``Retry-After`` honoured. The
starting POST of a job is *not* idempotent: when it may have been processed
(a read timeout, a connection dropped after the request was sent, a 500, 502
or 504) this module raises :class:`AmbiguousRequestError` instead of
retrying, and :mod:`pulumi_dicom_jobs.jobs.starting` reconciles by listing operations. A 429 or 503 is an
explicit "not processed" and a refused connection never reached the server,
so those are retried for POSTs too.

A connection that could not even be opened (refused, unknown host, connect
timeout) means nothing was sent and nothing listens there: it is retried
only ``RetryPolicy.unreachable_attempts`` times (5: at most 7.5 s of pauses),
not the full budget, and the :class:`TransportError` names the endpoint (and,
given an ``origin``, where that address came from).
Each retry is logged on this module's logger (``INFO``) with the endpoint,
the cause and the pause; the CLI shows those lines on stderr.

A 401 refreshes the credentials once per request (expired token), then fails.

HTTP timeouts: (connect, read) = ``settings.DEFAULT_HTTP_TIMEOUT`` (10 s, 60 s) per
request unless the caller passes ``timeout``. The environment variable
``DICOM_JOBS_HTTP_TIMEOUT`` overrides that default: ``READ`` (seconds, e.g.
``120``) or ``CONNECT,READ`` (e.g. ``5,120``). It is read at each request,
so it also reaches the dynamic provider host when set in the environment of
``pulumi up``. A malformed or non-positive value is ignored (logged) and the
default applies.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import requests
import urllib3.exceptions

from pulumi_dicom_jobs import settings
from pulumi_dicom_jobs.api.auth import TokenSource
from pulumi_dicom_jobs.api.errors import AmbiguousRequestError, ApiError, TransportError, from_http_status
from pulumi_dicom_jobs.lro.backoff import Backoff

log = logging.getLogger(__name__)

#: Statuses worth retrying on an idempotent request.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Statuses that say the server did not act on the request (safe for a POST).
NOT_PROCESSED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and a deadline."""

    initial: float = 0.5
    multiplier: float = 2.0
    maximum: float = 30.0
    attempts: int = 8
    deadline: float = 600.0
    #: A server's ``Retry-After`` is followed up to this many seconds.
    max_retry_after: float = 120.0
    #: Attempts when the connection cannot be opened at all (nothing was sent).
    unreachable_attempts: int = 5

    def backoff(self, retry_number: int) -> float:
        """Delay before retry ``retry_number`` (0-based): "equal jitter" in [d/2, d]."""
        return Backoff(self.initial, self.multiplier, self.maximum).equal_jitter(retry_number)


def _retry_after_seconds(response: requests.Response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


def _api_error(response: requests.Response, method: str, path: str) -> ApiError:
    """The typed error of an error answer: the Google error body's ``status`` and ``message``, else
    the HTTP reason and the body's first 500 characters (a proxy's page, say)."""
    status, message = "", response.text[:500]
    try:
        error = response.json()["error"]
        status = error.get("status") or ""
        message = error.get("message") or message
    except (ValueError, LookupError, TypeError, AttributeError):
        pass  # not Google's error body: not JSON, no "error", or not objects
    return from_http_status(response.status_code, status or response.reason or "", message,
                            _retry_after_seconds(response), method, path)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it wraps (args, cause, context, urllib3's ``reason``)."""
    pending: list[Any] = [exc]
    seen: dict[int, BaseException] = {}
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen[id(item)] = item
        pending.extend([*item.args, item.__cause__, item.__context__, getattr(item, "reason", None)])
    return list(seen.values())


def _never_sent(exc: BaseException) -> bool:
    """True when the connection failed before the request could be sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return any(isinstance(item, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError))
               for item in _chain(exc))


def _connection_cause(exc: BaseException, unreachable: bool) -> str:
    """A short name for a connection failure (no URL, no headers: those may hold secrets)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.Timeout):
        return "read timeout"
    chain = _chain(exc)
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "connection refused"
    if any(type(item).__name__ == "NameResolutionError" for item in chain):
        return "host name not found"
    return "connection failed" if unreachable else type(exc).__name__


class Transport:
    """One HTTP session against one API base URL; not shared across threads' calls.

    ``sleep`` is injectable so unit tests can observe delays without waiting.
    ``timeout`` None: :func:`pulumi_dicom_jobs.settings.http_timeout` at each request
    (module docstring).
    """

    def __init__(self, base_url: str, tokens: TokenSource, policy: RetryPolicy | None = None,
                 timeout: tuple[float, float] | None = None,
                 sleep: Callable[[float], None] = time.sleep, origin: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        #: Where ``base_url`` came from, added to the message when nothing answers there.
        self.origin = origin
        self.tokens = tokens
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, idempotent: bool = True) -> dict:
        """Send one logical request; return the decoded JSON body (``{}`` when empty)."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        policy = self.policy
        started = time.monotonic()
        refreshed = False
        retries = 0
        while True:
            try:
                response = self.session.request(
                    method, url, params=params, json=json,
                    timeout=self.timeout if self.timeout is not None else settings.http_timeout(),
                    headers={"Authorization": self.tokens.header(), "Accept": "application/json"})
            except (requests.ConnectionError, requests.Timeout) as exc:
                unreachable = _never_sent(exc)
                if not idempotent and not unreachable:
                    raise AmbiguousRequestError(method, path, type(exc).__name__,
                                                timed_out=isinstance(exc, requests.Timeout)) from None
                failure: BaseException = exc
                delay = policy.backoff(retries)
            else:
                unreachable = False
                if response.status_code == 401 and not refreshed and self.tokens.refreshable:
                    refreshed = True
                    self.tokens.force_refresh()
                    continue
                if response.status_code < 400:
                    try:
                        return response.json() if response.content else {}
                    except ValueError:
                        raise TransportError(f"{method} {path}: the answer is not JSON") from None
                error = _api_error(response, method, path)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
                if not idempotent and response.status_code not in NOT_PROCESSED_STATUSES:
                    raise AmbiguousRequestError(method, path, error,
                                                timed_out=response.status_code == 504) from None
                failure = error
                delay = policy.backoff(retries)
                if error.retry_after is not None:
                    delay = min(error.retry_after, policy.max_retry_after)
            retries += 1
            elapsed = time.monotonic() - started
            attempts = min(policy.attempts, policy.unreachable_attempts) if unreachable else policy.attempts
            if retries >= attempts or elapsed + delay > policy.deadline:
                if isinstance(failure, ApiError):
                    raise failure
                raise TransportError(self._unreached(failure, unreachable, retries, elapsed)) from None
            cause = failure if isinstance(failure, ApiError) else _connection_cause(failure, unreachable)
            log.info("retry %d of %d in %.1fs: %s %s: %s", retries, attempts - 1, delay, method, url, cause)
            self.sleep(delay)

    def _unreached(self, failure: BaseException, unreachable: bool, attempts: int, elapsed: float) -> str:
        """The TransportError text: which endpoint, what happened, how often."""
        what = _connection_cause(failure, unreachable)
        if unreachable:
            return (f"could not connect to the Healthcare API at {self.base_url} ({what}): "
                    f"nothing was sent; {attempts} attempt(s) over {elapsed:.0f}s"
                    + (f". {self.origin}" if self.origin else ""))
        return f"no answer from the Healthcare API at {self.base_url} ({what}) after {attempts} attempt(s)"
