"""Pulumi's Python language host, doing for a source plugin what its Go source does, step by step.

Why: the Pulumi CLI cannot run here, and what a user's ``pulumi package
add`` or ``plugins: providers: - path:`` does with ``provider/`` is the
language host's work. Each step below follows pulumi/pulumi (v3.259, the
table in docs/plugin.md cites the same functions):

* the manifest (``sdk/go/common/workspace/project.go`` ``PluginProject``):
  ``runtime`` and its options; there is no ``main``;
* the virtualenv (``sdk/python/cmd/pulumi-language-python/main.go``
  ``parseOptions``, ``sdk/python/toolchain/pip.go``
  ``resolveVirtualEnvironmentPath``): the ``virtualenv`` option relative to
  the plugin directory, ``venv`` when unset;
* the install (``pip.go`` ``InstallDependencies``): ``python3 -m venv
  VENV``, then ``VENV/bin/python -m pip install --upgrade pip setuptools
  wheel`` and ``... -m pip install -r requirements.txt``, both run *from the
  plugin directory* with the virtualenv activated (``toolchain.go``
  ``ActivateVirtualEnv``);
* the run (``main.go`` ``RunPlugin``): ``VENV/bin/python PLUGIN_DIR
  ARGS...`` because ``__main__.py`` is there (the host's probe of
  ``pulumi.run.plugin`` only matters without it), with the *engine's*
  working directory (``req.Pwd``), not the plugin's, and the activated
  environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import yaml

__all__ = ["PythonLanguageHost"]

_STEP_TIMEOUT_S = 900


@dataclass(frozen=True)
class PythonLanguageHost:
    """The host's view of one plugin directory (``PulumiPlugin.yaml`` read, paths resolved)."""

    plugin_dir: Path
    manifest: dict
    venv: Path

    @classmethod
    def load(cls, plugin_dir: Path) -> "PythonLanguageHost":
        manifest = yaml.safe_load((plugin_dir / "PulumiPlugin.yaml").read_text())
        runtime = manifest["runtime"]
        options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
        virtualenv = options.get("virtualenv") or "venv"
        venv = Path(virtualenv) if os.path.isabs(virtualenv) else plugin_dir / virtualenv
        return cls(plugin_dir.resolve(), manifest, Path(os.path.normpath(venv.resolve())))

    @property
    def runtime_name(self) -> str:
        runtime = self.manifest["runtime"]
        return runtime["name"] if isinstance(runtime, dict) else runtime

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def environ(self, base: Mapping[str, str] = os.environ) -> dict[str, str]:
        """``ActivateVirtualEnv``: the venv's ``bin`` first on ``PATH``, ``VIRTUAL_ENV`` set, no ``PYTHONHOME``."""
        env = {k: v for k, v in base.items() if k.upper() not in ("PYTHONHOME", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{base.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        return env

    def _run(self, argv: list[str], cwd: Path) -> None:
        done = subprocess.run(argv, cwd=cwd, env=self.environ(), capture_output=True, text=True,
                              timeout=_STEP_TIMEOUT_S)
        assert done.returncode == 0, f"{argv} in {cwd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    def install_dependencies(self) -> None:
        """``InstallDependencies`` for a plugin: the venv, pip's own tools, then ``requirements.txt``."""
        python3 = shutil.which("python3") or shutil.which("python")
        assert python3, "no python3 on PATH (the host looks for python3, then python)"
        subprocess.run([python3, "-m", "venv", str(self.venv)], check=True, capture_output=True,
                       timeout=_STEP_TIMEOUT_S)
        self._run([str(self.python), "-m", "pip", "install", "--upgrade", "pip", "setuptools", "wheel"],
                  self.plugin_dir)
        if (self.plugin_dir / "requirements.txt").exists():
            self._run([str(self.python), "-m", "pip", "install", "-r", "requirements.txt"], self.plugin_dir)

    def plugin_command(self) -> list[str]:
        """``RunPlugin``'s command before the engine's arguments: ``python PLUGIN_DIR`` (``__main__.py``)."""
        assert (self.plugin_dir / "__main__.py").is_file(), "without __main__.py the host runs pulumi.run.plugin"
        return [str(self.python), str(self.plugin_dir)]
