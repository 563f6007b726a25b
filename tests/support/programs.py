"""Run Pulumi programs through the offline engine (``pulumi_offline``) and read what they left.

The example programs and the root program run against ONE local stack per
test module with IAM enforced (the default): the Healthcare service
agent can read or write a bucket or dataset only after the program's own
grants. Tests copy a program to ``tmp_path`` (the engine keeps its state
beside the program, never in the checkout), write a stack config, run ``up``
/ ``destroy`` and read back the steps, the saved state, and (through
:class:`support.cloud.Cloud`) what the emulators hold. The offline engine's
own tests use the same copies, config and state readers on the small
programs of ``tests/offline/programs``.
"""

from __future__ import annotations

import gc
import io
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from healthcare_emulator.stack import DEFAULT_PROJECT, LocalStack
from pulumi_offline.display import Display
from pulumi_offline.engine import Result, run
from pulumi_offline.plugins import plugin_runtime, plugin_virtualenv
from .emulator import (ROLE_BQ_DATA_EDITOR, ROLE_BQ_JOB_USER, ROLE_OBJECT_ADMIN,  # noqa: F401 (re-exported)
                       ROLE_OBJECT_VIEWER, EmulatorAdmin)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OFFLINE_PROGRAMS = ROOT / "tests" / "offline" / "programs"
OFFLINE_SUPPORT = OFFLINE_PROGRAMS / "_support" / "offline_support.py"
PROJECT = DEFAULT_PROJECT
STACK = "test"
#: Permission-denied retry window for the provider (seconds): missing grants fail fast.
PERMISSION_RETRY_SECONDS = "1"

JOB = "job"  # a DicomImportJob or DicomExportJob (dynamic resource or the provider plugin's)


# --------------------------------------------------------------------------- the stack
def start_enforcing_stack(log_dir: Path) -> LocalStack:
    """A fresh local stack whose Healthcare emulator enforces IAM, as by default (caller stops it)."""
    stack = LocalStack(log_dir=log_dir).start()
    config = EmulatorAdmin(stack.healthcare_url).get("config")
    assert config["enforceIam"] is True, config
    return stack


def engine_env(stack: LocalStack) -> dict[str, str]:
    return {**stack.env(), "DICOM_JOBS_PERMISSION_RETRY_SECONDS": PERMISSION_RETRY_SECONDS}


# --------------------------------------------------------------------------- programs
@dataclass
class Program:
    directory: Path
    stack: LocalStack
    stack_name: str = STACK

    def write_config(self, config: dict[str, Any]) -> Path:
        return write_config(self.directory, config, self.stack_name)

    def run(self, command: str) -> Result:
        out = io.StringIO()
        result = run(command, self.directory, stack=self.stack_name, env=engine_env(self.stack),
                     display=Display(out))
        # After a failed run the SDK's registration futures hold exceptions nobody retrieved; their
        # finalizers log a traceback whenever the GC reaches them. On CPython 3.11 that logging parses
        # source (traceback caret anchors) and, when the GC fires inside another ast.parse (pytest's
        # assertion rewriting of a lazily imported plugin), corrupts that parse: "SystemError: AST
        # constructor recursion depth mismatch". Collect here, at a harmless moment.
        gc.collect()
        result.text = out.getvalue()  # type: ignore[attr-defined]
        return result

    def up(self) -> Result:
        return self.run("up")

    def destroy(self) -> Result:
        return self.run("destroy")

    def state(self) -> dict[str, Any]:
        return state_of(self.directory, self.stack_name)

    def state_names(self) -> set[str]:
        return set(by_name(self.state()))


def copy_program(source: Path, target: Path, patches: Iterable[tuple[str, str]] = ()) -> Path:
    """Copy a program directory (no state, no venv); apply exact textual patches to ``__main__.py``."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".pulumi-offline", "venv", ".venv",
                                                                    "__pycache__", "Pulumi.*.yaml"))
    if (source / "Pulumi.yaml").exists() and not (target / "Pulumi.yaml").exists():
        shutil.copy(source / "Pulumi.yaml", target / "Pulumi.yaml")
    _patch(target / "__main__.py", patches)
    return target


def copy_root_program(target: Path, patches: Iterable[tuple[str, str]] = ()) -> Path:
    """Copy the repository's root program (``Pulumi.yaml`` + ``__main__.py``), patched likewise."""
    target.mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", target / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", target / "__main__.py")
    link_plugin_folders(ROOT, target)
    _patch(target / "__main__.py", patches)
    return target


def link_plugin_folders(source: Path, target: Path) -> None:
    """The plugin folders ``source``'s ``Pulumi.yaml`` names by relative path, linked into its copy
    ``target``: the engine fails every command when one is missing (docs/offline-engine.md)."""
    project = yaml.safe_load((source / "Pulumi.yaml").read_text()) or {}
    for entry in (project.get("plugins") or {}).get("providers") or []:
        path = Path(str(entry.get("path") or ""))
        if path.is_absolute() or not (source / path).is_dir() or (target / path).exists():
            continue
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).symlink_to((source / path).resolve(), target_is_directory=True)
        _link_plugin_virtualenv(source / path, target / path)


def _link_plugin_virtualenv(source: Path, target: Path) -> None:
    """A plugin's ``virtualenv`` outside its folder (``../.venv``), linked beside the copy too: the
    host joins that path to the folder's path as written (lexically), not to the link's target."""
    manifest = source / "PulumiPlugin.yaml"
    if not manifest.is_file():
        return
    _name, options = plugin_runtime(manifest)
    there, here = plugin_virtualenv(source, options)[1], plugin_virtualenv(target, options)[1]
    if there.is_dir() and not here.exists():
        here.parent.mkdir(parents=True, exist_ok=True)
        here.symlink_to(there.resolve(), target_is_directory=True)


