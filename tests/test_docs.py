"""The documentation's links resolve and the commands it shows exist.

Covers README.md, ARCHITECTURE.md, ``docs/*.md`` and ``examples/*/README.md``:

* every relative link points at a file or folder of the repository, and a
  ``#anchor`` names a heading of the target (GitHub's anchor rules);
* every command shown, in a shell block, after a ``$ `` prompt, as a usage
  line or in inline code, names something that exists: ``make`` targets in
  the Makefile, ``dicom-jobs`` subcommands and flags (asked of the CLI's own
  ``--help``), ``python -m`` modules (importable; flags asked of ``--help``
  for this repository's modules), and the console scripts declared in a
  ``pyproject.toml``;
* the ``pulumi_dicom_jobs`` names that Python snippets import exist;
* ``docs/...md`` references in the product's and the emulator's docstrings resolve;
* every ``dicom-jobs import|export`` command shown with real values is
  accepted by the resources' check (run through the CLI, up to the check),
  unless the page shows it refused: then the quoted ``Error: invalid input:``
  lines are exactly what the check says of that input; and no check message
  is quoted without the input that produces it;
* every concrete ``gs://`` bucket a page shows is a name the check accepts.

Programs that are not this repository's (``pulumi``, ``gcloud``, ``pip``) are
not checked.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = sorted(
    [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *(ROOT / "docs").glob("*.md"),
     *(ROOT / "examples").glob("*/README.md")]
)
DOC_IDS = [str(path.relative_to(ROOT)) for path in DOC_FILES]

#: Our own programs: the ones whose commands are checked.
OUR_SCRIPTS = ("dicom-jobs", "healthcare-emulator", "pulumi-offline")
OUR_PACKAGES = ("pulumi_dicom_jobs", "healthcare_emulator", "pulumi_offline")
PYTHONS = re.compile(r"^python(3(\.\d+)?)?$")
SHELL_LANGS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^(```+|~~~+)\s*([\w-]*)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


# --------------------------------------------------------------------------- #
# Reading Markdown
# --------------------------------------------------------------------------- #

@dataclass(frozen=True)
class Block:
    """A fenced code block: its language tag and its lines."""

    lang: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Markdown:
    """One Markdown file split into prose lines and fenced code blocks."""

    path: Path
    prose: tuple[str, ...]
    blocks: tuple[Block, ...]

    @classmethod
    def read(cls, path: Path) -> "Markdown":
        prose: list[str] = []
        blocks: list[Block] = []
        fence, lang, body = None, "", []
        for line in path.read_text().splitlines():
            match = FENCE.match(line.strip())
            if fence is None and match:
                fence, lang, body = match.group(1), match.group(2).lower(), []
            elif fence is not None and line.strip().startswith(fence) and not line.strip()[len(fence):].strip():
                blocks.append(Block(lang, tuple(body)))
                fence = None
            elif fence is not None:
                body.append(line)
            else:
                prose.append(line)
        assert fence is None, f"{path}: unclosed code fence"
        return cls(path, tuple(prose), tuple(blocks))

    def anchors(self) -> set[str]:
        """The ``#anchor`` of every heading, as GitHub derives them (duplicates get -1, -2...)."""
        seen: dict[str, int] = {}
        anchors = set()
        for line in self.prose:
            match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not match:
                continue
            slug = github_slug(match.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
        return anchors

    def links(self) -> list[str]:
        """Link targets in the prose (inline code spans left out)."""
        targets = []
        for line in self.prose:
            targets += LINK.findall(INLINE_CODE.sub("", line))
        return targets

    def inline_code(self) -> list[str]:
        spans = []
        for line in self.prose:
            spans += [match.group(2).strip() for match in INLINE_CODE.finditer(line)]
        return spans


def github_slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@functools.lru_cache(maxsize=None)
def markdown(path: Path) -> Markdown:
    return Markdown.read(path)


# --------------------------------------------------------------------------- #
# Links
# --------------------------------------------------------------------------- #

def link_problems(doc: Markdown) -> list[str]:
    problems = []
    for target in doc.links():
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        destination = (doc.path.parent / path_part).resolve() if path_part else doc.path
        if not destination.exists():
            problems.append(f"{target}: {path_part} does not exist")
            continue
        if path_part and not destination.is_relative_to(ROOT):
            problems.append(f"{target}: points outside the repository")
            continue
        if anchor:
            if destination.suffix != ".md":
                problems.append(f"{target}: an anchor into a file that is not Markdown")
            elif anchor not in markdown(destination).anchors():
                problems.append(f"{target}: no heading #{anchor} in {destination.name}")
    return problems


# --------------------------------------------------------------------------- #
# Commands
# --------------------------------------------------------------------------- #

def command_lines(doc: Markdown) -> list[str]:
    """Every command line the document shows (continuation lines joined).

    Shell blocks are all commands; console blocks, the lines after a ``$ ``
    prompt; other blocks (``text``), those too and usage lines that start with
    one of our programs; prose, inline code that starts with a program.
    """
    commands: list[str] = []
    for block in doc.blocks:
        if block.lang in SHELL_LANGS:
            candidates = [line for line in block.lines if line.strip() and not line.lstrip().startswith("#")]
        else:
            candidates = []
            for line in block.lines:
                if line.startswith("$ "):
                    candidates.append(line[2:])
                elif block.lang == "console":
                    continue  # a console block shows commands after "$ " and their output
                elif line.split(" ", 1)[0] in OUR_SCRIPTS:
                    candidates.append(_usage_line(line))
                elif line[:1].isspace() and line.lstrip().startswith("[") and candidates:
                    candidates[-1] += " " + _usage_line(line)  # a usage line continued
        commands += [line.removeprefix("$ ") for line in candidates]
    for span in doc.inline_code():
        words = span.split()
        if words and (_program(words[0]) in OUR_SCRIPTS + ("make",)
                      or (PYTHONS.match(_program(words[0])) and words[1:2] == ["-m"])):
            commands.append(span)
    return commands


def _usage_line(line: str) -> str:
    """A usage synopsis (``[--a X|Y | --b]``): alternatives are not pipes."""
    return line.replace("|", " ").replace("[", " ").replace("]", " ")


def _program(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def simple_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at ``&&``, ``|``, ``;``, ``$(``, redirections."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as exc:  # unbalanced quotes
        raise AssertionError(f"cannot parse the command {line!r}: {exc}") from None
    commands, current = [], []
    for token in tokens:
        if token and set(token) <= set("();<>|&"):
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    result = []
    for words in commands:
        while words and ASSIGNMENT.match(words[0]):
            words = words[1:]
        if words:
            result.append(words)
    return result


@functools.lru_cache(maxsize=None)
def help_text(*argv: str) -> str:
    """What ``argv --help`` prints (run in the test's interpreter)."""
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{' '.join(argv)} --help failed: {done.stderr[-2000:]}"
    return done.stdout


def _flags_of(help_output: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_output))


@functools.lru_cache(maxsize=None)
def declared_scripts() -> dict[str, str]:
    """Console scripts of every ``pyproject.toml`` in the repository: name -> entry point."""
    scripts: dict[str, str] = {}
    for pyproject in [ROOT / "pyproject.toml", *ROOT.glob("*/pyproject.toml")]:
        data = tomllib.loads(pyproject.read_text())
        scripts.update(data.get("project", {}).get("scripts", {}))
    return scripts


@functools.lru_cache(maxsize=None)
def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M))


