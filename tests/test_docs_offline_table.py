"""docs/offline-engine.md's table names, for each behaviour, a test that exists.

The table (behaviour, the pulumi/pulumi file and function it follows, the
test that holds it) is how a reader checks the offline engine against the
real one; a renamed or deleted test would leave a row that proves nothing.
Each row's test cell names files (``tests/offline/`` unless a path says
otherwise) and ``file.py::test_name`` or ``::test_name`` (the file named
before it in the cell); "the same test" repeats the row above.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "offline-engine.md"
HEADING = "#### Each behaviour and where it comes from"
DEFAULT_DIR = "tests/offline"
CODE = re.compile(r"`([^`]+)`")


def table_rows(text: str) -> list[tuple[str, str]]:
    """(behaviour, test cell) of each row of the table under :data:`HEADING`."""
    assert HEADING in text, f"docs/offline-engine.md has no {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header, rule, *body = rows
    assert header.split("|")[-2].strip() == "test" and set(rule) <= set("|- "), header
    return [(cells[1].strip(), cells[-2].strip()) for cells in (row.split("|") for row in body)]


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def missing_tests(text: str, root: Path = ROOT) -> list[str]:
    """What the table names that does not exist (files, test functions), and rows that name no test."""
    problems: list[str] = []
    previous: list[str] = []
    for behaviour, cell in table_rows(text):
        named = [code for code in CODE.findall(cell) if code.endswith(".py") or "::" in code]
        if not named:
            if cell.startswith("the same test") and previous:
                continue
            problems.append(f"{behaviour!r}: names no test")
            continue
        current_file = ""
        for code in named:
            file_part, _, test = code.partition("::")
            current_file = file_part or current_file
            path = root / (current_file if "/" in current_file else f"{DEFAULT_DIR}/{current_file}")
            if not path.is_file():
                problems.append(f"{behaviour!r}: no file {path.relative_to(root)}")
            elif test and test not in _defined_tests(path):
                problems.append(f"{behaviour!r}: no test {test} in {path.relative_to(root)}")
        previous = named
    return problems


def test_every_row_of_the_offline_engine_table_names_a_test_that_exists() -> None:
    rows = table_rows(PAGE.read_text())
    assert len(rows) >= 30, len(rows)  # the whole table was read, not a fragment
    assert missing_tests(PAGE.read_text()) == []


def test_the_checker_catches_a_missing_file_a_missing_test_and_a_row_without_one(tmp_path: Path) -> None:
    (tmp_path / DEFAULT_DIR).mkdir(parents=True)
    (tmp_path / DEFAULT_DIR / "test_there.py").write_text("def test_a():\n    pass\n")
    page = "\n".join([
        HEADING, "",
        "| behaviour | pulumi/pulumi file and function | test |",
        "| --- | --- | --- |",
        "| fine | `x.go` `F` | `test_there.py::test_a`, `::test_a` |",
        "| repeated | `x.go` `G` | the same test |",
        "| gone file | `x.go` `H` | `test_gone.py::test_a` |",
        "| gone test | `x.go` `I` | `test_there.py::test_b` |",
        "| none | `x.go` `J` | by reading |",
        "",
    ])
    assert missing_tests(page, tmp_path) == [
        f"'gone file': no file {DEFAULT_DIR}/test_gone.py",
        f"'gone test': no test test_b in {DEFAULT_DIR}/test_there.py",
        "'none': names no test",
    ]
