"""``make demo``: the root program, end to end, on the local stack.

1. Starts the local stack (Cloud Storage, BigQuery and Healthcare emulators)
   with IAM enforced: the Healthcare service agent can touch a bucket or
   dataset only after the program's grants.
2. Fills a "data lake" bucket the way a hospital would have it before
   Pulumi is involved: real DICOM files shipped in the pydicom wheel, a
   generated two-series study, one file that is not DICOM at all, and a
   filter file naming the generated study.
3. Runs the root program (``Pulumi.yaml`` at the top of the repository) with a
   demo stack config through ``pulumi-offline up``: Healthcare dataset and
   store, buckets, BigQuery dataset and grants with pulumi-gcp; an import
   with a ``**.dcm`` wildcard (the broken file is the one tolerated failure);
   exports to Cloud Storage as DICOM and as PNG, metadata to BigQuery, and a
   filtered export. The jobs run on the ``dicom-jobs`` provider plugin, so
   the progress shown in their rows is the provider's own status messages.
4. Reads back what the emulators hold, prints a short report, runs ``up``
   again to show that nothing changes, and stops everything.

Ctrl-C (or SIGTERM) while ``up`` runs is the CLI's (:mod:`.cancellation`):
the first cancels the running jobs (the plugin cancels their operations and
says so under Diagnostics), the stack's state is saved, the demo says where
and stops the local stack; a second one terminates the run at once.

The demo stack is a stack like any other, so the command the demo prints is
the one it runs: its config is ``Pulumi.demo.yaml`` beside the program
(written each run), its state ``.pulumi-offline/demo.json`` (started afresh
each run, because the emulators start empty).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

import requests

from healthcare_emulator import sampledata
from healthcare_emulator.stack import DEFAULT_PROJECT, LocalStack

from .cancellation import CancellationScope
from .display import Display
from .engine import Result, run
from .messages import counted
from .state import state_path

STACK = "demo"
SOURCE_BUCKET = "demo-hospital-archive"
EXPORT_BUCKET = "demo-dicom-exports"
RENDER_BUCKET = "demo-png-renders"
SUBSET_BUCKET = "demo-study-subset"
BQ_DATASET = "demo_dicom_metadata"
BQ_TABLE = "instances"
PER_INSTANCE_SECONDS = 0.1  # enough for the plugin's status messages to show in the jobs' rows
#: The first line of the demo stack's config file: the demo rewrites only a file that starts with it.
CONFIG_HEADER = "# The config of the stack `demo`, written by `make demo` (each run rewrites it)."
#: What to try after the demo: the command docs/cli.md starts its session with.
SANDBOX_COMMAND = ".venv/bin/python -m healthcare_emulator.stack --seed --instance-delay 0.5"
CLI_HELP_COMMAND = ".venv/bin/dicom-jobs --help"
IMPORT_NAME = "hospital-archive"
#: The import tolerates the one broken file the demo uploads on purpose.
IMPORT_MAX_FAILED = 1


class Interrupted(Exception):
    """Ctrl-C stopped the demo's ``up``; the message says what was saved where."""


@dataclass
class DemoReport:
    """What the demo read back from the emulators (the CI test asserts on it)."""

    #: What was uploaded, by noun (singular: the report writes the plural): count.
    uploaded: dict[str, int] = field(default_factory=dict)
    stored_instances: int = 0
    job_outputs: dict[str, Any] = field(default_factory=dict)
    exported_objects: dict[str, list[str]] = field(default_factory=dict)
    bigquery_rows: list[dict[str, Any]] = field(default_factory=list)
    bigquery_row_count: int = 0
    sample_errors: list[dict[str, Any]] = field(default_factory=list)
    second_run_counts: dict[str, int] = field(default_factory=dict)
    ok: bool = False


