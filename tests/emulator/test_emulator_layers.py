"""The emulator's import rules, read from its source (ARCHITECTURE.md states them).

* it never imports the product (``pulumi_dicom_jobs``) nor the offline engine:
  a misunderstanding of the REST contract cannot hide in shared code;
* of google-api-python-client it reads the discovery documents only, in one
  module (:mod:`healthcare_emulator.discovery`);
* the state, the operations and the data plane sit below the HTTP layer, as
  moto keeps its backends apart from its responses: only the server and the
  two route tables know about requests and answers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import healthcare_emulator

PACKAGE = Path(healthcare_emulator.__file__).parent
HTTP_LAYER = {"server", "api_routes", "admin_routes", "routing"}


def imports_of(module: Path) -> set[str]:
    """Every module ``module`` imports, absolute (``healthcare_emulator.x`` for relative ones)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "healthcare_emulator" + (f".{base}" if base else "")
                found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def modules() -> dict[str, set[str]]:
    return {path.stem: imports_of(path) for path in sorted(PACKAGE.glob("*.py"))}


def test_never_imports_the_product_or_the_offline_engine():
    for name, imported in modules().items():
        assert not any(i.split(".")[0] in ("pulumi_dicom_jobs", "pulumi_offline", "pulumi")
                       for i in imported), name


def test_reads_discovery_documents_in_one_module_only():
    users = {name for name, imported in modules().items()
             if any(i.startswith("googleapiclient") for i in imported)}
    assert users == {"discovery"}


def test_state_and_data_plane_stay_below_the_http_layer():
    layer = {f"healthcare_emulator.{name}" for name in HTTP_LAYER}
    for name, imported in modules().items():
        if name not in HTTP_LAYER and name != "__main__":
            assert not imported & layer, f"{name} imports {sorted(imported & layer)}"
