"""``make mutate``'s lists (tools/mutate.py) name files that exist and match docs/mutation.md.

Why: mutation testing is not part of ``make test``, so a module or test file
renamed without updating its lists would only be noticed at the next
``make mutate``, which now refuses to run; this test notices it at once.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mutate_module():
    spec = importlib.util.spec_from_file_location("mutate_tool", ROOT / "tools" / "mutate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_mutated_module_and_fast_test_file_exists() -> None:
    mutate = _mutate_module()
    config = mutate._setup_cfg()
    for target in mutate.TARGETS:
        assert (ROOT / "provider" / "pulumi_dicom_jobs" / target).is_file(), target
        assert f"pulumi_dicom_jobs/{target}" in config
    for test_file in mutate.TESTS:
        assert (ROOT / test_file).is_file(), test_file
        assert test_file in config


def _named_test_files(page: str) -> set[str]:
    """The test files a page names, ``tests/a/test_{b,c}.py`` read as both files."""
    named = set()
    for path in re.findall(r"`(tests/[\w/]+(?:\{[\w,]+\}[\w/]*)?\.py)`", page):
        head, brace, rest = path.partition("{")
        alternatives, _, tail = rest.partition("}")
        named |= {head + alternative + tail for alternative in alternatives.split(",")} if brace else {path}
    return named


def test_docs_name_every_fast_test_file_and_module() -> None:
    mutate = _mutate_module()
    page = (ROOT / "docs" / "mutation.md").read_text()
    assert set(mutate.TESTS) <= _named_test_files(page), set(mutate.TESTS) - _named_test_files(page)
    [lro_row] = [line for line in page.splitlines() if line.startswith("| `lro/`")]
    for target in mutate.TARGETS:
        if target.startswith("lro/"):
            assert Path(target).stem in lro_row, target
        else:
            assert f"`{target}`" in page, target