def _script_argv(name: str) -> list[str]:
    """How to run our console script ``name`` from this interpreter (venv or not)."""
    module = declared_scripts()[name].split(":", 1)[0].removesuffix(".__main__")
    return [sys.executable, "-m", module]


def _check_flags(argv: list[str], words: list[str], shown: str) -> list[str]:
    known = _flags_of(help_text(*argv))
    return [f"{shown}: {flag} is not an option of {' '.join(argv[2:] or argv)}"
            for flag in (word.split("=", 1)[0] for word in words)
            if flag.startswith("-") and flag not in known]


def _check_dicom_jobs(args: list[str], shown: str) -> list[str]:
    argv = _script_argv("dicom-jobs")
    rest = list(args)
    while rest and not rest[0].startswith("-"):
        commands = _subcommands(help_text(*argv))
        if not commands:
            break  # a leaf command: the rest are its arguments
        if rest[0] not in commands:
            return [f"{shown}: {rest[0]!r} is not a dicom-jobs command (known: {', '.join(sorted(commands))})"]
        argv.append(rest.pop(0))
    return _check_flags(argv, rest, shown)


def _subcommands(help_output: str) -> set[str]:
    section = help_output.partition("\nCommands:\n")[2]
    names = set()
    for line in section.splitlines():
        if not line.startswith("  "):
            break
        names.add(line.split()[0])
    return names


