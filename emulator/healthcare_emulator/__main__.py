"""``healthcare-emulator``: run the Cloud Healthcare API emulator on loopback.

Prints ``healthcare-emulator listening on http://127.0.0.1:P`` (flushed) once
the socket is bound, so a parent process can wait for that line; stops
cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Optional

from .iam import not_enforced_warning
from .jobcontext import DUPLICATE_COUNTINGS, DUPLICATES_NOT_COUNTED
from .projects import ProjectNumbers
from .server import EmulatorServer, require_loopback


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthcare-emulator",
                                     description="Local Cloud Healthcare API emulator (DICOM import/export).")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (only loopback is allowed)")
    parser.add_argument("--storage-host", default=None,
                        help="Cloud Storage emulator base URL (default: $STORAGE_EMULATOR_HOST)")
    parser.add_argument("--bigquery-endpoint", default=None, help="BigQuery emulator base URL")
    parser.add_argument("--project-number", action="append", default=[], metavar="PROJECT=NUMBER",
                        help="pin a project's number (the service agent of its stores is "
                             "service-NUMBER@...); repeatable; other projects get a stable "
                             "number derived from their id")
    parser.add_argument("--data-dir", default=None, help="keep state on disk here and reload it on start")
    parser.add_argument("--instance-delay", type=float, default=0.0, help="seconds of work per instance")
    parser.add_argument("--operation-min-seconds", type=float, default=0.0,
                        help="minimum duration of an import/export operation")
    parser.add_argument("--enforce-iam", action=argparse.BooleanOptionalAction, default=True,
                        help="require the service agent's IAM grants (the default); "
                             "--no-enforce-iam lets every job through and prints a warning")
    parser.add_argument("--grant-propagation-seconds", type=float, default=0.0,
                        help="delay before a fresh grant takes effect")
    parser.add_argument("--count-duplicates-as", choices=DUPLICATE_COUNTINGS, default=DUPLICATES_NOT_COUNTED,
                        help="how an import counts an instance already in the store, which the API "
                             "ignores without saying how it counts it: not at all (the default) or "
                             "as a success")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        require_loopback(args.host)
    except ValueError as exc:
        print(f"healthcare-emulator: {exc}", file=sys.stderr, flush=True)
        return 2
    try:
        projects = ProjectNumbers.from_flags(args.project_number)
    except ValueError as exc:
        print(f"healthcare-emulator: {exc}", file=sys.stderr, flush=True)
        return 2
    server = EmulatorServer(args.host, args.port, storage_url=args.storage_host,
                            bigquery_url=args.bigquery_endpoint, project_numbers=projects.pinned,
                            data_dir=args.data_dir, instance_delay=args.instance_delay,
                            operation_min_seconds=args.operation_min_seconds,
                            enforce_iam=args.enforce_iam,
                            grant_propagation_seconds=args.grant_propagation_seconds,
                            count_duplicates_as=args.count_duplicates_as,
                            verbose=args.verbose)
    if not args.enforce_iam:
        print(f"healthcare-emulator: {not_enforced_warning('--no-enforce-iam')}", file=sys.stderr, flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(f"healthcare-emulator listening on {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
