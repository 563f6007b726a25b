"""Helpers for the offline engine's tests: copy a test program, write its stack config, read logs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

PROGRAMS = Path(__file__).parent / "programs"
SUPPORT = PROGRAMS / "_support" / "offline_support.py"


def make_program(tmp_path: Path, name: str, config: dict[str, Any], stack: str = "dev") -> Path:
    """A private copy of ``programs/<name>`` (plus the support module) with ``Pulumi.<stack>.yaml``."""
    target = tmp_path / name
    if not target.exists():
        shutil.copytree(PROGRAMS / name, target)
        shutil.copy(SUPPORT, target / SUPPORT.name)
    write_config(target, config, stack)
    return target


def write_config(directory: Path, config: dict[str, Any], stack: str = "dev") -> None:
    (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def state_of(directory: Path, stack: str = "dev") -> dict[str, Any]:
    return json.loads((directory / ".pulumi-offline" / f"{stack}.json").read_text())


def by_name(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["urn"].rsplit("::", 1)[-1]: r for r in state["resources"]}


def max_overlap(entries: list[dict[str, Any]]) -> int:
    """Most create calls running at once, from their start/end times."""
    points = sorted([(e["start"], 1) for e in entries] + [(e["t"], -1) for e in entries],
                    key=lambda p: (p[0], p[1]))
    current = best = 0
    for _, delta in points:
        current += delta
        best = max(best, current)
    return best
