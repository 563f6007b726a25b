"""A scripted HTTP API on loopback: for answers the emulator never gives.

Why: the emulator behaves like the service, so some answers the product must
handle cannot be provoked from it (an operation that ends PERMISSION_DENIED
after processing instances, a page token, a 404 whose reason is the plain
HTTP one). Rather than swap a fake session into the transport, a test starts
this server and points the product's client at it: requests, retries,
timeouts and JSON parsing all run as in production, only the answers are
scripted.

Each route is ``(method, path regex) -> answer`` where an answer is a
``(status, body)`` pair, a ``(status, body, headers)`` triple, :data:`DROP`
(close the connection without answering, after reading the request) or a
callable taking the :class:`Call` and returning one of those; a list of
answers is served in order, its last one repeated. A body is sent as JSON,
or as is when it is ``bytes``. Every request is recorded in
:attr:`ScriptedApi.calls`.

A request past ``max_calls`` (default :data:`MAX_CALLS`) is answered 400 and
fails the test when the ``with`` block ends: no test here needs that many, so
a client looping on an answer (a retry or refresh rule broken, as mutation
testing does on purpose) fails in a fraction of a second instead of hanging.

:func:`scripted_client` is the product's client pointed at such a server: the
one way tests make one.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import time
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qs, urlsplit

import pytest

from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy
from .clock import FakeClock

__all__ = ["Call", "DROP", "MAX_CALLS", "ScriptedApi", "scripted_client"]

#: An answer that closes the connection unanswered.
DROP = "drop"
#: Requests a script serves before it calls the client a loop.
MAX_CALLS = 300
Answer = Union[tuple, str, Callable[["Call"], Union[tuple, str]]]


@dataclass(frozen=True)
class Call:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str] = field(repr=False)


class ScriptedApi:
    """``with ScriptedApi({("GET", r"/operations/"): (200, {...})}) as api: api.host``."""

    def __init__(self, routes: dict[tuple[str, str], Union[Answer, list[Answer]]],
                 max_calls: int = MAX_CALLS) -> None:
        self._routes = [(method, re.compile(pattern), answers if isinstance(answers, list) else [answers])
                        for (method, pattern), answers in routes.items()]
        self._served: dict[int, int] = {}
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.max_calls = max_calls
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # a short poll interval: shutdown() waits for the loop to look, 0.5 s by default, per test
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="scripted-api", daemon=True)

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` (the form ``HEALTHCARE_EMULATOR_HOST`` takes)."""
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def __enter__(self) -> "ScriptedApi":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if len(self.calls) > self.max_calls:
            raise AssertionError(f"the client sent {len(self.calls)} requests to a script of at most "
                                 f"{self.max_calls}: a loop? first: {self.calls[0].method} {self.calls[0].path}")

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        """The recorded calls of ``method`` whose path matches ``pattern``."""
        with self._lock:
            return [c for c in self.calls if c.method == method and re.search(pattern, c.path)]

    def _answer(self, call: Call) -> Union[tuple, str]:
        with self._lock:
            self.calls.append(call)
            if len(self.calls) > self.max_calls:
                return 400, {"error": {"code": 400, "status": "FAILED_PRECONDITION",
                                       "message": f"scripted API: more than {self.max_calls} calls"}}
            for index, (method, pattern, answers) in enumerate(self._routes):
                if method == call.method and pattern.search(call.path):
                    served = self._served.get(index, 0)
                    self._served[index] = served + 1
                    answer = answers[min(served, len(answers) - 1)]
                    break
            else:
                return 404, {"error": {"code": 404, "status": "NOT_FOUND",
                                       "message": f"no scripted answer for {call.method} {call.path}"}}
        return answer(call) if callable(answer) else answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle on, a kept-alive
            # connection waits ~40 ms for the client's delayed ACK on every answer
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                call = Call(self.command, split.path, parse_qs(split.query), _body(raw), dict(self.headers.items()))
                answer = api._answer(call)
                if answer == DROP:
                    self.close_connection = True
                    return
                status, body, *more = answer
                headers = more[0] if more else {}
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *_args: Any) -> None:  # quiet: the calls are recorded instead
                pass

        return Handler


def _body(raw: bytes) -> Any:
    """A request's JSON body, or its text when it is not JSON (an OAuth token request is a form)."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def scripted_client(api: Union[ScriptedApi, str], monkeypatch: pytest.MonkeyPatch,
                    clock: Optional[FakeClock] = None, *, retry: Optional[RetryPolicy] = None,
                    timeout: Optional[tuple[float, float]] = None) -> HealthcareClient:
    """The product's client of ``api`` (or of a ``127.0.0.1:PORT`` host), reached as an
    emulator (``HEALTHCARE_EMULATOR_HOST``, set for the rest of the test: no credentials
    are looked up). One attempt per request unless ``retry`` says otherwise; its pauses
    pass on ``clock`` when one is given."""
    monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", api.host if isinstance(api, ScriptedApi) else api)
    return HealthcareClient(retry=retry or RetryPolicy(attempts=1), timeout=timeout,
                            sleep=clock.sleep if clock is not None else time.sleep)