def _patch(main: Path, patches: Iterable[tuple[str, str]]) -> None:
    """Apply ``(old, new)`` replacements; each ``old`` must match exactly once, so a
    drifting program fails the test loudly instead of silently running unpatched."""
    text = main.read_text()
    for old, new in patches:
        assert text.count(old) == 1, f"patch anchor not found exactly once in {main}: {old!r}"
        text = text.replace(old, new)
    main.write_text(text)


def make_program(tmp_path: Path, name: str, config: dict[str, Any], stack: str = "dev") -> Path:
    """A private copy of ``tests/offline/programs/<name>`` (plus its support module) with ``Pulumi.<stack>.yaml``."""
    target = tmp_path / name
    if not target.exists():
        shutil.copytree(OFFLINE_PROGRAMS / name, target)
        shutil.copy(OFFLINE_SUPPORT, target / OFFLINE_SUPPORT.name)
    write_config(target, config, stack)
    return target


# --------------------------------------------------------------------------- config, state, logs
def write_config(directory: Path, config: dict[str, Any], stack: str = "dev") -> Path:
    """``Pulumi.<stack>.yaml`` holding ``config`` (written as JSON, which is YAML)."""
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(json.dumps({"config": config}, indent=2))
    return path


def state_of(directory: Path, stack: str = "dev") -> dict[str, Any]:
    """The offline engine's saved state of ``stack`` (kept beside the program)."""
    return json.loads((directory / ".pulumi-offline" / f"{stack}.json").read_text())


def by_name(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resources of a saved state by their name (the last part of the URN)."""
    return {r["urn"].rsplit("::", 1)[-1]: r for r in state["resources"]}


def read_log(path: Path) -> list[dict[str, Any]]:
    """A JSON-lines log a test program wrote (empty when it wrote none)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def max_overlap(entries: list[dict[str, Any]]) -> int:
    """Most create calls running at once, from their log entries' start/end times."""
    return most_at_once([e["start"] for e in entries], [e["t"] for e in entries])


def most_at_once(starts: list[float], ends: list[float]) -> int:
    """Most calls running at once, from their start and end times (an end at the same time as a
    start counts first: the one ended before the other began)."""
    points = sorted([(t, 1) for t in starts] + [(t, -1) for t in ends])
    current = best = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best


# --------------------------------------------------------------------------- steps and URNs
def urn_type(urn: str) -> str:
    """The resource type of a URN, e.g. ``gcp:storage/bucket:Bucket`` (parent types dropped)."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


def short_type(urn: str) -> str:
    """``job`` for the job resources (dynamic: ``pulumi-python:dynamic/dicom-jobs:DicomImportJob`` or
    ``...:DicomExportJob``; on the provider plugin: ``dicom-jobs:index:DicomImportJob`` or ``...:DicomExportJob``),
    the class name for our components, the type token otherwise."""
    kind = urn_type(urn)
    if kind.startswith(("pulumi-python:dynamic", "dicom-jobs:index:")):
        return JOB
    if kind.startswith("dicom-jobs:components:"):
        return kind.rsplit(":", 1)[-1]
    return kind


def counts_by_type(result: Result, kind: str | None = None) -> Counter:
    """``{type: n}`` for the steps of ``kind`` (all kinds when None)."""
    return Counter(short_type(urn) for k, urn in result.steps if kind is None or k == kind)


def steps_of(result: Result, kind: str) -> list[str]:
    """Resource names of the steps of ``kind``."""
    return sorted(urn.rsplit("::", 1)[-1] for k, urn in result.steps if k == kind)


def job_urns(result: Result) -> dict[str, str]:
    """Name -> URN of the job resources of a run."""
    return {urn.rsplit("::", 1)[-1]: urn for _, urn in result.steps
            if short_type(urn) == JOB}


def state_job_outputs(program: Program) -> dict[str, dict[str, Any]]:
    """Name -> outputs of the job resources in the saved state."""
    return {r["urn"].rsplit("::", 1)[-1]: r["outputs"] for r in program.state()["resources"]
            if short_type(r["urn"]) == JOB}


def bucket_grant(bucket: str, role: str, member: str) -> tuple[str, str, str]:
    return (f"//storage.googleapis.com/projects/_/buckets/{bucket}", role, member)


def dataset_grant(dataset: str, role: str, member: str) -> tuple[str, str, str]:
    return (f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/{dataset}", role, member)


def project_grant(role: str, member: str) -> tuple[str, str, str]:
    return (f"//cloudresourcemanager.googleapis.com/projects/{PROJECT}", role, member)


def assert_permission_failure(result: Result, agent_email: str, role: str) -> str:
    """The run failed PERMISSION_DENIED for the service agent, with the hint naming ``role``."""
    assert not result.ok, result.text  # type: ignore[attr-defined]
    text = "\n".join(result.errors)
    assert "PERMISSION_DENIED" in text or "Permission denied" in text, text
    assert agent_email in text, text
    assert role in text, text
    hint = next((line for line in text.splitlines() if "Hint:" in line), "")
    assert f" {role} on " in hint and f"to serviceAccount:{agent_email}" in hint, text
    assert_only_host_frames(text)
    return text


def assert_only_host_frames(text: str) -> None:
    """A job's failure as ``pulumi up`` shows it: the engine prints the provider's gRPC message as
    it is, and the SDK's dynamic host sends a formatted traceback; the provider cuts its own frames,
    so the user sees only the host's and the provider method's (``dynamic/providers.py``)."""
    frames = [line.strip() for line in text.splitlines() if line.strip().startswith('File "')]
    allowed = ("pulumi/dynamic/__main__.py", "pulumi_dicom_jobs/dynamic/providers.py")
    assert all(any(part in frame for part in allowed) for frame in frames), text
