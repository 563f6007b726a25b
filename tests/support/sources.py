"""The product's sources as a clone of the repository holds them, copied to a scratch folder.

Why a copy: installing from it (``pip install .``, or Pulumi's Python host
installing ``provider/requirements.txt``) writes build files (``build/``,
``*.egg-info``) and virtualenvs next to the sources; in a copy they never
reach the worktree. What is copied is what building the product reads: its
``pyproject.toml``, the ``README.md`` it names, and ``provider/`` (the
package and the source-plugin directory around it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["ROOT", "copy_product"]

ROOT = Path(__file__).resolve().parents[2]
_IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", ".venv")


def copy_product(target: Path) -> Path:
    """Copy the product's sources into ``target`` (created if needed); returns ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "pyproject.toml", target / "pyproject.toml")
    shutil.copy2(ROOT / "README.md", target / "README.md")
    shutil.copytree(ROOT / "provider", target / "provider", ignore=_IGNORED)
    return target
