"""``pulumi-offline preview|up|destroy|refresh [DIR]``, ``pulumi-offline import TYPE NAME ID [DIR]``.

Options of every command: ``--stack NAME``, ``--config-file F``,
``--parallel N``, ``--skip-preview``, ``--show-same``; of ``import``:
``--protect[=false]`` and ``--parent URN``.

A small stand-in for the Pulumi CLI for tests and demos on the local stack
(the Go engine cannot be installed here). It is not a Pulumi replacement: one
Python program, plain-JSON state under ``DIR/.pulumi-offline/``, the
pulumi-gcp types this project uses, dynamic resources through the SDK's
real dynamic provider host, and provider plugins as the engine drives them.

The stack must exist, as for ``pulumi up`` (``RequireStack`` in
pulumi/pulumi's ``pkg/cmd/pulumi/stack/io.go``: "no stack named 'NAME'
found", exit code 6, nothing run or written). There is no ``stack init``
here: a stack exists once it has a config file (``DIR/Pulumi.NAME.yaml`` or
``--config-file``) or saved state (so ``destroy`` works without the file).

Ctrl-C (SIGINT) and SIGTERM behave as in the Pulumi CLI
(:mod:`.cancellation`): the first one cancels (no new step starts, every
provider gets ``Cancel``, the run ends when the steps running do, each one
saved), a second one terminates at once (exit 255).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .cancellation import CancellationScope
from .display import Display
from .messages import UnsupportedError
from .program import PROGRAM_COMMANDS, Project, ProjectError

#: The CLI's exit code after it was terminated.
TERMINATED_EXIT = 255
#: pulumi/pulumi's ``ExitStackNotFound`` (pkg/cmd/pulumi/cmd/exit_codes.go); 2 is its ExitConfigurationError.
EXIT_STACK_NOT_FOUND = 6
EXIT_BAD_PROJECT = 2
DEFAULT_STACK = "dev"


def _flag(text: str) -> bool:
    """A boolean flag's value as the CLI reads ``--protect=false``."""
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise argparse.ArgumentTypeError(f"invalid boolean {text!r} (true or false)")
    return value in ("true", "1")


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


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", "-s", default=None,
                        help=f"the stack: its config is DIR/Pulumi.<stack>.yaml (default {DEFAULT_STACK})")
    common.add_argument("--config-file", default=None, help="stack config file (default DIR/Pulumi.<stack>.yaml)")
    common.add_argument("--parallel", "-p", type=int, default=None,
                        help="at most N resource operations at once (default: PULUMI_PARALLEL, else 4 x the CPUs)")
    common.add_argument("--skip-preview", "-f", action="store_true", help="do not preview first")
    common.add_argument("--show-same", action="store_true", help="list unchanged resources too")
    parser = argparse.ArgumentParser(
        prog="pulumi-offline", description="Run a Pulumi Python program against the local stack (test/demo harness).",
        epilog="Options of every command: --stack NAME, --config-file F, --parallel N, --skip-preview, --show-same; "
               "of import: --protect[=false], --parent URN. See COMMAND --help.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("preview", "show what up would do"), ("up", "create or update the stack's resources"),
                       ("destroy", "delete the stack's resources"),
                       ("refresh", "read the stack's resources back from their providers")):
        command = commands.add_parser(name, parents=[common], help=text)
        command.add_argument("directory", nargs="?", default=".", help="the project directory (holds Pulumi.yaml)")
    adopt = commands.add_parser("import", parents=[common], help="adopt an existing resource into the stack")
    adopt.add_argument("type", help="the resource's type token, e.g. dicom-jobs:index:DicomImportJob")
    adopt.add_argument("name", help="its name in the stack")
    adopt.add_argument("id", help="the id its provider reads it by")
    adopt.add_argument("directory", nargs="?", default=".", help="the project directory (holds Pulumi.yaml)")
    adopt.add_argument("--protect", type=_flag, nargs="?", const=True, default=True,
                       help="protect what is imported from deletion (default true; --protect=false)")
    adopt.add_argument("--parent", default="", help="the URN of its parent (default: the stack)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from .engine import run  # imported late: pulumi is slow to import

    stack = args.stack or DEFAULT_STACK
    try:
        Project.load(args.directory, require_program=args.command in PROGRAM_COMMANDS)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_PROJECT
    missing = missing_stack(args.directory, stack, args.config_file, named=args.stack is not None)
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_STACK_NOT_FOUND
    display = Display(show_same=args.show_same)

    def terminated() -> None:
        sys.stdout.flush()
        os._exit(TERMINATED_EXIT)

    scope = CancellationScope(display, on_terminate=terminated)
    try:
        with scope.installed():
            adopt = args.command == "import"
            result = run(args.command, args.directory, stack=stack, config_file=args.config_file,
                         parallel=args.parallel, display=display, on_engine=scope.attach,
                         skip_preview=args.skip_preview,
                         resource=(args.type, args.name, args.id) if adopt else None,
                         protect=args.protect if adopt else True, parent=args.parent if adopt else "")
    except (ProjectError, UnsupportedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_PROJECT
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
