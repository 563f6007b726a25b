"""Pure parts of the CLI's progress display: durations, timestamps, ETA, plain lines."""

from __future__ import annotations

import datetime as dt
import io

from support.clock import FakeClock
from support.operations import IMPORT_METHOD, snapshot
from pulumi_dicom_jobs.cli.progress import PlainProgress
from pulumi_dicom_jobs.progress_text import Estimator, format_duration
from pulumi_dicom_jobs.lro import OperationStatus

NAME = "projects/p/locations/l/datasets/d/operations/42"
CREATED = "2026-01-02T03:04:05.123456789Z"
#: The wall clock at the first snapshot: 10 s after CREATED.
WALL = dt.datetime(2026, 1, 2, 3, 4, 15, 123456, tzinfo=dt.timezone.utc)


def status(success=0, failure=0, pending=0, done=False, create_time=CREATED) -> OperationStatus:
    return snapshot(NAME, done=done, method=IMPORT_METHOD, create_time=create_time, success=success,
                    failure=failure, pending=pending)


def test_format_duration():
    assert format_duration(0) == "0:00:00"
    assert format_duration(3725.4) == "1:02:05"
    assert format_duration(None) == "-:--:--"
    assert format_duration(-1) == "-:--:--"


def test_estimator_elapsed_from_create_time_and_eta_from_rate():
    clock = FakeClock(100.0, wall=WALL)
    est = Estimator(clock=clock, wall=clock.wall)
    est.observe(status(pending=100))
    assert round(est.elapsed()) == 10  # created 10 s before the first snapshot
    assert est.eta() is None  # no rate yet
    clock.advance(10)
    est.observe(status(success=20, pending=80))
    assert est.rate() == 2.0
    assert est.eta() == 40.0
    clock.advance(5)  # counts down between snapshots
    assert est.eta() == 35.0
    est.observe(status(success=100, done=True))
    assert est.eta() == 0.0


def test_estimator_ignores_a_create_time_in_the_future():
    clock = FakeClock(100.0, wall=WALL)
    est = Estimator(clock=clock, wall=clock.wall)
    est.observe(status(create_time="2030-01-01T00:00:00Z"))
    assert est.elapsed() == 0.0


def test_plain_progress_prints_changes_and_heartbeats_only():
    clock = FakeClock(100.0, wall=WALL)
    out = io.StringIO()
    reporter = PlainProgress(out, "import", heartbeat=15, clock=clock)
    reporter.estimator = Estimator(clock=clock, wall=clock.wall)
    reporter.started(NAME)
    reporter.estimator = Estimator(clock=clock, wall=clock.wall)
    reporter.update(status(pending=10))
    clock.advance(1)
    reporter.update(status(pending=10))  # no change, no heartbeat yet
    clock.advance(15)
    reporter.update(status(pending=10))  # heartbeat
    reporter.update(status(success=10, done=True))
    lines = out.getvalue().splitlines()
    assert lines[0] == f"Started import operation {NAME}"
    assert len(lines) == 4
    assert "running: success=0 failure=0 pending=10 (0/10, 0%, ETA -:--:--)" in lines[1]
    assert lines[3].endswith("operations/42 done: success=10 failure=0 pending=0")


def test_both_faces_lines_read_one_state_and_one_count() -> None:
    """The CLI's log line and the plugin's row (progress_text) say the same of one snapshot."""
    from pulumi_dicom_jobs.progress_text import log_line, row_text

    clock = FakeClock(100.0, wall=WALL)
    cancelling = snapshot(NAME, method=IMPORT_METHOD, create_time=CREATED, success=3, failure=1, pending=4,
                          cancel_requested=True)
    estimator = Estimator(clock=clock, wall=clock.wall)
    estimator.observe(cancelling)
    assert log_line(cancelling, estimator).endswith(
        "operations/42 cancelling: success=3 failure=1 pending=4 (4/8, 50%, ETA -:--:--)")
    assert row_text(cancelling, estimator) == "operations/42: 4/8 done, 1 failed, ETA -:--:-- (cancelling)"
    unknown = snapshot(NAME, method=IMPORT_METHOD)
    assert log_line(unknown, estimator).endswith("operations/42 running: success=0 failure=0 pending=0")
    assert row_text(unknown, estimator).startswith("operations/42: 0/? done, 0 failed")