def command_problems(line: str) -> list[str]:
    problems = []
    for words in simple_commands(line):
        program, args = _program(words[0]), words[1:]
        if program == "make":
            problems += [f"{line}: no make target {target!r}" for target in args
                         if not target.startswith("-") and "=" not in target and target not in make_targets()]
        elif program in OUR_SCRIPTS:
            if program not in declared_scripts():
                problems.append(f"{line}: no pyproject.toml declares the console script {program}")
            elif program == "dicom-jobs":
                problems += _check_dicom_jobs(args, line)
            else:
                problems += _check_flags(_script_argv(program), args, line)
        elif PYTHONS.match(program) and args[:1] == ["-m"] and len(args) > 1:
            module, module_args = args[1], args[2:]
            if importlib.util.find_spec(module) is None:
                problems.append(f"{line}: no module {module}")
            elif module in ("pulumi_dicom_jobs.cli", "pulumi_dicom_jobs.cli.__main__"):
                problems += _check_dicom_jobs(module_args, line)
            elif module.split(".")[0] in OUR_PACKAGES and any(a.startswith("-") for a in module_args):
                problems += _check_flags([sys.executable, "-m", module], module_args, line)
    return problems


# --------------------------------------------------------------------------- #
# Python snippets
# --------------------------------------------------------------------------- #

def snippet_problems(doc: Markdown) -> list[str]:
    """Python blocks compile, and every ``pulumi_dicom_jobs`` name they use exists."""
    problems = []
    for block in doc.blocks:
        if block.lang != "python":
            continue
        source = "\n".join(block.lines)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            problems.append(f"a python block does not compile: {exc}")
            continue
        modules: dict[str, object] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pulumi_dicom_jobs":
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name, None)
                    if value is None and importlib.util.find_spec(f"{node.module}.{alias.name}") is not None:
                        value = importlib.import_module(f"{node.module}.{alias.name}")
                    if value is None:
                        problems.append(f"from {node.module} import {alias.name}: no such name")
                    elif isinstance(value, type(sys)):
                        modules[alias.asname or alias.name] = value
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and not hasattr(modules[node.value.id], node.attr)):
                problems.append(f"{node.value.id}.{node.attr}: no such name")
    return problems


# --------------------------------------------------------------------------- #
# Quoted check messages and the inputs they are about
# --------------------------------------------------------------------------- #

#: A quoted check failure: an indented ``path (--flag): reason`` line (the CLI's
#: form) or ``invalid inputs: path: reason`` (the resources' form).
CHECK_LINE = re.compile(r"^\s+[a-z_]+(\.[a-z_]+)* \((--[a-z-]+|[A-Z]+)\): \S|invalid inputs?: [a-z_]+(\.[a-z_]+)*: ")
#: Shell variables a page defines in inline code (``STORE=projects/...``).
DOC_VARIABLE = re.compile(r"^([A-Z_]+)=(\S+)$")
#: A placeholder in a command (``gs://BUCKET/PATH``, ``STORE``): not a real value.
PLACEHOLDER = re.compile(r"(^|[/:.])[A-Z][A-Z_]{2,}\b")


@dataclass(frozen=True)
class ShownJob:
    """A ``dicom-jobs import|export`` command a page shows, and the failure lines it quotes."""

    command: str
    quoted_failures: tuple[str, ...]


class _Checked(Exception):
    """Raised instead of starting a job: the CLI's check accepted the input."""


def doc_variables(doc: Markdown) -> dict[str, str]:
    """Variables a page defines: ``NAME=value`` in inline code, or ``export NAME=value``
    in a shell block (what the sandbox prints, pasted before its commands)."""
    spans = doc.inline_code() + [line.strip().removeprefix("export ").strip()
                                 for block in doc.blocks if block.lang in SHELL_LANGS | {"console"}
                                 for line in block.lines if line.strip().startswith("export ")]
    return {m.group(1): m.group(2) for span in spans if (m := DOC_VARIABLE.match(span))}


