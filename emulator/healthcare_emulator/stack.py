"""Start the whole local stand-in for Google Cloud on loopback.

Three real servers, each in its own process, on free 127.0.0.1 ports:

* ``gcp-storage-emulator``: Cloud Storage (JSON API), in memory;
* ``bqemulator``: BigQuery (REST), DuckDB in memory;
* ``healthcare-emulator``: this package, wired to the two above.

Clients find them the way Google's own emulators are found, through
environment variables (:meth:`LocalStack.env`). Tests, ``make demo``, the
offline engine and the benchmarks all start the stack through this module so
that there is one place that knows how.

``python -m healthcare_emulator.stack`` runs the stack until Ctrl-C or
SIGTERM and prints the environment; ``--seed`` adds a sandbox to try
``dicom-jobs`` on (:mod:`healthcare_emulator.sandbox`) and the commands to
paste, ``--instance-delay S`` slows the jobs down enough to watch them.
``python -m healthcare_emulator.stack --prepare`` copies the DuckDB extension
files out of their wheels (``make`` runs it once after installing); without
them bqemulator stalls trying to download them and exits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

import requests

from healthcare_emulator.iam import not_enforced_warning
from healthcare_emulator.jobcontext import DUPLICATE_COUNTINGS, DUPLICATES_NOT_COUNTED
from healthcare_emulator.waiting import poll

if TYPE_CHECKING:
    from healthcare_emulator.sandbox import Sandbox, Seeded

LOOPBACK = "127.0.0.1"
DEFAULT_PROJECT = "local-project"
#: The default project's number, pinned so that its agent's email is the same in every run
#: and in the docs; any other project gets its own stable number (:mod:`healthcare_emulator.projects`).
DEFAULT_PROJECT_NUMBER = "123456789012"
DUCKDB_VERSION = "v1.5.5"
_EXTENSION_PACKAGES = ("duckdb_extension_spatial", "duckdb_extension_avro")
_STARTUP_DEADLINE_S = 60.0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until(ready: Callable[[], bool], deadline_s: float, what: str,
               alive: Callable[[], bool] = lambda: True) -> None:
    """Poll ``ready`` (connection errors count as "not yet") until it is true."""
    poll(ready, deadline_s=deadline_s, what=what, alive=alive,
         transient=(requests.ConnectionError, requests.Timeout, OSError))


def duckdb_home() -> Path:
    """A HOME for bqemulator whose ``.duckdb`` holds the extension files.

    Lives inside the active environment (``sys.prefix``) so the copy is made
    once per venv, never downloaded.
    """
    return Path(sys.prefix) / "duckdb-home"


def prepare_duckdb_extensions() -> Path:
    """Copy the pinned DuckDB extensions from their wheels; idempotent."""
    import duckdb  # imported lazily: only the BigQuery emulator needs it

    platform = duckdb.sql("PRAGMA platform").fetchone()[0]
    target = duckdb_home() / ".duckdb" / "extensions" / DUCKDB_VERSION / platform
    target.mkdir(parents=True, exist_ok=True)
    for package in _EXTENSION_PACKAGES:
        module = __import__(package)
        source_dir = Path(module.__file__).parent / "extensions" / DUCKDB_VERSION
        for extension in source_dir.glob("*.duckdb_extension"):
            destination = target / extension.name
            if not destination.exists() or destination.stat().st_size != extension.stat().st_size:
                shutil.copyfile(extension, destination)
    return duckdb_home()


def _bin(name: str) -> str:
    """A console script of the active environment (venv first, then PATH)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


