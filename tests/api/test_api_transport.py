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

import logging
import re
import socket
import threading

import pytest
import requests
import urllib3.exceptions

from support.scripted import DROP, ScriptedApi
from pulumi_dicom_jobs import settings
from pulumi_dicom_jobs.api import errors
from pulumi_dicom_jobs.api.errors import AmbiguousRequestError, TransportError
from pulumi_dicom_jobs.api.transport import (NOT_PROCESSED_STATUSES, RETRYABLE_STATUSES, RetryPolicy, Transport,
                                             _connection_cause, _never_sent)

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


# What an error answer becomes: the Google error body's status and message when it has them,
# else the HTTP reason and the body's text (its first 500 characters); always the request and
# any Retry-After seconds (a date or nothing: None).
@pytest.mark.parametrize("answer, cls, status, message, retry_after", [
    ((404, _error(404, "NOT_FOUND", "no such operation")), errors.NotFound, "NOT_FOUND", "no such operation", None),
    ((404, {"error": {"code": 404, "message": "gone"}}), errors.NotFound, "Not Found", "gone", None),
    ((400, _error(400, "FAILED_PRECONDITION", "not now")), errors.FailedPrecondition, "FAILED_PRECONDITION",
     "not now", None),
    ((409, {"error": "taken"}), errors.Conflict, "Conflict", '{"error": "taken"}', None),
    ((404, {"message": "elsewhere"}), errors.NotFound, "Not Found", '{"message": "elsewhere"}', None),
    ((404, ["gone"]), errors.NotFound, "Not Found", '["gone"]', None),
    ((404, b"x" * 600), errors.NotFound, "Not Found", "x" * 500, None),
    ((499, b"odd"), errors.ApiError, "", "odd", None),  # no reason phrase, no body status
    ((403, _error(403, "PERMISSION_DENIED", "denied"), {"Retry-After": "7"}), errors.PermissionDenied,
     "PERMISSION_DENIED", "denied", 7.0),
    ((403, _error(403, "PERMISSION_DENIED", "denied"), {"Retry-After": "0"}), errors.PermissionDenied,
     "PERMISSION_DENIED", "denied", 0.0),
    ((403, _error(403, "PERMISSION_DENIED", "denied"), {"Retry-After": "-3"}), errors.PermissionDenied,
     "PERMISSION_DENIED", "denied", 0.0),
    ((403, _error(403, "PERMISSION_DENIED", "denied"), {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
     errors.PermissionDenied, "PERMISSION_DENIED", "denied", None),
])
def test_an_error_answer_becomes_a_typed_error(answer: tuple, cls: type, status: str, message: str,
                                               retry_after: float | None) -> None:
    with ScriptedApi({("GET", "/operations/1$"): answer}) as api:
        with pytest.raises(errors.ApiError) as info:
            _transport(api.url, []).request("GET", PATH)
    error = info.value
    assert type(error) is cls and error.http_status == answer[0]
    assert (error.status, error.message, error.retry_after) == (status, message, retry_after)
    assert (error.method, error.path) == ("GET", PATH) and str(error).endswith(f"(GET {PATH})")


def test_an_ambiguous_post_names_the_request_and_why() -> None:
    with ScriptedApi({("POST", ":import$"): [DROP, (502, _error(502, "X", "bad gateway"))]}) as api:
        transport = _transport(api.url, [])
        with pytest.raises(AmbiguousRequestError) as dropped:
            transport.request("POST", START, json={}, idempotent=False)
        with pytest.raises(AmbiguousRequestError) as answered:
            transport.request("POST", START, json={}, idempotent=False)
    assert (dropped.value.method, dropped.value.path, dropped.value.cause) == ("POST", START, "ConnectionError")
    assert str(dropped.value) == f"POST {START}: no reliable answer (ConnectionError); it may have been processed"
    assert (answered.value.method, answered.value.path) == ("POST", START)
    assert (answered.value.cause.method, answered.value.cause.path) == ("POST", START)


def test_a_trailing_slash_in_the_base_url_and_a_leading_one_in_the_path_make_one_slash() -> None:
    requested: list[str] = []
    with ScriptedApi({("GET", "/operations/1$"): (200, {})}) as api:
        transport = _transport(f"{api.url}/", [])
        # the URL as sent (the server's parser would fold a doubled slash)
        transport.session.hooks["response"].append(lambda answer, **_: requested.append(answer.request.url))
        assert transport.base_url == api.url
        assert transport.request("GET", f"/{PATH}") == {} and transport.request("GET", PATH) == {}
    assert requested == [f"{api.url}/{PATH}"] * 2


def test_the_backoff_is_capped_at_the_policys_maximum() -> None:
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/operations/1$"): (503, _error(503, "UNAVAILABLE"))}) as api:
        with pytest.raises(errors.ServiceUnavailable):
            _transport(api.url, sleeps, initial=4.0, maximum=2.0, attempts=3).request("GET", PATH)
    assert len(sleeps) == 2 and all(1.0 <= s <= 2.0 for s in sleeps)


def test_answered_errors_use_the_whole_attempt_budget() -> None:
    """The unreachable budget (5) is for a connection that cannot be opened, not for answers."""
    sleeps: list[float] = []
    with ScriptedApi({("GET", "/operations/1$"): (503, _error(503, "UNAVAILABLE"))}) as api:
        with pytest.raises(errors.ServiceUnavailable):
            _transport(api.url, sleeps).request("GET", PATH)
        assert len(api.calls) == RetryPolicy().attempts == 8
    assert len(sleeps) == 7


def _free_port() -> int:
    with socket.socket() as holder:  # a port nobody listens on
        holder.bind(("127.0.0.1", 0))
        return holder.getsockname()[1]


def _retry_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pulumi_dicom_jobs.api.transport"]


def test_nothing_listening_is_tried_five_times_and_named(caplog: pytest.LogCaptureFixture) -> None:
    """docs/cli.md: each retry is shown (``retry 1 of 4 in 0.5s: GET URL: connection refused``);
    nothing listening fails after 5 attempts, naming the endpoint; nothing was sent."""
    caplog.set_level(logging.INFO, logger="pulumi_dicom_jobs.api.transport")
    base = f"http://127.0.0.1:{_free_port()}"
    sleeps: list[float] = []
    with pytest.raises(TransportError) as info:
        _transport(f"{base}/", sleeps).request("GET", PATH)
    assert len(sleeps) == 4
    assert re.fullmatch(rf"could not connect to the Healthcare API at {re.escape(base)} \(connection refused\): "
                        r"nothing was sent; 5 attempt\(s\) over \d+s", str(info.value)), str(info.value)
    lines = _retry_lines(caplog)
    assert len(lines) == 4
    with pytest.raises(TransportError) as named:
        Transport(base, Tokens(), RetryPolicy(), timeout=(5.0, 10.0), sleep=lambda _s: None,
                  origin="The address comes from X=1.").request("GET", PATH)
    assert str(named.value).startswith(f"could not connect to the Healthcare API at {base} (connection refused)")
    assert str(named.value).endswith(". The address comes from X=1."), str(named.value)
    for number, (line, pause) in enumerate(zip(lines, sleeps), start=1):
        assert line == f"retry {number} of 4 in {pause:.1f}s: GET {base}/{PATH}: connection refused"


def test_a_network_that_cannot_be_reached_is_a_connection_failure(caplog: pytest.LogCaptureFixture) -> None:
    """A TCP connection to a multicast address is refused by the local kernel (ENETUNREACH): no
    packet leaves the machine, and nothing was sent, so even a POST is retried."""
    caplog.set_level(logging.INFO, logger="pulumi_dicom_jobs.api.transport")
    sleeps: list[float] = []
    with pytest.raises(TransportError) as info:
        _transport("http://224.0.0.1:1", sleeps, attempts=2).request("POST", START, json={}, idempotent=False)
    assert re.fullmatch(r"could not connect to the Healthcare API at http://224\.0\.0\.1:1 \(connection failed\): "
                        r"nothing was sent; 2 attempt\(s\) over \d+s", str(info.value)), str(info.value)
    assert len(sleeps) == 1 and _retry_lines(caplog)[0].endswith(f"POST http://224.0.0.1:1/{START}: connection failed")


def test_a_connect_timeout_never_reached_the_server_so_a_post_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    """A listening socket whose accept queue is full drops new connections' SYNs: they time out."""
    caplog.set_level(logging.INFO, logger="pulumi_dicom_jobs.api.transport")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        queued: list[socket.socket] = []
        try:
            while True:  # fill the accept queue until a connection is no longer taken
                client = socket.socket()
                client.settimeout(0.05)
                queued.append(client)
                try:
                    client.connect(server.getsockname())
                except (socket.timeout, TimeoutError):
                    break
                assert len(queued) < 50, "the accept queue never filled"
            base = f"http://127.0.0.1:{server.getsockname()[1]}"
            sleeps: list[float] = []
            transport = Transport(base, Tokens(), RetryPolicy(attempts=2), timeout=(0.05, 5.0), sleep=sleeps.append)
            with pytest.raises(TransportError) as info:
                transport.request("POST", START, json={}, idempotent=False)
        finally:
            for client in queued:
                client.close()
    assert re.fullmatch(rf"could not connect to the Healthcare API at {re.escape(base)} \(connect timeout\): "
                        r"nothing was sent; 2 attempt\(s\) over \d+s", str(info.value)), str(info.value)
    assert len(sleeps) == 1 and _retry_lines(caplog)[0].endswith(": connect timeout")


def test_a_read_without_an_answer_names_the_cause_after_its_attempts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pulumi_dicom_jobs.api.transport")
    release = threading.Event()

    def slow(_call):
        release.wait(3)  # held until the client has given up (0.1 s)
        return 200, {}

    with ScriptedApi({("GET", "/operations/1$"): slow, ("GET", "/operations/2$"): DROP}) as api:
        sleeps: list[float] = []
        transport = Transport(api.url, Tokens(), RetryPolicy(attempts=2), timeout=(5.0, 0.1), sleep=sleeps.append)
        try:
            with pytest.raises(TransportError) as timed_out:
                transport.request("GET", PATH)
        finally:
            release.set()
        with pytest.raises(TransportError) as dropped:
            transport.request("GET", PATH[:-1] + "2")
    assert str(timed_out.value) == f"no answer from the Healthcare API at {api.url} (read timeout) after 2 attempt(s)"
    assert str(dropped.value) == f"no answer from the Healthcare API at {api.url} (ConnectionError) after 2 attempt(s)"
    lines = _retry_lines(caplog)
    assert len(sleeps) == 2 and [line.rsplit(": ", 1)[1] for line in lines] == ["read timeout", "ConnectionError"]


def test_a_retried_error_answer_is_shown_as_the_apis_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pulumi_dicom_jobs.api.transport")
    with ScriptedApi({("GET", "/operations/1$"): [(503, _error(503, "UNAVAILABLE", "busy")), (200, {})]}) as api:
        assert _transport(api.url, []).request("GET", PATH) == {}
    assert _retry_lines(caplog)[0].endswith(f"GET {api.url}/{PATH}: HTTP 503 UNAVAILABLE: busy (GET {PATH})")


def _as_requests_raises(reason: BaseException, cls: type = requests.ConnectionError) -> BaseException:
    """``reason`` wrapped as requests wraps urllib3's: the reason only as ``MaxRetryError.reason``."""
    return cls(urllib3.exceptions.MaxRetryError(None, "/v1/x", reason))


def _caused_by(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


# The failures loopback cannot produce (an unknown host name), and the shapes the others take: which
# ones never sent the request (so a POST may be retried), and the cause a user reads.
@pytest.mark.parametrize("failure, never_sent, cause", [
    (_as_requests_raises(_caused_by(urllib3.exceptions.NameResolutionError(
        "healthcare.example", None, socket.gaierror(-2, "Name or service not known")),
        socket.gaierror(-2, "Name or service not known"))), True, "host name not found"),
    (_as_requests_raises(_caused_by(urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"),
                                    ConnectionRefusedError(111, "Connection refused"))), True, "connection refused"),
    (_as_requests_raises(urllib3.exceptions.NewConnectionError(None, "[Errno 101] Network is unreachable")),
     True, "connection failed"),
    (_as_requests_raises(urllib3.exceptions.ConnectTimeoutError(None, "timed out"), requests.ConnectTimeout),
     True, "connect timeout"),
    (_as_requests_raises(urllib3.exceptions.ReadTimeoutError(None, "/v1/x", "timed out"), requests.ReadTimeout),
     False, "read timeout"),
    (requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))),
     False, "ConnectionError"),
])
def test_what_a_connection_failure_is_called(failure: BaseException, never_sent: bool, cause: str) -> None:
    assert _never_sent(failure) is never_sent
    assert _connection_cause(failure, never_sent) == cause


