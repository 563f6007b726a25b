"""Load a Pulumi project and its stack config, and run its program under the SDK's mocks.

This is where the offline engine leans on *internal* SDK entry points (the
engine-facing seams the SDK's own unit-test support uses); ``SDK_ENTRY_POINTS``
lists them and ``tests/offline/test_offline_contract.py`` fails loudly if an
SDK upgrade moves one:

* ``pulumi.runtime.set_mocks`` with project/stack/preview/monitor,
* ``pulumi.runtime.mocks.MockMonitor`` (subclassed to see dependencies),
* ``pulumi.runtime.stack.run_pulumi_func`` (waits for every registration),
* ``pulumi.runtime.sync_await._sync_await``,
* ``pulumi.runtime.config.set_all_config`` (what the engine feeds as stack config),
* ``pulumi.runtime.settings.get_root_resource`` (stack outputs),
* ``pulumi.runtime.rpc.unwrap_rpc_secret``.

Every run happens in a fresh thread with its own event loop: threads start
with an empty ``contextvars`` context, so the SDK's ambient settings (root
stack, config) of one run never leak into the next one in the same process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import runpy
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

SDK_ENTRY_POINTS = (
    ("pulumi.runtime", "set_mocks"),
    ("pulumi.runtime.mocks", "MockMonitor"),
    ("pulumi.runtime.mocks", "Mocks"),
    ("pulumi.runtime.stack", "run_pulumi_func"),
    ("pulumi.runtime.sync_await", "_sync_await"),
    ("pulumi.runtime.config", "set_all_config"),
    ("pulumi.runtime.settings", "get_root_resource"),
    ("pulumi.runtime.rpc", "unwrap_rpc_secret"),
    ("pulumi.runtime.settings", "SETTINGS"),  # .outputs (pending Output tasks) and .lock
)


#: The commands that run the program; refresh, destroy and import read the saved state only.
PROGRAM_COMMANDS = frozenset({"preview", "up"})


class ProjectError(Exception):
    """The project or its config cannot be loaded (bad Pulumi.yaml, config file...)."""


@dataclass(frozen=True)
class Project:
    directory: Path
    name: str
    runtime: str
    main: Path  # the program file
    #: ``plugins: providers: [{name, path}]`` of Pulumi.yaml: the folder of a provider plugin, by package.
    plugin_paths: Mapping[str, Path] = field(default_factory=dict)
    #: ``runtime: options:`` of Pulumi.yaml (the engine passes them to plugins as ``PULUMI_RUNTIME_*``).
    runtime_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: str | os.PathLike, require_program: bool = True) -> "Project":
        directory = Path(directory).resolve()
        path = directory / "Pulumi.yaml"
        if not path.exists():
            raise ProjectError(f"no Pulumi.yaml in {directory}")
        data = yaml.safe_load(path.read_text()) or {}
        name = data.get("name")
        if not name:
            raise ProjectError(f"{path}: 'name' is required")
        runtime = data.get("runtime")
        runtime_name = runtime.get("name") if isinstance(runtime, Mapping) else runtime
        if runtime_name != "python":
            raise ProjectError(f"{path}: runtime {runtime_name!r} is not supported (python only)")
        main = directory / str(data.get("main") or ".")
        if main.is_dir():
            main = main / "__main__.py"
        if require_program and not main.exists():
            raise ProjectError(f"{path}: program {main} not found")
        options = runtime.get("options") if isinstance(runtime, Mapping) else None
        return cls(directory, str(name), "python", main, _plugin_paths(directory, data.get("plugins")),
                   dict(options) if isinstance(options, Mapping) else {})


def _plugin_paths(directory: Path, plugins: Any) -> dict[str, Path]:
    """Pulumi.yaml's ``plugins.providers`` entries: each path a folder, relative to the project directory,
    that must exist, or every command fails (pulumi/pulumi ``sdk/go/common/resource/plugin/host.go``,
    ``parsePluginOpts`` and ``resolvePluginPath``; the texts are the engine's)."""
    providers = plugins.get("providers") if isinstance(plugins, Mapping) else None
    paths: dict[str, Path] = {}
    for entry in providers or []:
        if not isinstance(entry, Mapping):
            continue
        name = str(entry.get("name") or "")
        if not name:
            raise ProjectError("parsing plugin options for '': name must not be empty")
        path = Path(str(entry.get("path") or ""))
        path = path if path.is_absolute() else (directory / path)
        path = Path(os.path.abspath(path))
        if not path.exists():
            raise ProjectError(f"parsing plugin options for '{name}': no folder at path '{path}'")
        if not path.is_dir():
            raise ProjectError(f"parsing plugin options for '{name}': provider folder '{path}' is not a directory")
        paths[name] = path
    return paths


def _config_value(value: Any) -> str:
    """Config values reach the program as strings; structured values as JSON (as the CLI does)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        raise ProjectError("encrypted (secure:) config values are not supported offline")
    return json.dumps(value)


def load_config(project: Project, stack: str, config_file: str | os.PathLike | None = None) -> dict[str, str]:
    """``Pulumi.<stack>.yaml`` (or ``config_file``) as ``{"ns:key": "value"}``."""
    path = Path(config_file) if config_file else project.directory / f"Pulumi.{stack}.yaml"
    if not path.exists():
        if config_file:
            raise ProjectError(f"config file {path} not found")
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    raw = data.get("config") or {}
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{path}: 'config' must be a mapping")
    return config_strings(project.name, raw)


def config_strings(project_name: str, raw: Mapping[str, Any]) -> dict[str, str]:
    """Stack config as the engine hands it to the program: keys without a namespace get the
    project's (``bucket`` -> ``<project>:bucket``), structured values become JSON."""
    config: dict[str, str] = {}
    for key, value in raw.items():
        key = str(key)
        full = key if ":" in key else f"{project_name}:{key}"
        config[full] = _config_value(value)
    return config


def program_error_message(exc: BaseException, project: Project, stack: str) -> str | None:
    """The message of a program that stopped with ``pulumi.RunError``, without a traceback; else None.

    The Python language host reports a ``RunError`` as its message alone
    (``pulumi.log.error(str(e))`` in pulumi/pulumi's
    ``sdk/python/cmd/pulumi-language-python-exec``); any other exception
    gets "Program failed with an unhandled exception" and the traceback.
    ``Config.require`` of a key the stack's config lacks raises a RunError
    (``ConfigMissingError``) whose message ends with a ``pulumi config set``
    command, which does not exist here: that one names the stack's file instead.
    """
    from pulumi import RunError
    from pulumi.config import ConfigMissingError

    if not isinstance(exc, RunError):
        return None
    if not isinstance(exc, ConfigMissingError):
        return str(exc)
    path = project.directory / f"Pulumi.{stack}.yaml"
    return (f"missing required configuration value {exc.key}: add `{exc.key}: VALUE` under `config:` "
            f"in {path} (or the file given with --config-file)")


def run_program(project: Project, stack: str, config: Mapping[str, str], *, mocks: Any, monitor: Any,
                preview: bool, max_threads: int = 256, after: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run ``project``'s program once; return its resolved stack outputs.

    Re-raises the program's error (after every registration finished, as
    ``run_pulumi_func`` does). ``after`` runs in the program's thread once the
    program is done (success or not), before the event loop closes.
    """
    return run_function(lambda: runpy.run_path(str(project.main), run_name="__main__"), project.name, stack,
                        config, mocks=mocks, monitor=monitor, preview=preview, directory=project.directory,
                        max_threads=max_threads, after=after)


def run_function(program: Callable[[], Any], project_name: str, stack: str, config: Mapping[str, str], *,
                 mocks: Any, monitor: Any, preview: bool, directory: Path | None = None,
                 max_threads: int = 256, after: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run ``program`` (any function that registers resources) as project ``project_name``'s program.

    What :func:`run_program` does with a project's ``__main__.py``; tests use it
    to run a few lines of Pulumi code under their own mocks and monitor. With
    ``directory`` the program runs there (current directory and first on
    ``sys.path``), as a program file does.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["outputs"] = _run_in_thread(program, project_name, directory, stack, config, mocks, monitor,
                                            preview, max_threads, after)
        except BaseException as exc:  # noqa: BLE001 handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"pulumi-offline-{stack}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["outputs"]


def quiet_loop_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Report the loop's stray errors in one line, never with a formatted traceback.

    After a failed registration the SDK leaves futures whose exception nobody
    retrieves; the engine has already reported that failure. Asyncio would log
    them when the garbage collector reaches the futures, and Python 3.11's
    traceback formatting calls ``ast.parse``: run from a collection that
    interrupts another parse (pytest rewriting a module, say), that crashes the
    parser with ``SystemError: AST constructor recursion depth mismatch``.
    """
    def handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = context.get("message", "")
        if "never retrieved" in message:
            return
        exception = context.get("exception")
        print(f"pulumi-offline: event loop: {message}" + (f": {exception!r}" if exception else ""),
              file=sys.stderr)

    loop.set_exception_handler(handler)


class WorkerLoops:
    """An event loop for each registration thread, closed with the run.

    Why: the SDK's mock monitor answers a registration with ``_sync_await``,
    which makes a thread without a loop a new one and never closes it. Such a
    loop, collected at interpreter exit after its sockets, prints "Exception
    ignored in BaseEventLoop.__del__ ... Invalid file descriptor: -1" with a
    traceback on stderr (seen at the end of ``make demo`` and in tests). Given
    here, the loops are closed when the run ends; one still running then (a
    registration left in flight) is left to the collector.
    """

    def __init__(self) -> None:
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def give_this_thread_one(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with self._lock:
            self._loops.append(loop)

    def close_idle(self) -> None:
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()


def _run_in_thread(program: Callable[[], Any], project_name: str, directory: Path | None, stack: str,
                   config: Mapping[str, str], mocks: Any, monitor: Any, preview: bool, max_threads: int,
                   after: Callable[[], Any] | None) -> dict[str, Any]:
    import pulumi
    from pulumi.runtime import config as sdk_config
    from pulumi.runtime import settings as sdk_settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    quiet_loop_errors(loop)
    # The SDK runs every registration in the loop's default executor: make it
    # big enough that parallelism is not capped here (``--parallel`` caps it).
    worker_loops = WorkerLoops()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="offline-reg",
                                                     initializer=worker_loops.give_this_thread_one)
    loop.set_default_executor(executor)
    # Output tasks of an earlier run in this process (bound to its closed loop) must not be awaited here.
    with sdk_settings.SETTINGS.lock:
        sdk_settings.SETTINGS.outputs.clear()
    sdk_config.set_all_config(dict(config))
    pulumi.runtime.set_mocks(mocks, project=project_name, stack=stack, preview=preview, monitor=monitor)
    cwd = os.getcwd()
    program_dir = str(directory) if directory is not None else cwd
    added = program_dir not in sys.path and directory is not None
    if added:
        sys.path.insert(0, program_dir)
    try:
        os.chdir(program_dir)
        _sync_await(run_pulumi_func(program))
        root = sdk_settings.get_root_resource()
        outputs = dict(getattr(root, "outputs", {}) or {})
        if not outputs:
            return {}
        return _sync_await(pulumi.Output.from_input(outputs).future()) or {}
    finally:
        if after is not None:
            after()  # e.g. wait for registrations still in flight after a failure
        os.chdir(cwd)
        if added:
            try:
                sys.path.remove(program_dir)
            except ValueError:
                pass
        with sdk_settings.SETTINGS.lock:
            sdk_settings.SETTINGS.outputs.clear()
        executor.shutdown(wait=False)
        worker_loops.close_idle()
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        except Exception:  # noqa: BLE001 best effort
            pass
        loop.close()