def default_program_dir() -> Path:
    """The repository root (the root program), from the current directory or this file."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (candidate / "Pulumi.yaml").exists() and (candidate / "__main__.py").exists():
            return candidate
    raise SystemExit("cannot find the root program (Pulumi.yaml); run from the repository root")


# -- the data lake ---------------------------------------------------------
def _study_set() -> tuple[dict[str, bytes], str]:
    """Objects to upload, and the generated study's UID (the filter's subject)."""
    objects = {f"incoming/pydicom/{name}": sampledata.real_bytes(name)
               for name in (*sampledata.REAL_SINGLE_FRAME, sampledata.REAL_MULTI_FRAME)}
    generated = sampledata.synthetic_study(series=2, per_series=3, rows=32, columns=32)
    study_uid = sampledata.uids_of(generated[0]).study
    for index, data in enumerate(generated):
        objects[f"incoming/generated/series-{index // 3 + 1}/instance-{index % 3 + 1}.dcm"] = data
    objects["incoming/broken/not-really-dicom.dcm"] = sampledata.broken_file()
    objects["filters/generated-study.txt"] = f"/studies/{study_uid}\n".encode()
    return objects, study_uid


def _upload(storage_url: str, bucket: str, objects: dict[str, bytes]) -> None:
    session = requests.Session()
    response = session.post(f"{storage_url}/storage/v1/b", params={"project": DEFAULT_PROJECT},
                            json={"name": bucket}, timeout=30)
    response.raise_for_status()
    for name, data in objects.items():
        session.post(f"{storage_url}/upload/storage/v1/b/{bucket}/o",
                     params={"uploadType": "media", "name": name}, data=data,
                     headers={"Content-Type": "application/dicom"}, timeout=30).raise_for_status()


def demo_config() -> dict[str, Any]:
    """The demo stack's config for the root program (``config:`` of ``Pulumi.demo.yaml``)."""
    return {
        "gcp:project": DEFAULT_PROJECT,
        "dicom-environment:location": "us-central1",
        "dicom-environment:dataset": "demo-imaging",
        "dicom-environment:store": "main",
        "dicom-environment:job_provider": "plugin",  # the jobs on the provider plugin: its own progress
        "dicom-environment:imports": [{
            "name": IMPORT_NAME, "bucket": SOURCE_BUCKET, "create_bucket": False,
            "pattern": "incoming/**.dcm", "max_failed_instances": IMPORT_MAX_FAILED,
        }],
        "dicom-environment:exports": [
            {"name": "dicom-copy", "kind": "gcs", "bucket": EXPORT_BUCKET, "prefix": "dicom",
             "mime_type": "application/dicom"},
            {"name": "png-renders", "kind": "gcs", "bucket": RENDER_BUCKET, "prefix": "png",
             "mime_type": "image/png"},
            {"name": "metadata", "kind": "bigquery", "dataset": BQ_DATASET, "table": BQ_TABLE,
             "write_disposition": "WRITE_TRUNCATE", "include_source_store": True},
            {"name": "generated-study-only", "kind": "gcs", "bucket": SUBSET_BUCKET, "prefix": "subset",
             "filter_file": f"gs://{SOURCE_BUCKET}/filters/generated-study.txt"},
        ],
    }


def write_demo_config(program_dir: Path) -> Path:
    """The demo stack's config file, ``Pulumi.demo.yaml`` beside the program, where the command the
    demo prints (``pulumi-offline up --stack demo DIR``) finds it. A file of that name the demo did
    not write (no :data:`CONFIG_HEADER`) is a user's: the demo stops before touching anything."""
    path = program_dir / f"Pulumi.{STACK}.yaml"
    if path.exists() and not path.read_text().startswith(CONFIG_HEADER):
        raise RuntimeError(f"{_shown(path)} exists and was not written by the demo, whose stack is "
                           f"{STACK!r}: move it away and run `make demo` again")
    path.write_text(f"{CONFIG_HEADER}\n{json.dumps({'config': demo_config()}, indent=2)}\n")  # JSON is YAML
    return path


# -- reading back ----------------------------------------------------------
def _list_objects(storage_url: str, bucket: str) -> list[str]:
    response = requests.get(f"{storage_url}/storage/v1/b/{bucket}/o", timeout=30)
    response.raise_for_status()
    return sorted(item["name"] for item in response.json().get("items", []))