def test_a_failure_whose_chain_leads_back_to_itself_is_looked_at_once() -> None:
    class Looped(requests.ConnectionError):
        looks = 0

        @property
        def reason(self) -> BaseException:  # urllib3's attribute, pointing back at the failure
            type(self).looks += 1
            assert type(self).looks == 1, "the chain was walked in circles"
            return self

    assert _never_sent(Looped("looped")) is False


def test_http_timeout_explicit_argument_wins(monkeypatch) -> None:
    """The timeout each request is sent with, recorded on the way to a loopback server.

    The one place a test reaches into the transport: a ``requests.Session``
    subclass records the ``timeout`` argument and sends the request for real
    (timing the answers instead would make a test of seconds and margins).
    """
    seen: list = []

    class RecordingSession(requests.Session):
        def request(self, *args, **kwargs):
            seen.append(kwargs["timeout"])
            return super().request(*args, **kwargs)

    monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, "7,8")
    with ScriptedApi({("GET", "/v1/a$"): (200, {})}) as api:
        default = Transport(api.url, Tokens())
        explicit = Transport(api.url, Tokens(), timeout=(1.0, 2.0))
        default.session, explicit.session = RecordingSession(), RecordingSession()
        default.request("GET", "v1/a")
        monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, "9")
        default.request("GET", "v1/a")
        explicit.request("GET", "v1/a")
        assert len(api.calls) == 3
    assert seen == [(7.0, 8.0), (10.0, 9.0), (1.0, 2.0)]
