"""The job layer's documented rules that the emulator cannot provoke, or that
take minutes of wall clock: on a scripted loopback API (support.scripted) and
an injected clock and sleep.

* a PERMISSION_DENIED is restarted only when nothing was processed
  (docs/lifecycle.md, docs/real-gcp.md#the-permission-retry): a restarted
  half-finished export would run again, and WRITE_APPEND would duplicate rows;
* the default permission window is 120 s (settings, docs/lifecycle.md);
* the settle after a lost start answer: 3 s, after a timeout twice the read
  timeout, at most 30 s;
* the poll schedule's jitter (every other schedule test pins it to zero).
"""

from __future__ import annotations

import datetime as _dt
import uuid

import pytest

from support.clock import FakeClock, install
from support.scripted import ScriptedApi
from pulumi_dicom_jobs import jobs, settings
from pulumi_dicom_jobs.jobs import clock as job_clock, starting
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import AmbiguousRequestError
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight
from pulumi_dicom_jobs.lro import backoff
from pulumi_dicom_jobs.lro.schedule import PollSchedule
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.kinds import JobKind

DATASET = "projects/p/locations/l/datasets/d"
STORE = f"{DATASET}/dicomStores/s"
OPERATION = f"{DATASET}/operations/9"
BQ_EXPORT = {"bigqueryDestination": {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND"}}
DENIED = ("Permission denied: the Cloud Healthcare Service Agent "
          "service-1@gcp-sa-healthcare.iam.gserviceaccount.com lacks roles/bigquery.dataEditor on bq://p.d")


def _denied_operation(success: int) -> dict:
    return {"name": OPERATION, "done": True,
            "metadata": {"apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ExportDicomData_bq",
                         "createTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T00:00:05Z",
                         "counter": {"success": str(success)}},
            "error": {"code": 7, "message": DENIED}}


def _api(success: int, clock: FakeClock, posted_at: list[float]) -> ScriptedApi:
    def start(_call) -> tuple[int, dict]:
        posted_at.append(clock.now)
        return 200, {"name": OPERATION}

    return ScriptedApi({
        ("GET", r"/datasets/d/operations$"): (200, {"operations": []}),
        ("POST", r"/dicomStores/s:export$"): start,
        ("GET", r"/operations/9$"): (200, _denied_operation(success)),
    })


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The job layer's clock, moved only by the client's sleeps."""
    fake = install(monkeypatch, job_clock)
    monkeypatch.delenv(settings.PERMISSION_RETRY_ENV, raising=False)
    return fake


def _client(api: ScriptedApi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> HealthcareClient:
    monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", api.host)
    return HealthcareClient(retry=RetryPolicy(attempts=1), sleep=clock.sleep)


def test_permission_denied_after_processing_is_not_restarted(clock, monkeypatch) -> None:
    """Three rows already written: starting again would write them twice (WRITE_APPEND)."""
    posted_at: list[float] = []
    with _api(3, clock, posted_at) as api, _client(api, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600)
    assert posted_at == [0.0], "a half-finished export was started again"
    assert info.value.operation.error_code == 7 and info.value.operation.success == 3
    assert "started" not in str(info.value).split("\n")[-1]  # no "(started N times ...)" note
    assert clock.now == 0.0  # no pause either


def test_permission_denied_with_nothing_processed_is_restarted_for_the_default_window(
        clock, monkeypatch) -> None:
    """Default window 120 s, measured from the first start; the pauses grow and the
    last one is cut so that the last start comes exactly at the window's end."""
    posted_at: list[float] = []
    with _api(0, clock, posted_at) as api, _client(api, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600)
    assert settings.DEFAULT_PERMISSION_RETRY_SECONDS == 120.0
    assert posted_at[0] == 0.0 and posted_at[-1] == pytest.approx(120.0), posted_at
    gaps = [b - a for a, b in zip(posted_at, posted_at[1:])]
    # equal jitter along 2, 4, 8, 16, 30, 30...: each pause in the upper half of its ceiling
    for attempt, gap in enumerate(gaps[:-1]):
        ceiling = jobs.PERMISSION_RETRY_BACKOFF.ceiling(attempt)
        assert ceiling / 2 <= gap <= ceiling, (attempt, gaps)
    assert f"started {len(posted_at)} times over 120s" in str(info.value)


def test_permission_window_from_the_environment(clock, monkeypatch) -> None:
    monkeypatch.setenv(settings.PERMISSION_RETRY_ENV, "10")
    posted_at: list[float] = []
    with _api(0, clock, posted_at) as api, _client(api, clock, monkeypatch) as client:
        with pytest.raises(JobFailed):
            jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600)
    assert posted_at[-1] == pytest.approx(10.0) and len(posted_at) >= 3, posted_at


# -- the settle after a lost start answer ------------------------------------------
@pytest.mark.parametrize("read_timeout, timed_out, settle", [
    (60.0, False, 3.0),   # a reset or a 500: processed by now or never
    (0.5, True, 3.0),     # twice 0.5 s is less than the plain settle
    (5.0, True, 10.0),    # twice the read timeout
    (15.0, True, 30.0),
    (60.0, True, 30.0),   # the default read timeout: capped at 30 s
])
def test_settle_after_a_lost_answer(read_timeout: float, timed_out: bool, settle: float) -> None:
    client = HealthcareClient("https://x.example", timeout=(10.0, read_timeout))
    lost = AmbiguousRequestError("POST", "x:import", "no answer", timed_out=timed_out)
    assert starting._settle_seconds(client, lost) == settle
    assert (jobs.START_SETTLE_S, jobs.START_SETTLE_MAX_S) == (3.0, 30.0)


# -- the poll schedule's jitter ---------------------------------------------------
def _snap(success: int, pending: int) -> OperationStatus:
    return OperationStatus.from_json({"name": "n", "done": False, "metadata": {
        "counter": {"success": str(success), "pending": str(pending)}}})


@pytest.mark.parametrize("pick, factor", [(lambda low, high: high, 1.1), (lambda low, high: low, 0.9)])
def test_schedule_jitter_is_ten_percent_either_way(monkeypatch, pick, factor: float) -> None:
    """The default schedule spreads its backoff and its ETA hops by +-10 %."""
    monkeypatch.setattr(backoff.random, "uniform", pick)
    jittered, plain = PollSchedule(), PollSchedule(jitter=0.0)
    assert jittered.jitter == 0.1
    # backoff phase (no counters), long after the start so the elapsed-time cap is not hit
    for now in (0.0, 100.0, 200.0):
        got, want = jittered.next_delay(_snap(0, 0), now), plain.next_delay(_snap(0, 0), now)
        if now:  # the first delay is capped by max(initial, elapsed) = initial
            assert got == pytest.approx(want * factor), now
    # trusted rate, far from the end: the ETA hop is jittered too
    jittered, plain = PollSchedule(), PollSchedule(jitter=0.0)
    for schedule in (jittered, plain):
        schedule.next_delay(_snap(0, 1000), 0.0)
        schedule.next_delay(_snap(10, 990), 1.0)
    assert jittered.next_delay(_snap(20, 980), 2.0) == pytest.approx(
        plain.next_delay(_snap(20, 980), 2.0) * factor)


def test_schedule_jitter_spreads_a_crowd() -> None:
    """With the real random source, 20 waiters do not all poll at the same moment."""
    def second_delay() -> float:
        schedule = PollSchedule()
        schedule.next_delay(_snap(0, 0), 0.0)
        return schedule.next_delay(_snap(0, 0), 100.0)  # 2.4 s, give or take 10 %

    delays = {second_delay() for _ in range(20)}
    assert len(delays) > 1 and all(2.4 * 0.9 <= d <= 2.4 * 1.1 for d in delays), delays


# -- starting: the in-flight check and adopting after a lost answer ------------------
def _fresh_operation() -> str:
    """A name this process never started (the job layer remembers the ones it did)."""
    return f"{DATASET}/operations/{uuid.uuid4().int % 10**12}"


def _running(name: str, created: _dt.datetime) -> dict:
    return {"name": name, "done": False,
            "metadata": {"apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData",
                         "createTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "counter": {"success": "4"}}}


def _start_client(api: ScriptedApi, monkeypatch: pytest.MonkeyPatch) -> HealthcareClient:
    monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", api.host)
    monkeypatch.delenv(settings.IN_FLIGHT_CHECK_ENV, raising=False)
    monkeypatch.delenv(settings.IN_FLIGHT_GRACE_ENV, raising=False)
    return HealthcareClient(retry=RetryPolicy(attempts=1), sleep=lambda seconds: None)


IMPORT_BODY = {"gcsSource": {"uri": "gs://b/x/**.dcm"}}


def test_an_older_running_job_of_the_same_kind_blocks_the_start(monkeypatch) -> None:
    older = _fresh_operation()
    hour_ago = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
    with ScriptedApi({("GET", "/datasets/d/operations$"): (200, {"operations": [_running(older, hour_ago)]}),
                      ("POST", ":import$"): (200, {"name": _fresh_operation()})}) as api, \
            _start_client(api, monkeypatch) as client:
        with pytest.raises(JobInFlight) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert not api.calls_to("POST", ":import$")
        # the API documents no filter grammar for operations.list: none is sent,
        # the client decides from each operation's metadata
        assert api.calls and all("filter" not in c.query for c in api.calls)
    assert info.value.reason == "in_flight" and info.value.blocking == (older,)
    assert older in str(info.value) and "success=4" in str(info.value)


@pytest.mark.parametrize("seconds_ago", [1, 25])
def test_a_job_started_within_the_grace_period_does_not_block(monkeypatch, seconds_ago: int) -> None:
    recent = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=seconds_ago)
    started = _fresh_operation()
    with ScriptedApi({("GET", "/datasets/d/operations$"): (200, {"operations": [
                          _running(_fresh_operation(), recent)]}),
                      ("POST", ":import$"): (200, {"name": started})}) as api, \
            _start_client(api, monkeypatch) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
    assert settings.IN_FLIGHT_GRACE_SECONDS == 30.0


def test_the_in_flight_check_can_be_turned_off_and_fails_loudly_when_it_cannot_list(monkeypatch) -> None:
    broken = (500, {"error": {"code": 500, "status": "INTERNAL", "message": "listing broke"}})
    started = _fresh_operation()
    with ScriptedApi({("GET", "/datasets/d/operations$"): broken,
                      ("POST", ":import$"): (200, {"name": started})}) as api, \
            _start_client(api, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert info.value.reason == "start_failed" and "listing broke" in str(info.value)
        assert f"{settings.IN_FLIGHT_CHECK_ENV}=off" in str(info.value)
        assert not api.calls_to("POST", ":import$")
        monkeypatch.setenv(settings.IN_FLIGHT_CHECK_ENV, "off")
        calls = len(api.calls)
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
        assert [c.method for c in api.calls[calls:]] == ["POST"]  # no listing at all


def _answer_lost(status: int, reason: str, after_the_post: list[dict]) -> ScriptedApi:
    """A start whose answer is a ``status`` error (the server may have acted); the
    operations listing is empty before the POST (the in-flight check) and
    ``after_the_post`` once it was sent."""
    posted: list[bool] = []

    def post(_call) -> tuple[int, dict]:
        posted.append(True)
        return status, {"error": {"code": status, "status": reason, "message": "answer lost"}}

    def listing(_call) -> tuple[int, dict]:
        return 200, {"operations": after_the_post if posted else []}

    return ScriptedApi({("GET", "/datasets/d/operations$"): listing, ("POST", ":import$"): post})


def test_a_lost_start_answer_adopts_the_one_operation_it_started(monkeypatch) -> None:
    adopted, before_the_post = _fresh_operation(), _fresh_operation()
    now = _dt.datetime.now(_dt.timezone.utc)
    # one of this kind started well before the POST (beyond the clock-skew
    # margin) is not a candidate; the one started since is adopted
    earlier = now - _dt.timedelta(seconds=jobs.CLOCK_SKEW_MARGIN_S + 60)
    operations = [_running(before_the_post, earlier), _running(adopted, now)]
    with _answer_lost(500, "INTERNAL", operations) as api, _start_client(api, monkeypatch) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == adopted
        assert len(api.calls_to("POST", ":import$")) == 1
        assert all("filter" not in c.query for c in api.calls)


def test_several_candidates_after_a_lost_answer_fail_naming_them(monkeypatch) -> None:
    first, second = _fresh_operation(), _fresh_operation()
    now = _dt.datetime.now(_dt.timezone.utc)
    with _answer_lost(502, "Bad Gateway", [_running(first, now), _running(second, now)]) as api, \
            _start_client(api, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to("POST", ":import$")) == 1
    assert info.value.reason == "start_failed"
    assert first in str(info.value) and second in str(info.value) and "2 operations" in str(info.value)


# -- what an ended operation means (survivors of make mutate's first run) -------------
def test_an_operation_snapshot_keeps_what_the_outputs_show() -> None:
    status = OperationStatus.from_json({"name": "n", "done": True, "metadata": {
        "apiMethodName": "m", "createTime": "c", "endTime": "e", "cancelRequested": True,
        "counter": {"success": "3", "failure": "1", "pending": "0"}}})
    assert (status.api_method_name, status.create_time, status.end_time) == ("m", "c", "e")
    assert status.cancel_requested is True and (status.success, status.failure) == (3, 1)


def test_by_default_one_failed_instance_fails_the_job(clock, monkeypatch) -> None:
    """``max_failed_instances`` defaults to 0 (docs/lifecycle.md: the verdict)."""
    failed_one = {"name": OPERATION, "done": True,
                  "metadata": {"apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData",
                               "counter": {"success": "2", "failure": "1"}},
                  "error": {"code": 3, "message": "1 of 3 item(s) failed"}}
    with ScriptedApi({("GET", "/datasets/d/operations$"): (200, {"operations": []}),
                      ("POST", ":import$"): (200, {"name": OPERATION}),
                      ("GET", "/operations/9$"): (200, failed_one)}) as api, \
            _client(api, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, IMPORT_BODY)
        assert info.value.reason == "too_many_failures"
        with pytest.raises(JobFailed):
            jobs.wait(client, OPERATION, timeout_seconds=60)
        assert jobs.wait(client, OPERATION, timeout_seconds=60, max_failed_instances=1).failure == 1
