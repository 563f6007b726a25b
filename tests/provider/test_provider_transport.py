"""pulumi_dicom_jobs.api.transport: which failures are retried, which make a POST
ambiguous, how long it waits; against a scripted loopback API (support.scripted),
with the transport's sleep recorded instead of slept.

The rules (the module's docstring, docs/lifecycle.md "Never twice"): reads are
retried on 429, 500, 502, 503, 504 and connection errors; a starting POST is
retried only when the server cannot have acted (429, 503, a refused
connection), and is otherwise ambiguous (timed out for a read timeout or a
504); Retry-After is honoured up to a cap; attempts and a deadline bound the
retries; a 401 refreshes the credentials once.
"""

from __future__ import annotations

import socket
import threading

import pytest

from support.scripted import DROP, ScriptedApi
from pulumi_dicom_jobs.api import errors
from pulumi_dicom_jobs.api.errors import AmbiguousRequestError, TransportError
from pulumi_dicom_jobs.api.transport import NOT_PROCESSED_STATUSES, RETRYABLE_STATUSES, RetryPolicy, Transport

PATH = "v1/projects/p/locations/l/datasets/d/operations/1"
START = "v1/projects/p/locations/l/datasets/d/dicomStores/s:import"


class Tokens:
    def __init__(self, refreshable: bool = False) -> None:
        self.refreshable = refreshable
        self.refreshes = 0

    def header(self) -> str:
        return f"Bearer t{self.refreshes}"

    def force_refresh(self) -> None:
        self.refreshes += 1


def _error(code: int, status: str, message: str = "scripted") -> dict:
    return {"error": {"code": code, "status": status, "message": message}}


def _transport(api_url: str, sleeps: list[float], tokens: Tokens | None = None, **policy) -> Transport:
    def sleep(seconds: float) -> None:
        # no rule here pauses 50 times: more is a retry loop that lost its bound
        assert len(sleeps) < 50, f"paused {len(sleeps)} times: a loop?"
        sleeps.append(seconds)

    return Transport(api_url, tokens or Tokens(), RetryPolicy(**policy), timeout=(5.0, 10.0), sleep=sleep)


def test_the_rule_sets_are_the_documented_ones() -> None:
    assert RETRYABLE_STATUSES == {429, 500, 502, 503, 504}
    assert NOT_PROCESSED_STATUSES == {429, 503}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_read_is_retried_on_each_retryable_status(status: int) -> None:
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/operations/1$"): [(status, _error(status, "X")), (200, {"name": "op"})]}) as api:
        assert _transport(api.url, sleeps).request("GET", PATH) == {"name": "op"}
        assert len(api.calls) == 2
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5  # equal jitter of the first 0.5 s


@pytest.mark.parametrize("status, cls", [(400, errors.InvalidArgument), (403, errors.PermissionDenied),
                                         (404, errors.NotFound), (409, errors.Conflict),
                                         (501, errors.MethodNotImplemented)])
def test_other_errors_are_not_retried(status: int, cls: type) -> None:
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/operations/1$"): (status, _error(status, "X", "the reason"))}) as api:
        with pytest.raises(cls, match="the reason") as info:
            _transport(api.url, sleeps).request("GET", PATH)
        assert len(api.calls) == 1 and sleeps == []
    assert info.value.http_status == status and info.value.message == "the reason"


@pytest.mark.parametrize("status, timed_out", [(500, False), (502, False), (504, True)])
def test_a_post_the_server_may_have_processed_is_ambiguous(status: int, timed_out: bool) -> None:
    sleeps: list[float] = []
    with ScriptedApi({("POST", ":import$"): (status, _error(status, "X"))}) as api:
        with pytest.raises(AmbiguousRequestError) as info:
            _transport(api.url, sleeps).request("POST", START, json={}, idempotent=False)
        assert len(api.calls) == 1 and sleeps == []
    assert info.value.timed_out is timed_out
    assert isinstance(info.value.cause, errors.ApiError) and info.value.cause.http_status == status


@pytest.mark.parametrize("status", [429, 503])
def test_a_post_the_server_refused_is_retried(status: int) -> None:
    sleeps: list[float] = []
    with ScriptedApi({("POST", ":import$"): [(status, _error(status, "X")), (200, {"name": "op"})]}) as api:
        assert _transport(api.url, sleeps).request("POST", START, json={"a": 1}, idempotent=False) == {"name": "op"}
        assert len(api.calls) == 2 and api.calls[1].body == {"a": 1}
    assert len(sleeps) == 1


def test_a_dropped_connection_makes_a_post_ambiguous_and_a_read_retried() -> None:
    sleeps: list[float] = []
    with ScriptedApi({("POST", ":import$"): DROP, ("GET", "/operations/1$"): [DROP, (200, {"done": True})]}) as api:
        transport = _transport(api.url, sleeps)
        with pytest.raises(AmbiguousRequestError) as info:
            transport.request("POST", START, json={}, idempotent=False)
        assert info.value.timed_out is False and sleeps == []
        assert transport.request("GET", PATH) == {"done": True}
        assert len(sleeps) == 1