@dataclass
class _Server:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class LocalStack:
    """The three emulators as child processes; use as a context manager.

    IAM is enforced unless ``enforce_iam`` is false (the emulator then warns
    in its log). ``healthcare_args`` are extra command-line flags for the
    Healthcare emulator (for example ``["--instance-delay", "0.5"]``).
    """

    project: str = DEFAULT_PROJECT
    enforce_iam: bool = True
    healthcare_args: list[str] = field(default_factory=list)
    with_bigquery: bool = True
    log_dir: Path | None = None
    _servers: dict[str, _Server] = field(default_factory=dict, init=False)

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "LocalStack":
        self.log_dir = Path(self.log_dir or tempfile.mkdtemp(prefix="dicom-stack-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_storage()
            if self.with_bigquery:
                self._start_bigquery()
            self._start_healthcare()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in reversed(list(self._servers.values())):
            server.stop()
        self._servers.clear()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------
    @property
    def storage_url(self) -> str:
        return self._servers["storage"].url

    @property
    def bigquery_url(self) -> str | None:
        server = self._servers.get("bigquery")
        return server.url if server else None

    @property
    def healthcare_url(self) -> str:
        return self._servers["healthcare"].url

    @property
    def healthcare_host(self) -> str:
        """``host:port``, the value of ``HEALTHCARE_EMULATOR_HOST``."""
        return self.healthcare_url.removeprefix("http://")

    def env(self) -> dict[str, str]:
        """Environment variables that point clients at this stack."""
        values = {
            "HEALTHCARE_EMULATOR_HOST": self.healthcare_host,
            "STORAGE_EMULATOR_HOST": self.storage_url,
            "GOOGLE_CLOUD_PROJECT": self.project,
        }
        if self.bigquery_url:
            values["BIGQUERY_EMULATOR_HOST"] = self.bigquery_url
        return values

    def logs(self) -> Mapping[str, str]:
        """The last lines each server logged, for failure messages."""
        return {name: server.log_tail() for name, server in self._servers.items()}

    # -- servers ---------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], port: int,
               ready_path: str, env: Mapping[str, str] | None = None) -> _Server:
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "wb")
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )
        log.close()
        url = f"http://{LOOPBACK}:{port}"
        server = _Server(name, process, url, log_path)
        self._servers[name] = server
        try:
            wait_until(lambda: requests.get(url + ready_path, timeout=2).status_code < 500,
                       _STARTUP_DEADLINE_S, name, alive=lambda: process.poll() is None)
        except AssertionError as exc:
            raise RuntimeError(f"{exc}\n--- {name} log ---\n{server.log_tail()}") from None
        return server

    def _start_storage(self) -> None:
        port = free_port()
        self._spawn("storage", [_bin("gcp-storage-emulator"), "start", "--host", LOOPBACK,
                                "--port", str(port), "--in-memory"],
                    port, "/storage/v1/b?project=" + self.project)

    def _start_bigquery(self) -> None:
        rest_port, grpc_port = free_port(), free_port()
        home = prepare_duckdb_extensions()
        self._spawn("bigquery", [_bin("bqemulator"), "start", "--rest-port", str(rest_port),
                                 "--grpc-port", str(grpc_port), "--project", self.project],
                    rest_port, f"/bigquery/v2/projects/{self.project}/datasets",
                    env={"HOME": str(home)})

    def _start_healthcare(self) -> None:
        port = free_port()
        argv = [sys.executable, "-m", "healthcare_emulator", "--host", LOOPBACK,
                "--port", str(port), "--storage-host", self.storage_url,
                "--project-number", f"{self.project}={DEFAULT_PROJECT_NUMBER}"]
        if self.bigquery_url:
            argv += ["--bigquery-endpoint", self.bigquery_url]
        if not self.enforce_iam:
            argv.append("--no-enforce-iam")
        self._spawn("healthcare", argv + list(self.healthcare_args), port, "/_emulator/health")


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_on_signals() -> None:
    """Make SIGTERM (``kill PID``) stop the stack exactly as Ctrl-C does.

    Both raise :class:`KeyboardInterrupt`, which unwinds ``with LocalStack()``
    and so stops the children (they run in their own sessions: nothing else
    would). After the first signal both are ignored, so that a second one
    cannot cut the children's shutdown short and leave one holding its port.
    """
    def stop(signum: int, frame: object) -> None:
        for number in _STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    for number in _STOP_SIGNALS:
        signal.signal(number, stop)


def seconds(text: str) -> float:
    """An argparse type: a duration of 0 seconds or more."""
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 or more seconds")
    return value


def _announce(stack: LocalStack, sandbox: Sandbox | None, seeded: Seeded | None,
              instance_delay: float | None) -> None:
    """Print the environment to export (and, with a sandbox, what it holds and what to run)."""
    env = {**stack.env(), **(sandbox.env() if sandbox else {})}
    lines = [f"export {key}={value}" for key, value in env.items()]
    if sandbox and seeded:
        lines += sandbox.description(instance_delay, seeded.agent, seeded.grants)
        lines.append("# paste the export lines above into another shell, then try:")
        lines += sandbox.commands()
    lines.append("# local stack running; Ctrl-C stops it")
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m healthcare_emulator.stack",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true",
                        help="copy the DuckDB extension files into the venv and exit")
    parser.add_argument("--seed", action="store_true",
                        help="create a sandbox to try dicom-jobs on (a DICOM store, a bucket of "
                             "sample files, a BigQuery dataset) and print the commands to paste")
    parser.add_argument("--enforce-iam", action=argparse.BooleanOptionalAction, default=True,
                        help="require the Healthcare service agent's IAM grants (the default); "
                             "--no-enforce-iam lets every job through and prints a warning")
    parser.add_argument("--count-duplicates-as", choices=DUPLICATE_COUNTINGS, default=DUPLICATES_NOT_COUNTED,
                        help="how an import counts an instance already in the store: not at all "
                             "(the default) or as a success (the API does not say)")
    parser.add_argument("--instance-delay", type=seconds, default=None, metavar="S",
                        help="seconds of work per instance in the Healthcare emulator, "
                             "so that a job's progress can be watched")
    args = parser.parse_args(argv)
    if args.prepare:
        print(f"DuckDB extensions ready under {prepare_duckdb_extensions()}")
        return 0
    # Imported here: the sandbox's sample data needs pydicom and numpy, which the
    # stack's many other users (tests, offline engine, benchmarks) need not load.
    from healthcare_emulator.sandbox import Sandbox, seed, set_instance_delay

    if not args.enforce_iam:
        print(f"# {not_enforced_warning('--no-enforce-iam')}", file=sys.stderr, flush=True)
    _stop_on_signals()
    try:
        with LocalStack(enforce_iam=args.enforce_iam,
                        healthcare_args=["--count-duplicates-as", args.count_duplicates_as]) as stack:
            sandbox = Sandbox(project=stack.project) if args.seed else None
            seeded = seed(sandbox, stack.env()) if sandbox else None
            if args.instance_delay is not None:
                set_instance_delay(stack.healthcare_url, args.instance_delay)
            _announce(stack, sandbox, seeded, args.instance_delay)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:  # a server that did not start, a seed call refused
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
