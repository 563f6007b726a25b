"""The recording test plugin (tests/offline/plugins/recorder) and the program that uses it.

The offline engine's tests assert the calls the engine makes on a provider
plugin, in order and as sent; the recorder logs each one (its docstring
says what its resources can be asked to do). A test builds a project of
``recorder:index:Thing`` resources with :func:`things_program` (the plugin
named in ``Pulumi.yaml`` as a folder, as the engine wants it) and reads the
calls back with :func:`calls`.
"""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path
from typing import Any, Iterable

import yaml

from pulumi_offline.display import Display
from pulumi_offline.engine import Result, run
from support.programs import make_program, read_log, write_config

RECORDER = Path(__file__).resolve().parent / "plugins" / "recorder"
TYPE = "recorder:index:Thing"


def binary_plugin(folder: Path) -> Path:
    """``folder`` holding an executable ``pulumi-resource-recorder`` (a wrapper that runs the recorder)."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "pulumi-resource-recorder"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{RECORDER / "__main__.py"}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def source_plugin(folder: Path) -> Path:
    """``folder`` as a source plugin: the recorder's ``__main__.py`` and a ``PulumiPlugin.yaml`` whose
    virtualenv is this test run's (``sys.prefix``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__main__.py").write_text((RECORDER / "__main__.py").read_text())
    (folder / "PulumiPlugin.yaml").write_text(yaml.safe_dump(
        {"runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": sys.prefix}}}))
    return folder


def set_plugin_path(program: Path, name: str, path: str | Path) -> None:
    """``Pulumi.yaml``'s ``plugins: providers:`` entry for package ``name``."""
    project = yaml.safe_load((program / "Pulumi.yaml").read_text())
    project["plugins"] = {"providers": [{"name": name, "path": str(path)}]}
    (program / "Pulumi.yaml").write_text(yaml.safe_dump(project))


def things_program(tmp_path: Path, things: list[dict[str, Any]], *, plugin: Path | None = None,
                   config: dict[str, Any] | None = None) -> Path:
    """A copy of the ``things`` program with its stack config; the recorder plugin in ``plugin`` (a
    folder; a binary one under ``tmp_path`` unless given)."""
    program = make_program(tmp_path, "things", {"things": things, **(config or {})})
    set_plugin_path(program, "recorder", plugin or binary_plugin(tmp_path / "recorder-plugin"))
    return program


def set_things(program: Path, things: list[dict[str, Any]], **config: Any) -> None:
    write_config(program, {"things": things, **config})


def recorder_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The recorder's log and world files under ``tmp_path`` (the engine passes its env to plugins)."""
    return {"RECORDER_LOG": str(tmp_path / "recorder.jsonl"), "RECORDER_WORLD": str(tmp_path / "world.json"),
            **extra}


def run_things(command: str, program: Path, env: dict[str, str], **kwargs: Any) -> Result:
    """``pulumi-offline COMMAND`` in-process; ``result.text`` holds what it printed."""
    out = io.StringIO()
    result = run(command, program, env=env, display=Display(out), **kwargs)
    result.text = out.getvalue()  # type: ignore[attr-defined]
    return result


def calls(env: dict[str, str], *events: str, name: str | None = None) -> list[dict[str, Any]]:
    """The recorder's log entries (of ``events`` only, when given; of resource ``name`` only, when given)."""
    entries = read_log(Path(env["RECORDER_LOG"]))
    return [e for e in entries if (not events or e["event"] in events)
            and (name is None or str(e.get("urn", "")).endswith(f"::{name}"))]


def sequence(env: dict[str, str], events: Iterable[str] = ("CheckConfig", "DiffConfig", "Configure", "Check",
                                                             "Diff", "Create", "Read", "Update", "Delete",
                                                             "Cancel", "SIGINT", "SIGTERM")) -> list[str]:
    """The recorder's calls as ``Event`` or ``Event name`` strings, in order."""
    wanted = set(events)
    out = []
    for entry in read_log(Path(env["RECORDER_LOG"])):
        if entry["event"] in wanted:
            urn = str(entry.get("urn", ""))
            out.append(f"{entry['event']} {urn.rsplit('::', 1)[-1]}" if "::" in urn and "providers" not in urn
                       else entry["event"])
    return out


def world(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env["RECORDER_WORLD"])
    return json.loads(path.read_text()) if path.exists() else {}


def set_world(env: dict[str, str], content: dict[str, Any]) -> None:
    Path(env["RECORDER_WORLD"]).write_text(json.dumps(content))


def secret(value: Any) -> dict[str, Any]:
    """A value as the wire carries a secret (what a plugin that accepts secrets receives)."""
    return {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": value}


__all__ = ["RECORDER", "TYPE", "binary_plugin", "source_plugin", "set_plugin_path", "things_program",
           "set_things", "recorder_env", "run_things", "calls", "sequence", "world", "set_world", "secret"]
