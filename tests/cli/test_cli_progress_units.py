"""Pure parts of the CLI's progress display: durations, timestamps, ETA, plain lines."""

from __future__ import annotations

import datetime as dt
import io

from pulumi_dicom_jobs.cli.progress import PlainProgress
from pulumi_dicom_jobs.progress_text import Estimator, format_duration
from pulumi_dicom_jobs.lro import OperationStatus

NAME = "projects/p/locations/l/datasets/d/operations/42"
CREATED = "2026-01-02T03:04:05.123456789Z"


def status(success=0, failure=0, pending=0, done=False, create_time=CREATED) -> OperationStatus:
    counter = {k: str(v) for k, v in (("success", success), ("failure", failure), ("pending", pending)) if v}
    return OperationStatus.from_json({"name": NAME, "done": done, "metadata": {
        "apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData",
        "createTime": create_time, "counter": counter}})


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.wall_now = dt.datetime(2026, 1, 2, 3, 4, 15, 123456, tzinfo=dt.timezone.utc)

    def __call__(self) -> float:
        return self.now

    def wall(self) -> dt.datetime:
        return self.wall_now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.wall_now += dt.timedelta(seconds=seconds)


def test_format_duration():
    assert format_duration(0) == "0:00:00"
    assert format_duration(3725.4) == "1:02:05"
    assert format_duration(None) == "-:--:--"
    assert format_duration(-1) == "-:--:--"


def test_estimator_elapsed_from_create_time_and_eta_from_rate():
    clock = FakeClock()
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
    clock = FakeClock()
    est = Estimator(clock=clock, wall=clock.wall)
    est.observe(status(create_time="2030-01-01T00:00:00Z"))
    assert est.elapsed() == 0.0


def test_plain_progress_prints_changes_and_heartbeats_only():
    clock = FakeClock()
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
