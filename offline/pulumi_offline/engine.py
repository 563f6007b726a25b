"""``pulumi-offline preview|up|destroy`` as a function, and the names the CLI, demo and tests use.

Why a module of its own: it is the offline engine's front door (``run``,
``open_project``, :class:`Engine`, :class:`Result`, the step errors), so
callers do not depend on how the engine is split inside. The parts and the
pulumi/pulumi file each follows: docs/offline-engine.md#how-it-is-built.
"""

from __future__ import annotations

import os
from typing import Callable, Mapping

from .deployment import Engine, Result
from .display import Display
from .messages import CheckFailed, StepError, protected_delete_message
from .program import Project, load_config
from .registration import go_duration_seconds


def open_project(directory: str | os.PathLike, stack: str, config_file: str | os.PathLike | None = None,
                 *, require_program: bool = True) -> tuple[Project, dict[str, str]]:
    project = Project.load(directory, require_program=require_program)
    return project, load_config(project, stack, config_file)


def run(command: str, directory: str | os.PathLike = ".", *, stack: str = "dev",
        config_file: str | os.PathLike | None = None, parallel: int | None = None,
        env: Mapping[str, str] | None = None, display: Display | None = None,
        on_engine: Callable[[Engine], None] | None = None) -> Result:
    """``pulumi-offline COMMAND`` as a function: ``preview``, ``up`` or ``destroy``.

    ``on_engine`` is handed the engine before it runs (the CLI wires Ctrl-C to :meth:`Engine.cancel`).
    """
    project, config = open_project(directory, stack, config_file, require_program=command != "destroy")
    engine = Engine(project, stack, config, env=env, parallel=parallel, display=display)
    if on_engine is not None:
        on_engine(engine)
    if command == "preview":
        return engine.run_preview()
    if command == "up":
        return engine.run_up()
    if command == "destroy":
        return engine.run_destroy()
    raise ValueError(f"unknown command {command!r}")


__all__ = ["Engine", "Result", "run", "open_project", "CheckFailed", "StepError", "go_duration_seconds",
           "protected_delete_message"]