def shown_jobs(doc: Markdown) -> tuple[list[ShownJob], list[str]]:
    """The job commands with real values a page shows, and quoted check lines with no command before them."""
    jobs: list[ShownJob] = []
    orphans: list[str] = []
    for block in doc.blocks:
        command: str | None = None
        failures: list[str] = []
        in_failure = False
        for line in [*block.lines, "$ "]:
            if line.startswith("$ ") or block.lang in SHELL_LANGS:
                if command is not None:
                    jobs.append(ShownJob(command, tuple(failures)))
                text = line.removeprefix("$ ")
                match = re.search(r"dicom-jobs (import|export)\b[^)|;&]*", text)
                command = match.group(0).strip() if match else None
                failures, in_failure = [], False
            elif line.startswith("Error: invalid input:"):
                in_failure = True
            elif CHECK_LINE.search(line):
                if command is None or not in_failure:
                    orphans.append(line.strip())
                failures.append(line.strip())
            else:
                in_failure = False
    orphans += [span for span in doc.inline_code() if CHECK_LINE.search(" " + span)]
    return [job for job in jobs if not PLACEHOLDER.search(job.command)], orphans


def cli_check(argv: list[str]) -> tuple[bool, list[str]]:
    """Run ``dicom-jobs ARGV`` in-process up to the check: (accepted, the failure lines printed)."""
    from click.testing import CliRunner

    from pulumi_dicom_jobs import jobs
    from pulumi_dicom_jobs.cli.main import cli

    def refuse_to_start(*_args: object, **_kwargs: object) -> None:
        raise _Checked()

    saved = jobs.start, jobs.run_job
    jobs.start = jobs.run_job = refuse_to_start  # type: ignore[assignment]
    try:
        result = CliRunner().invoke(cli, argv, catch_exceptions=True)
    finally:
        jobs.start, jobs.run_job = saved
    if isinstance(result.exception, _Checked):
        return True, []
    assert result.exit_code == 2, (argv, result.output)
    return False, [line.strip() for line in result.output.splitlines() if CHECK_LINE.search(line)]


def quoted_check_problems(doc: Markdown) -> list[str]:
    """What a page shows of the check that the check does not say (module docstring)."""
    variables = doc_variables(doc)
    jobs, orphans = shown_jobs(doc)
    problems = [f"check message quoted without the input that produces it: {line}" for line in orphans]
    for job in jobs:
        expanded = re.sub(r"\$([A-Z_]+)", lambda m: variables.get(m.group(1), m.group(0)), job.command)
        argv = shlex.split(expanded)[1:]
        if any(arg.startswith("$") for arg in argv):
            problems.append(f"{job.command}: the page does not define {argv}")
            continue
        accepted, said = cli_check(argv)
        if job.quoted_failures and sorted(said) != sorted(job.quoted_failures):
            problems.append(f"{job.command}: the check says {said}, the page quotes {list(job.quoted_failures)}")
        elif not job.quoted_failures and not accepted:
            problems.append(f"{job.command}: the check refuses it: {said}")
    return problems


def bucket_problems(doc: Markdown) -> list[str]:
    """Concrete ``gs://`` buckets the check would refuse (placeholders like ``BUCKET`` or ``B`` left out)."""
    from pulumi_dicom_jobs import validation

    text = "\n".join([*doc.prose, *(line for block in doc.blocks for line in block.lines)])
    problems = []
    for bucket in sorted(set(re.findall(r"gs://([A-Za-z0-9._{}$-]+)", text))):
        if bucket != bucket.lower() or "{" in bucket or "$" in bucket:
            continue  # a placeholder (BUCKET, B) or a template: bucket names are lowercase
        problem = validation.bucket_problem(bucket)
        if problem:
            problems.append(f"gs://{bucket}: {problem}")
    return problems


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("path", DOC_FILES, ids=DOC_IDS)
def test_relative_links_resolve(path: Path) -> None:
    assert link_problems(markdown(path)) == []


@pytest.mark.parametrize("path", DOC_FILES, ids=DOC_IDS)
def test_commands_shown_exist(path: Path) -> None:
    problems = [problem for line in command_lines(markdown(path)) for problem in command_problems(line)]
    assert problems == []


@pytest.mark.parametrize("path", DOC_FILES, ids=DOC_IDS)
def test_python_snippets_use_names_that_exist(path: Path) -> None:
    assert snippet_problems(markdown(path)) == []


