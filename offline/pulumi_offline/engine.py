"""``pulumi-offline preview|up|destroy`` as a function, and the names the CLI, demo and tests use.

Why a module of its own: it is the offline engine's front door (``run``,
``open_project``, :class:`Engine`, :class:`Result`, the step errors), so
callers do not depend on how the engine is split inside. As the CLI does
(pulumi/pulumi ``pkg/backend/apply.go`` ``PreviewThenPromptThenExecute``),
``up``, ``destroy``, ``refresh`` and ``import`` preview first and stop there if the preview fails,
unless ``skip_preview`` (``--skip-preview``); there is no prompt (as with
``--yes``). ``--parallel`` defaults as the CLI's does
(``pkg/cmd/pulumi/operations/up.go`` ``defaultParallel``). The parts and
the pulumi/pulumi file each follows: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from .deployment import Engine, Result
from .display import Display
from .messages import CheckFailed, StepError, protected_delete_message
from .program import PROGRAM_COMMANDS, Project, load_config
from .registration import go_duration_seconds

COMMANDS = ("preview", "up", "destroy", "refresh", "import")


def _positive_int(text: str | None) -> int | None:
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


def default_parallel(env: Mapping[str, str]) -> int:
    """``PULUMI_PARALLEL`` when positive, else 4 x GOMAXPROCS: the ``GOMAXPROCS`` variable when
    positive, else the CPUs this process may run on (Go's ``runtime.NumCPU``)."""
    from_env = _positive_int(env.get("PULUMI_PARALLEL"))
    if from_env is not None:
        return from_env
    procs = _positive_int(env.get("GOMAXPROCS")) or len(os.sched_getaffinity(0))
    return 4 * procs


def open_project(directory: str | os.PathLike, stack: str, config_file: str | os.PathLike | None = None,
                 *, require_program: bool = True) -> tuple[Project, dict[str, str]]:
    project = Project.load(directory, require_program=require_program)
    return project, load_config(project, stack, config_file)


def run(command: str, directory: str | os.PathLike = ".", *, stack: str = "dev",
        config_file: str | os.PathLike | None = None, parallel: int | None = None,
        env: Mapping[str, str] | None = None, display: Display | None = None,
        on_engine: Callable[[Engine], None] | None = None, skip_preview: bool = False,
        resource: tuple[str, str, str] | None = None, protect: bool = True, parent: str = "") -> Result:
    """``pulumi-offline COMMAND`` as a function: ``preview``, ``up``, ``destroy``, ``refresh`` or
    ``import`` (``resource``: its TYPE, NAME and ID; ``protect`` and ``parent`` as the CLI's flags).

    ``on_engine`` is handed each engine before it runs (a preview, then the update: the CLI wires
    Ctrl-C to the one running).
    """
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}")
    if command == "import" and resource is None:
        raise ValueError("import needs resource=(TYPE, NAME, ID)")
    project, config = open_project(directory, stack, config_file,
                                   require_program=command in PROGRAM_COMMANDS)
    environment = {**os.environ, **(env or {})}
    degree = parallel if parallel and parallel > 0 else default_parallel(environment)
    display = display or Display()

    def engine(preview: bool) -> Engine:
        made = Engine(project, stack, config, env=env, parallel=degree, preview=preview, display=display)
        if on_engine is not None:
            on_engine(made)
        return made

    def go(made: Engine) -> Result:
        if command == "destroy":
            return made.run_destroy()
        if command == "refresh":
            return made.run_refresh()
        if command == "import":
            return made.run_import(*resource, protect=protect, parent=parent)
        return made.run_up()

    if command == "preview" or not skip_preview:
        result = go(engine(preview=True))
        if command == "preview" or not result.ok or result.cancelled:
            return result
    return go(engine(preview=False))


__all__ = ["Engine", "Result", "run", "open_project", "default_parallel", "CheckFailed", "StepError",
           "go_duration_seconds", "protected_delete_message"]
