"""The job layer's documented rules that the emulator cannot provoke, or that
take minutes of wall clock: on a scripted loopback API (support.scripted) and
an injected clock and sleep.

* a PERMISSION_DENIED is restarted only when no instance succeeded, failed
  instances or not (docs/lifecycle.md, docs/real-gcp.md#the-permission-retry):
  a restarted half-finished export would run again, and WRITE_APPEND would
  duplicate rows, while a failed instance wrote nothing;
* the default permission window is 120 s (settings, docs/lifecycle.md);
* the settle after a lost start answer: 3 s, after a timeout twice the read
  timeout, at most 30 s;
* ``max_failed_instances`` defaults to 0: one failed instance fails the job.
"""

from __future__ import annotations

import pytest

from support.clock import FakeClock
from support.operations import BQ_EXPORT_METHOD, IMPORT_METHOD, OPERATION, STORE, operation
from support.scripted import ScriptedApi, scripted_client
from pulumi_dicom_jobs import jobs, settings
from pulumi_dicom_jobs.jobs import starting
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import AmbiguousRequestError
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind

BQ_EXPORT = {"bigqueryDestination": {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND"}}
DENIED = ("Permission denied: the Cloud Healthcare Service Agent "
          "service-1@gcp-sa-healthcare.iam.gserviceaccount.com lacks roles/bigquery.dataEditor on bq://p.d")


def _denied_operation(success: int, failure: int = 0) -> dict:
    return operation(OPERATION, done=True, method=BQ_EXPORT_METHOD, create_time="2026-01-01T00:00:00Z",
                     end_time="2026-01-01T00:00:05Z", success=success, failure=failure, error=(7, DENIED))


def _api(success: int, clock: FakeClock, posted_at: list[float], failure: int = 0) -> ScriptedApi:
    def start(_call) -> tuple[int, dict]:
        posted_at.append(clock.now)
        return 200, {"name": OPERATION}

    return ScriptedApi({
        ("GET", r"/datasets/d/operations$"): (200, {"operations": []}),
        ("POST", r"/dicomStores/s:export$"): start,
        ("GET", r"/operations/9$"): (200, _denied_operation(success, failure)),
    })


def test_permission_denied_after_processing_is_not_restarted(clock, monkeypatch) -> None:
    """Three rows already written: starting again would write them twice (WRITE_APPEND)."""
    posted_at: list[float] = []
    with _api(3, clock, posted_at) as api, scripted_client(api, monkeypatch, clock) as client:
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
    with _api(0, clock, posted_at) as api, scripted_client(api, monkeypatch, clock) as client:
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


@pytest.mark.parametrize("success, failure, restarted", [
    (0, 0, True),    # denied before it began
    (0, 4, True),    # denied instance by instance: every one failed, none written
    (1, 0, False),   # one row written: starting again would write it twice
    (1, 4, False),
])
def test_the_permission_restart_stops_at_the_first_success(clock, monkeypatch, success: int, failure: int,
                                                            restarted: bool) -> None:
    """The boundary of the rule (docs/real-gcp.md#the-permission-retry): no success, failures or not."""
    posted_at: list[float] = []
    with _api(success, clock, posted_at, failure) as api, scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600)
    assert info.value.reason == ("too_many_failures" if failure else "operation_error")
    assert info.value.operation.error_code == 7
    if restarted:
        assert len(posted_at) > 2 and posted_at[-1] == pytest.approx(120.0), posted_at
        assert f"started {len(posted_at)} times" in str(info.value)
        # a face writes the same message in its own words after run_job has returned (the CLI's
        # --max-failed-instances): the note must still be there, not a NameError
        in_cli_words = info.value.in_words(lambda name, value: f"--{name.replace('_', '-')} {value}")
        assert f"started {len(posted_at)} times" in in_cli_words
    else:
        assert posted_at == [0.0] and clock.now == 0.0


def test_a_restart_is_announced_apart_from_the_first_start(clock, monkeypatch) -> None:
    """The faces say why a second operation appeared: ``on_started`` hears the first start only,
    ``on_restarted`` each later one; without ``on_restarted`` every start goes to ``on_started``."""
    posted_at: list[float] = []
    first: list[str] = []
    again: list[str] = []
    with _api(0, clock, posted_at) as api, scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed):
            jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600,
                         permission_retry_seconds=10, on_started=first.append, on_restarted=again.append)
    assert len(first) == 1 and len(again) == len(posted_at) - 1 >= 1, (first, again, posted_at)
    clock.now, posted_at[:] = 0.0, []
    every: list[str] = []
    with _api(0, clock, posted_at) as api, scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed):
            jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600,
                         permission_retry_seconds=10, on_started=every.append)
    assert len(every) == len(posted_at) > 1


def test_denied_with_failures_within_the_allowance_is_a_success_not_a_restart(clock, monkeypatch) -> None:
    """The verdict comes first: failed instances within max_failed_instances make a success."""
    posted_at: list[float] = []
    with _api(0, clock, posted_at, 4) as api, scripted_client(api, monkeypatch, clock) as client:
        status = jobs.run_job(client, JobKind.EXPORT_BIGQUERY, STORE, BQ_EXPORT, timeout_seconds=3600,
                              max_failed_instances=4)
    assert (status.error_code, status.failure) == (7, 4) and posted_at == [0.0]


def test_permission_window_from_the_environment(clock, monkeypatch) -> None:
    monkeypatch.setenv(settings.PERMISSION_RETRY_ENV, "10")
    posted_at: list[float] = []
    with _api(0, clock, posted_at) as api, scripted_client(api, monkeypatch, clock) as client:
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


# -- the verdict's default ----------------------------------------------------------
def test_by_default_one_failed_instance_fails_the_job(clock, monkeypatch) -> None:
    """``max_failed_instances`` defaults to 0 (docs/lifecycle.md: the verdict)."""
    failed_one = operation(OPERATION, done=True, method=IMPORT_METHOD, success=2, failure=1,
                           error=(3, "1 of 3 item(s) failed"))
    with ScriptedApi({("GET", "/datasets/d/operations$"): (200, {"operations": []}),
                      ("POST", ":import$"): (200, {"name": OPERATION}),
                      ("GET", "/operations/9$"): (200, failed_one)}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.run_job(client, JobKind.IMPORT, STORE, {"gcsSource": {"uri": "gs://b/x/**.dcm"}})
        assert info.value.reason == "too_many_failures"
        with pytest.raises(JobFailed):
            jobs.wait(client, OPERATION, timeout_seconds=60)
        assert jobs.wait(client, OPERATION, timeout_seconds=60, max_failed_instances=1).failure == 1
