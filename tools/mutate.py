"""``make mutate``: mutation testing of the modules that decide behaviour.

Why: a test suite can pass with a feature removed (issue 17 found several).
mutmut changes one thing at a time in the product (a ``<`` into ``<=``, a
constant, a condition dropped) and runs the tests that cover the changed
function; a mutant no test notices ("survived") is either a missing test or
a change that makes no difference, and ``docs/mutation.md`` says which.

The modules (``TARGETS``) are those that decide: validation and the request
body, the job layer (start, adopt, permission retry, verdict), the waiter and
its schedule, the transport's retry and ambiguity rules, the API's typed
errors and the CLI's exit codes. Each is run against the fast tests that
target it (``TESTS``: no local stack, no subprocess; minutes on 2 cores);
mutmut runs, for each mutant, only the tests that executed its function.

mutmut expects the package at the root of its working directory, so the run
happens in a scratch copy (``.mutate/``: the package and the tests, and a
``setup.cfg`` with mutmut's settings); the repository itself is never
changed. Prints every surviving mutant with its diff, then the score, and
writes the score to ``.mutate/score.txt`` for ``benchmarks/results.md``.

``python tools/mutate.py 'pulumi_dicom_jobs.validation.*'`` (mutmut's
mutant-name patterns, ``fnmatch``) runs part of the set: what a change to one
module needs; ``MUTATE_CHILDREN`` sets the parallel runs (default: the cores).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutate"
PACKAGE = "pulumi_dicom_jobs"

#: The modules mutated (paths inside the package).
TARGETS = (
    "validation.py",
    "request_body.py",
    "jobs/starting.py",
    "jobs/waiting.py",
    "jobs/stopping.py",
    "jobs/run.py",
    "jobs/operations.py",
    "lro/backoff.py",
    "lro/rate.py",
    "lro/schedule.py",
    "lro/status.py",
    "lro/waiter.py",
    "api/transport.py",
    "api/errors.py",
    "cli/outcomes.py",
)

#: The fast tests that target them.
TESTS = (
    "tests/beside/test_validation.py",
    "tests/beside/test_spec.py",
    "tests/beside/test_bodies.py",
    "tests/dynamic/test_dynamic_providers.py",
    "tests/lro/test_lro.py",
    "tests/lro/test_lro_schedule.py",
    "tests/api/test_api_client.py",
    "tests/api/test_api_transport.py",
    "tests/jobs/test_jobs_rules.py",
    "tests/jobs/test_jobs_stop.py",
    "tests/cli/test_cli_exit_codes.py",
    "tests/jobs/test_jobs_start.py",
    "tests/jobs/test_jobs_wait.py",
)


def _beside() -> list[str]:
    """The repository's other top-level files and folders (some tests read them)."""
    return sorted(p.name for p in ROOT.iterdir()
                  if not p.name.startswith(".") and p.name not in ("provider", "tests", "mutants"))


def _setup_cfg() -> str:
    missing = [t for t in TARGETS if not (ROOT / "provider" / PACKAGE / t).exists()]
    missing += [t for t in TESTS if not (ROOT / t).exists()]
    if missing:  # a renamed module or test file would otherwise drop out of the run unnoticed
        raise SystemExit(f"tools/mutate.py names files that do not exist: {', '.join(missing)}")
    targets = [f"{PACKAGE}/{t}" for t in TARGETS]
    tests = list(TESTS)
    lines = ["[mutmut]", f"source_paths = {PACKAGE}", "only_mutate ="]
    lines += [f"    {t}" for t in targets]
    # log lines decide nothing (what they say is not a documented behaviour)
    lines += ["do_not_mutate_patterns =", r"    \blog\.(debug|info|warning)\("]
    lines += ["also_copy ="] + [f"    {name}" for name in _beside()]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests]
    # in file order, as pytest collects them (no pytest-randomly): a mutant's runs compare alike
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -p", "    no:bqemulator",
              "    -p", "    no:randomly", "    -q", "use_git_change_detection = false",
              # a mutant that loops is killed after 5x its tests' time (mutmut's default is 15x);
              # the fast tests themselves bound their loops (support.scripted.MAX_CALLS)
              "timeout_multiplier = 5.0", "",
              "[tool:pytest]", "addopts = -p no:bqemulator", "timeout = 60", ""]
    return "\n".join(lines)


def prepare() -> None:
    """A scratch copy: the package at the top, the tests beside it, mutmut's settings."""
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir()
    shutil.copytree(ROOT / "provider" / PACKAGE, WORK / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", WORK / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in _beside():
        (WORK / name).symlink_to(ROOT / name)
    (WORK / "setup.cfg").write_text(_setup_cfg())


def mutmut(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=WORK, env=env, text=True, check=False,
                          stdout=subprocess.PIPE if capture else None)


def _results() -> dict[str, str]:
    """Mutant name -> status, from ``mutmut results --all true``."""
    out = mutmut("results", "--all", "true", capture=True).stdout
    found = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def main(patterns: list[str]) -> int:
    prepare()
    started = time.monotonic()
    children = os.environ.get("MUTATE_CHILDREN") or str(max(1, os.cpu_count() or 2))
    run = mutmut("run", "--max-children", children, *patterns)
    seconds = time.monotonic() - started
    results = _results()
    if patterns:
        results = {name: status for name, status in results.items()
                   if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)}
    survivors = sorted(name for name, status in results.items() if status == "survived")
    print(f"\n== {len(survivors)} surviving mutant(s) ==")
    with (WORK / "survivors.txt").open("w") as listing:
        for name in survivors:
            shown = mutmut("show", name, capture=True).stdout
            print(shown)
            listing.write(shown + "\n")
    counted = {name: status for name, status in results.items() if status in ("killed", "survived", "timeout")}
    killed = sum(1 for status in counted.values() if status in ("killed", "timeout"))
    others = sorted({status for status in results.values()} - {"killed", "survived", "timeout"})
    score = 100.0 * killed / len(counted) if counted else 0.0
    summary = (f"{len(results)} mutants, {killed} killed (timeouts included), {len(survivors)} survived"
               + (f", others: {', '.join(f'{s}={sum(1 for v in results.values() if v == s)}' for s in others)}"
                  if others else "")
               + f"; score {score:.1f}% in {seconds:.0f} s")
    print(summary)
    (WORK / "score.txt").write_text(summary + "\n")
    return 0 if run.returncode == 0 else run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
