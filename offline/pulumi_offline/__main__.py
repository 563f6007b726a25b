"""``pulumi-offline preview|up|destroy [--stack NAME] [--config-file F] [--parallel N] [--skip-preview] [DIR]``.

A small stand-in for the Pulumi CLI for tests and demos on the local stack
(the Go engine cannot be installed here). It is not a Pulumi replacement: one
Python program, plain-JSON state under ``DIR/.pulumi-offline/``, the
pulumi-gcp types this project uses, dynamic resources through the SDK's
real dynamic provider host, and provider plugins as the engine drives them.

Ctrl-C (SIGINT) and SIGTERM behave as in the Pulumi CLI
(:mod:`.cancellation`): the first one cancels (no new step starts, every
provider gets ``Cancel``, the run ends when the steps running do, each one
saved), a second one terminates at once (exit 255).
"""

from __future__ import annotations

import argparse
import os
import sys

from .cancellation import CancellationScope
from .display import Display
from .messages import UnsupportedError
from .program import ProjectError

#: The CLI's exit code after it was terminated.
TERMINATED_EXIT = 255


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulumi-offline", description="Run a Pulumi Python program against the local stack (test/demo harness).")
    parser.add_argument("command", choices=("preview", "up", "destroy"))
    parser.add_argument("directory", nargs="?", default=".", help="the project directory (holds Pulumi.yaml)")
    parser.add_argument("--stack", "-s", default="dev")
    parser.add_argument("--config-file", default=None, help="stack config file (default DIR/Pulumi.<stack>.yaml)")
    parser.add_argument("--parallel", "-p", type=int, default=None,
                        help="at most N resource operations at once (default: PULUMI_PARALLEL, else 4 x the CPUs)")
    parser.add_argument("--skip-preview", "-f", action="store_true",
                        help="do not preview before up or destroy")
    parser.add_argument("--show-same", action="store_true", help="list unchanged resources too")
    args = parser.parse_intermixed_args(argv)

    from .engine import run  # imported late: pulumi is slow to import

    display = Display(show_same=args.show_same)

    def terminated() -> None:
        sys.stdout.flush()
        os._exit(TERMINATED_EXIT)

    scope = CancellationScope(display, on_terminate=terminated)
    try:
        with scope.installed():
            result = run(args.command, args.directory, stack=args.stack, config_file=args.config_file,
                         parallel=args.parallel, display=display, on_engine=scope.attach,
                         skip_preview=args.skip_preview)
    except (ProjectError, UnsupportedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
