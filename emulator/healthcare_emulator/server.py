"""The HTTP server: sockets, system parameters, auth, fault injection, the request log.

It wires the two route tables: ``/_emulator/...`` goes to
:class:`~healthcare_emulator.admin_routes.AdminRoutes` (no credential, no
faults, not logged), everything else to
:class:`~healthcare_emulator.api_routes.ApiRoutes` after fault injection,
the system parameters (:mod:`healthcare_emulator.sysparams`) and the
credential check.

Why the stdlib server and not a framework: fault injection needs control of
the socket itself — reset a connection with nothing sent, or process a
request fully (start the operation) and then close the connection without a
byte of answer. ``http.server`` gives that control directly and adds no
dependency. It binds loopback only: the emulator has no real auth and must
never be reachable from another machine.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from . import sysparams
from .admin_routes import PREFIX as ADMIN_PREFIX
from .admin_routes import AdminRoutes
from .api_routes import ApiRoutes
from .errors import ApiError
from .faults import FaultInjector
from .jobcontext import DUPLICATES_NOT_COUNTED
from .projects import ProjectNumbers
from .requestlog import RequestLog
from .routing import Request, Response
from .state import EmulatorState

_BEARER = re.compile(r"^Bearer\s+\S+", re.IGNORECASE)


def require_loopback(host: str) -> str:
    """The IPv4 loopback address to bind for ``host``; ValueError for anything else."""
    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        raise ValueError(f"--host must be a loopback address such as 127.0.0.1, got {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"refusing to listen on {host!r}: the emulator listens on IPv4 loopback only")
    return str(address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the body waits for
    # the client's delayed ACK of the headers on a kept-alive connection:
    # about 40 ms added to every request.
    disable_nagle_algorithm = True
    server_version = "healthcare-emulator"
    server: "_HttpServer"

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # Every verb goes through one dispatcher.
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_DELETE = do_PATCH = do_PUT = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        server = self.server
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        request = Request(self.command, path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                          {k.lower(): v for k, v in self.headers.items()}, self._read_body())
        if path.startswith(ADMIN_PREFIX):
            self._send(server.admin.handle(request))
            return
        fault = server.faults.take(self.command, path)
        if fault is not None and fault.action == "reset":
            server.requests.add(self.command, path, parts.query, 0, "reset")
            self._abort(reset=True)
            return
        if fault is not None and fault.action == "status":
            headers = {}
            if fault.retry_after is not None:
                retry = fault.retry_after
                headers["Retry-After"] = str(int(retry) if float(retry).is_integer() else retry)
            error = ApiError(fault.status, f"Injected fault: HTTP {fault.status}")
            server.requests.add(self.command, path, parts.query, fault.status, "status")
            self._send(Response.error(error, headers))
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.delay_seconds)
        response = self._process(server.api, request)
        dropped = fault is not None and fault.action == "drop_after_processing"
        server.requests.add(self.command, path, parts.query, response.status,
                            fault.action if fault is not None else None)
        if dropped:
            self._abort(reset=False)
            return
        self._send(response)

    def _process(self, api: ApiRoutes, request: Request) -> Response:
        """System parameters, then the credential, then the API route (the real front end's order)."""
        try:
            request.system, request.query = sysparams.split(request.query)
        except ApiError as error:
            return Response.error(error)
        if not (_BEARER.match(request.headers.get("authorization", "")) or request.system.access_token):
            return Response.error(
                ApiError(401, "Request is missing required authentication credential. Expected "
                              "OAuth 2 access token, login cookie or other valid authentication "
                              "credential."),
                {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        try:
            return api.handle(request)
        except Exception as exc:  # never leave a client without an answer because of a bug
            self.log_error("internal error: %r", exc)
            return Response.error(ApiError(500, f"internal emulator error: {exc!r}"))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _abort(self, reset: bool) -> None:
        """Close the connection with no answer; ``reset`` sends RST instead of FIN."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: ApiRoutes, admin: AdminRoutes,
                 faults: FaultInjector, requests: RequestLog, verbose: bool) -> None:
        self.api = api
        self.admin = admin
        self.faults = faults
        self.requests = requests
        self.verbose = verbose
        super().__init__(address, _Handler)


class EmulatorServer:
    """The Healthcare API emulator, in process: ``start()``, ``url``, ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 storage_url: Optional[str] = None, bigquery_url: Optional[str] = None,
                 project_numbers: Optional[Mapping[str, str]] = None,
                 data_dir: Optional[os.PathLike] = None,
                 instance_delay: float = 0.0, operation_min_seconds: float = 0.0,
                 enforce_iam: bool = True, grant_propagation_seconds: float = 0.0,
                 count_duplicates_as: str = DUPLICATES_NOT_COUNTED, verbose: bool = False) -> None:
        self.host = require_loopback(host)
        self.requested_port = port
        if storage_url is None:
            storage_url = os.environ.get("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9023")
        if "://" not in storage_url:
            storage_url = "http://" + storage_url
        if bigquery_url and "://" not in bigquery_url:
            bigquery_url = "http://" + bigquery_url
        config = {"instanceDelaySeconds": instance_delay, "operationMinSeconds": operation_min_seconds,
                  "enforceIam": enforce_iam, "grantPropagationSeconds": grant_propagation_seconds,
                  "countDuplicatesAs": count_duplicates_as}
        self.state = EmulatorState(config, Path(data_dir) if data_dir is not None else None,
                                   projects=ProjectNumbers(project_numbers))
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.api = ApiRoutes(self.state, storage_url, bigquery_url)
        self.admin = AdminRoutes(self.state, self.faults, self.requests)
        self.verbose = verbose
        self._httpd: Optional[_HttpServer] = None
        self._thread: Optional[threading.Thread] = None

    def bind(self) -> "EmulatorServer":
        self._httpd = _HttpServer((self.host, self.requested_port), self.api, self.admin, self.faults,
                                  self.requests, self.verbose)
        self.api.base_url = self.url
        return self

    def start(self) -> "EmulatorServer":
        """Bind and serve on a background thread."""
        if self._httpd is None:
            self.bind()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="healthcare-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self._httpd is None:
            self.bind()
        self._httpd.serve_forever(poll_interval=0.05)

    @property
    def address(self) -> tuple[str, int]:
        assert self._httpd is not None, "not started"
        return self._httpd.server_address[:2]

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.port}"

    def stop(self) -> None:
        """Stop serving; running operations are told to stop and nothing more is persisted."""
        self.state.close()
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
