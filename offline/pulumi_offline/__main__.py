"""``pulumi-offline preview|up|destroy [--stack NAME] [--config-file F] [--parallel N] [DIR]``.

A small stand-in for the Pulumi CLI for tests and demos on the local stack
(the Go engine cannot be installed here). It is not a Pulumi replacement: one
Python program, plain-JSON state under ``DIR/.pulumi-offline/``, the
pulumi-gcp types this project uses, and dynamic resources through the SDK's
real dynamic provider host, and provider plugins (``dicom-jobs``) as the
engine drives them.

The stack must exist, as for ``pulumi up`` (``RequireStack`` in
pulumi/pulumi's ``pkg/cmd/pulumi/stack/io.go``: "no stack named 'NAME'
found", exit code 6, nothing run or written). There is no ``stack init``
here: a stack exists once it has a config file (``DIR/Pulumi.NAME.yaml`` or
``--config-file``) or saved state (so ``destroy`` works without the file).

Ctrl-C (SIGINT) behaves as in the Pulumi CLI: the first one cancels (no new
step starts, every provider gets ``Cancel``, the run ends when the steps in
flight do), a second one terminates at once.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from .display import Display
from .messages import UnsupportedError
from .program import Project, ProjectError

#: pulumi/pulumi's ``ExitStackNotFound`` (pkg/cmd/pulumi/cmd/exit_codes.go); 2 is its ExitConfigurationError.
EXIT_STACK_NOT_FOUND = 6
EXIT_BAD_PROJECT = 2
DEFAULT_STACK = "dev"

_CANCELLING = ("^C received; cancelling. If you would like to terminate immediately, press ^C again.")
_ORPHANS = "Note that terminating immediately may lead to orphaned resources and other inconsistencies."


def _cancel_on_sigint(engine, display: Display, *, preview: bool) -> None:
    """First SIGINT: say so and cancel the engine (Cancel RPCs off the signal handler); second: exit."""
    received = []

    def handler(signum, frame) -> None:  # noqa: ARG001 signal handler signature
        if received:
            display.line("^C received; terminating")
            os._exit(255)
        received.append(signum)
        display.line(_CANCELLING if preview else f"{_CANCELLING}\n{_ORPHANS}")
        threading.Thread(target=engine.cancel, name="cancel", daemon=True).start()

    signal.signal(signal.SIGINT, handler)


def missing_stack(directory: str | os.PathLike, stack: str, config_file: str | None,
                  *, named: bool) -> str | None:
    """Why ``stack`` does not exist in ``directory`` (the error line), or None when it does.

    ``named``: the user gave ``--stack`` (else the default stack is meant, and the line says so).
    """
    from .state import state_path

    project_dir = Path(directory)
    config = project_dir / f"Pulumi.{stack}.yaml"  # as the user named the folder ("." shows none)
    if config_file or config.exists() or state_path(project_dir, stack).exists():
        return None
    known = sorted(path.name[len("Pulumi."):-len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))
    which = "" if named else " (the default stack; choose another with --stack NAME)"
    here = f"; stacks with a config file here: {', '.join(known)}" if known else ""
    return (f"no stack named '{stack}' found{which}: pulumi-offline has no `stack init`, a stack is its "
            f"config file: create {config} (a `config:` mapping, see docs/offline-engine.md) or give one "
            f"with --config-file{here}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulumi-offline", description="Run a Pulumi Python program against the local stack (test/demo harness).")
    parser.add_argument("command", choices=("preview", "up", "destroy"))
    parser.add_argument("directory", nargs="?", default=".", help="the project directory (holds Pulumi.yaml)")
    parser.add_argument("--stack", "-s", default=None,
                        help=f"the stack: its config is DIR/Pulumi.<stack>.yaml (default {DEFAULT_STACK})")
    parser.add_argument("--config-file", default=None, help="stack config file (default DIR/Pulumi.<stack>.yaml)")
    parser.add_argument("--parallel", "-p", type=int, default=None,
                        help="at most N resource operations at once (default: unbounded)")
    parser.add_argument("--show-same", action="store_true", help="list unchanged resources too")
    args = parser.parse_intermixed_args(argv)

    from .engine import run  # imported late: pulumi is slow to import

    stack = args.stack or DEFAULT_STACK
    try:
        Project.load(args.directory, require_program=args.command != "destroy")
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_PROJECT
    missing = missing_stack(args.directory, stack, args.config_file, named=args.stack is not None)
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_STACK_NOT_FOUND
    display = Display(show_same=args.show_same)
    try:
        result = run(args.command, args.directory, stack=stack, config_file=args.config_file,
                     parallel=args.parallel, display=display,
                     on_engine=lambda engine: _cancel_on_sigint(engine, display, preview=args.command == "preview"))
    except (ProjectError, UnsupportedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_PROJECT
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