def test_docs_referenced_from_the_code_exist() -> None:
    """A docstring that sends the reader to ``docs/X.md#anchor`` names a real page and heading."""
    problems = []
    for source in sorted([*(ROOT / "provider").rglob("*.py"), *(ROOT / "emulator").rglob("*.py")]):
        for page, anchor in re.findall(r"\bdocs/([\w-]+\.md)(?:#([\w-]+))?", source.read_text()):
            target = ROOT / "docs" / page
            if not target.exists():
                problems.append(f"{source.relative_to(ROOT)}: docs/{page} does not exist")
            elif anchor and anchor not in markdown(target).anchors():
                problems.append(f"{source.relative_to(ROOT)}: no heading #{anchor} in docs/{page}")
    assert problems == []


def test_every_page_is_linked_from_the_readme() -> None:
    readme_links = {target.partition("#")[0] for target in markdown(ROOT / "README.md").links()}
    unlinked = [page.name for page in (ROOT / "docs").glob("*.md") if f"docs/{page.name}" not in readme_links]
    assert unlinked == []


# The checker itself, on small inputs: a broken link or command must be caught.

def test_the_checker_catches_a_broken_link_and_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A section\n\n[ok](#a-section) [bad](#no-such) [gone](missing.md)\n"
                    "```sh\n[not a link](nowhere.md)\n```\n")
    problems = link_problems(Markdown.read(page))
    assert [p.split(":")[0] for p in problems] == ["#no-such", "missing.md"]


def test_the_checker_parses_shell_lines() -> None:
    assert simple_commands('OP=$(dicom-jobs import $STORE "gs://b/*.dcm" --async) && echo ok') == [
        ["dicom-jobs", "import", "$STORE", "gs://b/*.dcm", "--async"], ["echo", "ok"]]
    assert simple_commands("make demo   # the demo") == [["make", "demo"]]
    assert simple_commands("x --json 2>/dev/null | python3 -c 'a; b'") == [
        ["x", "--json", "2"], ["/dev/null"], ["python3", "-c", "a; b"]]


def test_the_checker_catches_a_missing_make_target() -> None:
    assert command_problems("make demo && make no-such-target") == ["make demo && make no-such-target: no make target 'no-such-target'"]


def test_the_checker_catches_a_name_the_package_does_not_have(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nfrom pulumi_dicom_jobs import DicomImportJob, grants\n"
                    "from pulumi_dicom_jobs.gcp import grants as g\ng.no_such_helper()\n```\n")
    assert snippet_problems(Markdown.read(page)) == [
        "from pulumi_dicom_jobs import grants: no such name", "g.no_such_helper: no such name"]


@pytest.mark.parametrize("path", DOC_FILES, ids=DOC_IDS)
def test_quoted_check_messages_are_what_the_check_says(path: Path) -> None:
    assert quoted_check_problems(markdown(path)) == []


@pytest.mark.parametrize("path", DOC_FILES, ids=DOC_IDS)
def test_buckets_shown_are_names_the_check_accepts(path: Path) -> None:
    assert bucket_problems(markdown(path)) == []


def test_the_checker_catches_a_drifted_message_a_refused_bucket_and_an_orphan(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "`STORE=projects/p/locations/l/datasets/d/dicomStores/s`\n\n"
        "```console\n"
        "$ dicom-jobs import $STORE gs://b/in/*.dcm\n"
        "$ dicom-jobs export bq $STORE bq://local-project.dicom.instances --schema xml\n"
        "Error: invalid input:\n"
        "  bigquery_destination.schema (--schema): 'XML' is not a schema\n"
        "```\n\n"
        "It says `invalid inputs: gcs_source.uri: no bucket`.\n")
    doc = Markdown.read(page)
    problems = quoted_check_problems(doc)
    assert problems[0] == "check message quoted without the input that produces it: invalid inputs: gcs_source.uri: no bucket"
    assert problems[1].startswith("dicom-jobs import $STORE gs://b/in/*.dcm: the check refuses it: [\"gcs_source.uri (SOURCE): bucket name 'b' ")
    assert problems[2].startswith("dicom-jobs export bq $STORE bq://local-project.dicom.instances --schema xml: the check says "
                                  "[\"bigquery_destination.schema (--schema): 'XML' is not one of")
    assert len(problems) == 3
    assert [p.split(":")[0] + ":" + p.split(":")[1] for p in bucket_problems(doc)] == ["gs://b"]
