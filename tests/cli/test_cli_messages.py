"""What the CLI prints around a job (issue 16, section 4): the ``Started`` line
with ``--no-progress``, an elapsed time that agrees with the summary's
duration, and what a cancel leaves behind."""

from __future__ import annotations

import datetime as dt
import io
import re

from support.cli import OUTLASTING_PACE_S, run_cli
from support.clock import FakeClock
from support.operations import snapshot
from pulumi_dicom_jobs.cli.progress import NullProgress, PlainProgress, make_reporter
from pulumi_dicom_jobs.failures import what_stays
from pulumi_dicom_jobs.lro import OperationStatus
from pulumi_dicom_jobs.progress_text import Estimator, format_duration, operation_duration

NAME = "projects/p/locations/l/datasets/d/operations/42"
METHOD = "google.cloud.healthcare.v1.dicom.DicomService."


def _status(method: str = "ImportDicomData", *, success: int = 0, done: bool = False,
            end_time: str | None = None) -> OperationStatus:
    return snapshot(NAME, done=done, method=METHOD + method, create_time="2026-01-02T03:04:05Z", success=success,
                    end_time=end_time)


def test_no_progress_still_prints_the_started_line() -> None:
    stream = io.StringIO()
    reporter = make_reporter(stream, "import", enabled=False)
    assert isinstance(reporter, NullProgress)
    reporter.started(NAME)
    reporter.update(_status(success=3))
    assert stream.getvalue() == f"Started import operation {NAME}\n"


def test_no_progress_cli_keeps_the_operation_name(setup) -> None:
    setup.upload_synthetic("in", 2)
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    started = re.findall(r"^Started import operation (projects/\S+)$", proc.stdout, re.MULTILINE)
    assert len(started) == 1 and started[0] == setup.operations()[0]["name"]
    assert not re.search(r"^\[\d+:\d\d:\d\d\]", proc.stdout, re.MULTILINE)  # no progress lines


def test_elapsed_stops_at_the_operations_duration_once_done() -> None:
    clock = FakeClock(1000.0, wall=dt.datetime(2026, 1, 2, 3, 4, 8, tzinfo=dt.timezone.utc))  # 3 s after createTime
    estimator = Estimator(clock=clock, wall=clock.wall)
    estimator.observe(_status(success=1))
    clock.advance(20.0)  # the poll that sees the end comes long after it
    done = _status(success=2, done=True, end_time="2026-01-02T03:04:12Z")
    estimator.observe(done)
    assert estimator.elapsed() == operation_duration(done) == 7.0
    stream = io.StringIO()
    reporter = PlainProgress(stream, "import")
    reporter.estimator = estimator
    assert reporter.line(done).startswith(f"[{format_duration(7.0)}] ")


def test_cli_final_elapsed_agrees_with_the_summary(setup) -> None:
    setup.upload_synthetic("in", 6)
    setup.slow(0.2)
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"))
    assert proc.returncode == 0, proc.stderr
    [last] = re.findall(r"^\[(\d+:\d\d:\d\d)\] \S+ done: ", proc.stdout, re.MULTILINE)
    [took] = re.findall(r"succeeded in (\d+:\d\d:\d\d):", proc.stdout)
    assert last == took, proc.stdout


def test_what_a_cancel_leaves_behind_by_kind() -> None:
    assert what_stays(_status(success=12)) == (
        "A cancel does not roll back: the 12 instance(s) imported before the cancel stay in the store.")
    assert what_stays(_status("ExportDicomData", success=3)) == (
        "A cancel does not roll back: the 3 instance(s) exported before the cancel stay written in "
        "the destination.")
    assert what_stays(_status("ExportDicomData_bq", success=4)) == (
        "A cancel does not roll back: the rows of the 4 instance(s) exported before the cancel stay "
        "in the table.")


def test_cancelled_import_says_what_stays_imported(setup) -> None:
    setup.upload_synthetic("in", 20)
    setup.slow(OUTLASTING_PACE_S)
    name = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async").stdout.strip()
    proc = run_cli("cancel", name, "--wait")
    assert proc.returncode == 5, proc.stderr
    success = int(setup.operation(name)["metadata"].get("counter", {}).get("success", 0))
    assert (f"A cancel does not roll back: the {success} instance(s) imported before the cancel stay "
            "in the store.") in proc.stderr, proc.stderr