def _healthcare(stack: LocalStack, path: str) -> Any:
    response = requests.get(f"{stack.healthcare_url}/v1/{path}",
                            headers={"Authorization": "Bearer demo"}, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else []


def _count_instances(stack: LocalStack, store: str) -> int:
    total = 0
    for study in _healthcare(stack, f"{store}/dicomWeb/studies"):
        study_uid = study["0020000D"]["Value"][0]
        for series in _healthcare(stack, f"{store}/dicomWeb/studies/{study_uid}/series"):
            series_uid = series["0020000E"]["Value"][0]
            total += len(_healthcare(stack, f"{store}/dicomWeb/studies/{study_uid}/series/{series_uid}/instances"))
    return total


def _query(bigquery_url: str, sql: str) -> list[dict[str, Any]]:
    response = requests.post(f"{bigquery_url}/bigquery/v2/projects/{DEFAULT_PROJECT}/queries",
                             json={"query": sql, "useLegacySql": False}, timeout=60)
    response.raise_for_status()
    body = response.json()
    names = [column["name"] for column in body["schema"]["fields"]]
    return [dict(zip(names, (cell["v"] for cell in row["f"]))) for row in body.get("rows", [])]


def _read_back(stack: LocalStack, result: Result, report: DemoReport) -> None:
    outputs = result.outputs
    store = outputs["dicom_store"]
    report.job_outputs = {"imports": outputs.get("imports", {}), "exports": outputs.get("exports", {})}
    report.stored_instances = _count_instances(stack, store)
    for bucket in (EXPORT_BUCKET, RENDER_BUCKET, SUBSET_BUCKET):
        report.exported_objects[bucket] = _list_objects(stack.storage_url, bucket)
    table = f"`{DEFAULT_PROJECT}.{BQ_DATASET}.{BQ_TABLE}`"
    report.bigquery_row_count = int(_query(stack.bigquery_url, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])
    report.bigquery_rows = _query(stack.bigquery_url,
                                  f"SELECT Modality, PatientID, SOPInstanceUID FROM {table} "
                                  "ORDER BY Modality, SOPInstanceUID LIMIT 4")
    import_operation = outputs["imports"][IMPORT_NAME]["operation_name"]
    operation = _healthcare(stack, import_operation)
    for detail in operation.get("error", {}).get("details", []):
        report.sample_errors.extend(detail.get("sampleErrors", []))


def _print_report(report: DemoReport, out: TextIO) -> None:
    line = lambda text="": print(text, file=out, flush=True)  # noqa: E731
    line()
    line("== What the emulators hold now ==")
    line(f"uploaded to gs://{SOURCE_BUCKET}: " + ", ".join(counted(n, k) for k, n in report.uploaded.items()))
    line(f"instances stored in the DICOM store (QIDO-RS): {report.stored_instances}")
    for kind, jobs in report.job_outputs.items():
        for name, job in jobs.items():
            line(f"  {kind[:-1]} {name}: success={job.get('success_count')} "
                 f"failure={job.get('failure_count')}  ({job.get('operation_name')})")
    for bucket, names in report.exported_objects.items():
        line(f"gs://{bucket}: {len(names)} objects, e.g.")
        for name in names[:2]:
            line(f"    {name}")
    line(f"BigQuery {BQ_DATASET}.{BQ_TABLE}: {report.bigquery_row_count} rows, e.g.")
    for row in report.bigquery_rows:
        line(f"    {row}")
    _print_expected_failure(report, line)
    line(f"second `up`: {report.second_run_counts or 'no changes'}")
    line()
    line("Try next:")
    line(f"  a sandbox for the dicom-jobs CLI (docs/cli.md): {SANDBOX_COMMAND}")
    line(f"  the CLI's commands and options:                 {CLI_HELP_COMMAND}")
    line("  the resources and their inputs:                 README.md; the provider plugin: docs/plugin.md")


def _print_expected_failure(report: DemoReport, line: Callable[..., None]) -> None:
    """The import's one failure is the demo's broken file, tolerated by design: say so."""
    archive = report.job_outputs.get("imports", {}).get(IMPORT_NAME, {})
    failed = archive.get("failure_count")
    total = (archive.get("success_count") or 0) + (failed or 0)
    line(f"expected: {failed} of {total} files failed to import, the file that is not DICOM:")
    for sample in report.sample_errors[:3]:
        line(f"    {sample.get('resource')}: {sample.get('error', {}).get('message')}")
    line(f"  max_failed_instances={IMPORT_MAX_FAILED} (the demo's config) tolerates it, "
         "so the import succeeded")


def _shown(directory: Path) -> str:
    """``directory`` as a command line typed where the demo runs would name it (``.`` at the root)."""
    try:
        return str(directory.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(directory)


def _up(program_dir: Path, stack: LocalStack, out: TextIO) -> Result:
    """``pulumi-offline up --stack demo DIR`` (its config file beside the program), with the CLI's
    Ctrl-C handling."""
    display = Display(out)

    def terminated() -> None:
        raise Interrupted(f"terminated; the stack's state as of the last finished step is in "
                          f"{_shown(state_path(program_dir, STACK))}")

    scope = CancellationScope(display, on_terminate=terminated)
    with scope.installed():
        result = run("up", program_dir, stack=STACK, env=stack.env(), display=display,
                     on_engine=scope.attach)
    if scope.signalled:
        raise Interrupted(f"the update was cancelled; the stack's state is saved in "
                          f"{_shown(state_path(program_dir, STACK))}")
    return result


def run_demo(program_dir: Path | None = None, out: TextIO = sys.stdout,
             instance_delay: float = PER_INSTANCE_SECONDS) -> DemoReport:
    """Run the whole demo; returns what it read back. Raises on any failure (:class:`Interrupted`
    after Ctrl-C)."""
    program_dir = Path(program_dir or default_program_dir())
    report = DemoReport()
    write_demo_config(program_dir)
    state_file = state_path(program_dir, STACK)
    state_file.unlink(missing_ok=True)  # the emulators start empty, so must the demo stack
    objects, _ = _study_set()
    report.uploaded = {"pydicom file": 3, "generated instance": 6, "broken file": 1, "filter file": 1}
    with tempfile.TemporaryDirectory(prefix="dicom-demo-") as scratch, \
            LocalStack(healthcare_args=["--instance-delay", str(instance_delay)],
                       log_dir=Path(scratch) / "logs") as stack:
        print(f"local stack up: {', '.join(f'{k}={v}' for k, v in stack.env().items())}", file=out, flush=True)
        _upload(stack.storage_url, SOURCE_BUCKET, objects)
        print(f"\n$ pulumi-offline up --stack {STACK} {_shown(program_dir)}", file=out, flush=True)
        first = _up(program_dir, stack, out)
        if not first.ok:
            raise RuntimeError("pulumi-offline up failed:\n" + "\n".join(first.errors))
        _read_back(stack, first, report)
        print(f"\n$ pulumi-offline up --stack {STACK} {_shown(program_dir)}   # again: nothing to do", file=out, flush=True)
        second = _up(program_dir, stack, out)
        if not second.ok:
            raise RuntimeError("second pulumi-offline up failed:\n" + "\n".join(second.errors))
        report.second_run_counts = {kind: n for kind, n in second.counts.items() if kind != "same" and n}
        _print_report(report, out)
    report.ok = True
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--program", type=Path, default=None, help="the program directory (default: repo root)")
    parser.add_argument("--instance-delay", type=float, default=PER_INSTANCE_SECONDS,
                        help="seconds the Healthcare emulator spends per instance (longer jobs)")
    args = parser.parse_args(argv)
    try:
        run_demo(args.program, instance_delay=args.instance_delay)
    except Interrupted as exc:
        print(f"\ninterrupted: {exc}; the local stack was stopped", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted: the local stack was stopped", file=sys.stderr)
        return 130
    except Exception as exc:  # the demo's contract is a readable message, not a traceback
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