def test_a_read_timeout_makes_a_post_ambiguous_and_timed_out() -> None:
    release = threading.Event()

    def slow(_call):
        release.wait(3)  # the server holds the request until the client has given up (0.2 s)
        return 200, {"name": "late"}

    with ScriptedApi({("POST", ":import$"): slow}) as api:
        transport = Transport(api.url, Tokens(), RetryPolicy(), timeout=(5.0, 0.2), sleep=[].append)
        try:
            with pytest.raises(AmbiguousRequestError) as info:
                transport.request("POST", START, json={}, idempotent=False)
        finally:
            release.set()
    assert info.value.timed_out is True


def test_a_refused_connection_never_reached_the_server_so_a_post_is_retried() -> None:
    with socket.socket() as holder:  # a port nobody listens on
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
    sleeps: list[float] = []
    transport = _transport(f"http://127.0.0.1:{port}", sleeps, attempts=3)
    with pytest.raises(TransportError, match="nothing was sent; 3 attempt"):
        transport.request("POST", START, json={}, idempotent=False)
    assert len(sleeps) == 2


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    sleeps: list[float] = []
    busy = _error(503, "UNAVAILABLE")
    with ScriptedApi({("GET", "/operations/1$"): [(503, busy, {"Retry-After": "7"}),
                                                  (503, busy, {"Retry-After": "1000"}),
                                                  (503, busy, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
                                                  (200, {})]}) as api:
        assert _transport(api.url, sleeps).request("GET", PATH) == {}
    assert sleeps[:2] == [7.0, 120.0]
    assert 0.5 <= sleeps[2] <= 2.0  # a date: our own backoff (third retry: equal jitter of 2 s)


def test_attempts_bound_the_retries_and_the_backoff_grows() -> None:
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/operations/1$"): (503, _error(503, "UNAVAILABLE", "busy"))}) as api:
        with pytest.raises(errors.ServiceUnavailable, match="busy"):
            _transport(api.url, sleeps, attempts=4).request("GET", PATH)
        assert len(api.calls) == 4
    assert [0.25 <= sleeps[0] <= 0.5, 0.5 <= sleeps[1] <= 1.0, 1.0 <= sleeps[2] <= 2.0] == [True] * 3


def test_the_deadline_bounds_the_retries() -> None:
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/operations/1$"): (503, _error(503, "UNAVAILABLE"))}) as api:
        with pytest.raises(errors.ServiceUnavailable):
            _transport(api.url, sleeps, initial=10.0, deadline=4.0).request("GET", PATH)
        assert len(api.calls) == 1 and sleeps == []  # a 5-10 s pause would pass the deadline


def test_a_401_refreshes_the_credentials_once() -> None:
    sleeps: list[float] = []
    unauthenticated = (401, _error(401, "UNAUTHENTICATED"))
    with ScriptedApi({("GET", "/operations/1$"): [unauthenticated, (200, {"ok": True})]}) as api:
        tokens = Tokens(refreshable=True)
        assert _transport(api.url, sleeps, tokens).request("GET", PATH) == {"ok": True}
        assert tokens.refreshes == 1
        assert [c.headers["Authorization"] for c in api.calls] == ["Bearer t0", "Bearer t1"]
    with ScriptedApi({("GET", "/operations/1$"): unauthenticated}) as api:
        tokens = Tokens(refreshable=True)
        with pytest.raises(errors.Unauthenticated):
            _transport(api.url, sleeps, tokens).request("GET", PATH)
        assert tokens.refreshes == 1 and len(api.calls) == 2
    with ScriptedApi({("GET", "/operations/1$"): unauthenticated}) as api:
        with pytest.raises(errors.Unauthenticated):
            _transport(api.url, sleeps, Tokens(refreshable=False)).request("GET", PATH)
        assert len(api.calls) == 1
    assert sleeps == []


def test_answers_empty_json_and_not_json() -> None:
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/empty$"): (200, b""), ("GET", "/html$"): (200, b"<html>"),
                      ("GET", "/plain$"): (404, b"no such thing")}) as api:
        transport = _transport(api.url, sleeps)
        assert transport.request("GET", "v1/empty") == {}
        with pytest.raises(TransportError, match="not JSON"):
            transport.request("GET", "v1/html")
        with pytest.raises(errors.NotFound) as info:
            transport.request("GET", "v1/plain")
        assert info.value.message == "no such thing" and info.value.status == "Not Found"
        assert api.calls[0].headers["Accept"] == "application/json"


def test_a_script_fails_a_client_that_loops() -> None:
    """The scripted API's guard (support.scripted.MAX_CALLS): a retry or refresh
    rule broken into a loop fails the test at once instead of hanging it."""
    with pytest.raises(AssertionError, match="3 requests to a script of at most 2: a loop"):
        with ScriptedApi({("GET", "/operations/1$"): (200, {})}, max_calls=2) as api:
            transport = _transport(api.url, [])
            assert transport.request("GET", PATH) == {} and transport.request("GET", PATH) == {}
            with pytest.raises(errors.ApiError, match="more than 2 calls"):
                transport.request("GET", PATH)
