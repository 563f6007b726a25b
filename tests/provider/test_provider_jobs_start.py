"""Starting a job: the in-flight check, the starting POST, adopting after a lost
answer (docs/lifecycle.md, "Never twice", "A job left running" and "Starting a
job"), on a scripted loopback API
(support.scripted) and a fake clock (support.clock).

* an older running job of the same kind, that this process did not start,
  blocks the start and is named with its createTime and counters; another
  kind, a sibling this process started, or a job within the grace period does
  not; a restarted host (which remembers nothing) sees its predecessor's;
* a listing that fails the way the start would (no dataset, a refused
  credential, nothing at the endpoint) fails with that cause, not the check's;
* a refused start, an answer naming no operation, no credentials: start_failed
  with the cause (and the grant hint for a service agent's denial);
* a lost answer: the listing is repeated for the settle period, and only when
  nothing appears is the POST sent again (at most 4 times); a listing that
  fails then, or several candidates, fail the start naming what happened.
"""

from __future__ import annotations

import datetime as _dt
import socket
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from support.clock import FakeClock, install
from support.scripted import ScriptedApi
from pulumi_dicom_jobs import jobs, settings
from pulumi_dicom_jobs.jobs import clock as job_clock, starting
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import ApiError
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight

DATASET = "projects/p/locations/l/datasets/d"
STORE = f"{DATASET}/dicomStores/s"
LISTING = ("GET", r"/datasets/d/operations$")
IMPORT_POST = ("POST", r"/dicomStores/s:import$")
EXPORT_POST = ("POST", r"/dicomStores/s:export$")
IMPORT_BODY = {"gcsSource": {"uri": "gs://b/x/**.dcm"}}
METHOD = "google.cloud.healthcare.v1.dicom.DicomService."
IMPORT_METHOD, GCS_METHOD, BQ_METHOD = (METHOD + m for m in ("ImportDicomData", "ExportDicomData",
                                                           "ExportDicomData_bq"))
HOUR_AGO = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
NO_OPERATIONS = (200, {"operations": []})


def _fresh_operation() -> str:
    """A name this process never started (the job layer remembers the ones it did)."""
    return f"{DATASET}/operations/{uuid.uuid4().int % 10**12}"


def _running(name: str, created: _dt.datetime | None, method: str = IMPORT_METHOD,
             counter: dict | None = None) -> dict:
    metadata: dict = {"apiMethodName": method, "counter": counter or {"success": "4"}}
    if created is not None:
        metadata["createTime"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"name": name, "done": False, "metadata": metadata}


def _error(code: int, status: str, message: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "status": status, "message": message}}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The job layer's clock, moved only by the client's sleeps; the settle after a
    lost answer waits on it too, so its 3 s (or more) pass at once."""
    fake = install(monkeypatch, job_clock)
    for name in (settings.IN_FLIGHT_CHECK_ENV, settings.IN_FLIGHT_GRACE_ENV, "GOOGLE_OAUTH_ACCESS_TOKEN",
                 "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT", "DICOM_JOBS_HTTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    yield fake


def _client(host: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
            read_timeout: float = 60.0) -> HealthcareClient:
    monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", host)
    return HealthcareClient(retry=RetryPolicy(attempts=1), timeout=(5.0, read_timeout), sleep=clock.sleep)


# -- the in-flight check ------------------------------------------------------------
@pytest.mark.parametrize("body, own, others", [
    ({"gcsDestination": {"uriPrefix": "gs://b/out"}}, GCS_METHOD, (BQ_METHOD, IMPORT_METHOD)),
    ({"bigqueryDestination": {"tableUri": "bq://p.d.t"}}, BQ_METHOD, (GCS_METHOD, IMPORT_METHOD)),
])
def test_an_export_is_blocked_only_by_an_older_running_export_of_its_own_kind(
        clock, monkeypatch, body: dict, own: str, others: tuple[str, ...]) -> None:
    """Same kind means same apiMethodName: a BigQuery export reports ExportDicomData_bq."""
    started, blocking = _fresh_operation(), _fresh_operation()
    listed = [_running(_fresh_operation(), HOUR_AGO, method) for method in others]
    with ScriptedApi({LISTING: lambda call: (200, {"operations": listed}),
                      EXPORT_POST: (200, {"name": started})}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        assert jobs.start_export(client, STORE, body) == started
        posts = api.calls_to(*EXPORT_POST)
        assert [c.body for c in posts] == [body] and not api.calls_to(*IMPORT_POST)
        listed.append(_running(blocking, HOUR_AGO, own))
        with pytest.raises(JobInFlight) as info:
            jobs.start_export(client, STORE, body)
        assert len(api.calls_to(*EXPORT_POST)) == 1
    assert info.value.blocking == (blocking,) and f"({own})" in str(info.value)
    assert "did not start the DICOM export job" in str(info.value)


def test_operations_this_process_started_never_block_but_a_restarted_host_sees_them(
        clock, monkeypatch) -> None:
    """Siblings of one ``pulumi up`` share the provider host; a restarted host
    remembers nothing, which is what makes it see its predecessor's operation."""
    sibling, foreign = _fresh_operation(), _fresh_operation()
    listed: list[dict] = []
    with ScriptedApi({LISTING: lambda call: (200, {"operations": listed}),
                      IMPORT_POST: (200, {"name": sibling})}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == sibling
        # an hour later the sibling still runs, listed before another process's job
        listed += [_running(sibling, HOUR_AGO), _running(foreign, HOUR_AGO)]
        with pytest.raises(JobInFlight) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert info.value.blocking == (foreign,) and sibling not in str(info.value)
        monkeypatch.setattr(starting, "_started_here", starting._OperationNames())  # the host restarted
        with pytest.raises(JobInFlight) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert info.value.blocking == (sibling, foreign)
        assert len(api.calls_to(*IMPORT_POST)) == 1


def test_the_in_flight_failure_names_each_older_operation_and_how_to_proceed(clock, monkeypatch) -> None:
    dated, undated = _fresh_operation(), _fresh_operation()
    counter = {"success": "4", "failure": "1", "pending": "7"}
    listed = [_running(dated, HOUR_AGO, counter=counter), _running(undated, None)]
    with ScriptedApi({LISTING: (200, {"operations": listed}),
                      IMPORT_POST: (200, {"name": _fresh_operation()})}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobInFlight) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert not api.calls_to(*IMPORT_POST)
    text = str(info.value)
    # an operation without a readable createTime counts as older
    assert info.value.reason == "in_flight" and info.value.blocking == (dated, undated)
    assert f"2 operation(s) of the same kind ({IMPORT_METHOD})" in text
    assert f"more than 30s ago and still running on {DATASET}" in text
    assert f"{dated} (created {HOUR_AGO.strftime('%Y-%m-%dT%H:%M:%SZ')}; " in text
    assert "success=4 failure=1 pending=7" in text
    assert f"{undated} (created at an unknown time; " in text
    # why nothing was started, and the knob that turns the check off
    assert "may be this job's own operation from an interrupted run" in text
    assert "the API cannot tell whose it is" in text and "no second operation was started" in text
    assert info.value.check_knob == settings.IN_FLIGHT_CHECK_ENV
    assert f"set {settings.IN_FLIGHT_CHECK_ENV}=off" in text


@pytest.mark.parametrize("answer, expected", [
    (_error(404, "NOT_FOUND", "dataset d does not exist"),
     f"could not start the DICOM import job: dataset d does not exist (the API answered 404 NOT_FOUND "
     f"for the dataset {DATASET})"),
    (_error(401, "UNAUTHENTICATED", "token refused"),
     "could not start the DICOM import job: HTTP 401 UNAUTHENTICATED: token refused"),
])
def test_a_listing_that_fails_as_the_start_would_names_that_cause_not_the_check(
        clock, monkeypatch, answer: tuple, expected: str) -> None:
    with ScriptedApi({LISTING: answer, IMPORT_POST: (200, {"name": _fresh_operation()})}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert not api.calls_to(*IMPORT_POST)
    assert info.value.reason == "start_failed" and str(info.value).startswith(expected), str(info.value)
    assert settings.IN_FLIGHT_CHECK_ENV not in str(info.value)


def test_nothing_answering_at_the_endpoint_fails_the_start_naming_it(clock, monkeypatch) -> None:
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{bound.getsockname()[1]}"
        with _client(host, clock, monkeypatch) as client, pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    text = str(info.value)
    assert info.value.reason == "start_failed"
    assert text.startswith(f"could not start the DICOM import job: could not connect to the Healthcare "
                           f"API at http://{host}"), text
    assert settings.IN_FLIGHT_CHECK_ENV not in text


def test_no_credentials_fail_the_start_saying_how_to_get_some(clock, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with HealthcareClient("http://127.0.0.1:1", retry=RetryPolicy(attempts=1), sleep=clock.sleep) as client, \
            pytest.raises(JobFailed) as info:
        jobs.start_import(client, STORE, IMPORT_BODY)
    assert info.value.reason == "start_failed"
    assert str(info.value).startswith("could not start the DICOM import job: no Google credentials found")


# -- the starting POST ----------------------------------------------------------------
DENIED = ("Permission denied: the Cloud Healthcare Service Agent "
          "service-1@gcp-sa-healthcare.iam.gserviceaccount.com lacks roles/storage.objectViewer on gs://b")


def test_a_refused_start_fails_with_the_apis_text_and_the_grant_hint(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: _error(403, "PERMISSION_DENIED", DENIED)}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    headline, hint = str(info.value).split("\n")
    assert info.value.reason == "start_failed"
    assert headline.startswith("could not start the DICOM import job: HTTP 403 PERMISSION_DENIED: " + DENIED)
    assert hint.startswith("Hint: ") and "roles/storage.objectViewer" in hint
    assert "serviceAccount:service-1@gcp-sa-healthcare.iam.gserviceaccount.com" in hint


def test_a_refused_start_without_a_hint_is_the_apis_text_alone(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: _error(400, "INVALID_ARGUMENT", "bad uri")}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    api_error = ApiError(400, "INVALID_ARGUMENT", "bad uri", method="POST", path=f"v1/{STORE}:import")
    assert info.value.reason == "start_failed"
    assert str(info.value) == f"could not start the DICOM import job: {api_error}"


def test_an_answer_naming_no_operation_fails_the_start(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: (200, {})}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    assert info.value.reason == "start_failed"
    assert str(info.value) == "could not start the DICOM import job: the answer named no operation"


# -- a lost answer ---------------------------------------------------------------------
@pytest.mark.parametrize("lost, read_timeout, settle", [
    (_error(500, "INTERNAL", "answer lost"), 60.0, 3.0),       # processed by now or never
    (_error(504, "DEADLINE_EXCEEDED", "answer lost"), 5.0, 10.0),  # the server may still hold it
])
def test_a_lost_answer_with_nothing_started_is_sent_again_after_the_settle(
        clock, monkeypatch, lost: tuple, read_timeout: float, settle: float) -> None:
    started = _fresh_operation()
    posted_at: list[float] = []
    listed_at: list[float] = []

    def post(call) -> tuple:
        posted_at.append(clock.now)
        return lost if len(posted_at) == 1 else (200, {"name": started})

    def listing(call) -> tuple:
        listed_at.append(clock.now)
        return NO_OPERATIONS

    with ScriptedApi({LISTING: listing, IMPORT_POST: post}) as api, \
            _client(api.host, clock, monkeypatch, read_timeout) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
    assert posted_at == [0.0, pytest.approx(settle)]
    # the in-flight check, then the listing repeated over the settle, the last at its end
    settling = listed_at[1:]
    assert len(settling) > 2 and settling[0] == 0.0 and settling[-1] == pytest.approx(settle), listed_at


def test_start_requests_that_never_get_an_answer_nor_start_anything_give_up_after_four(
        clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: _error(502, "Bad Gateway", "answer lost")}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to(*IMPORT_POST)) == jobs.MAX_START_ATTEMPTS == 4
    assert info.value.reason == "start_failed"
    assert str(info.value) == ("could not start the DICOM import job: 4 start requests got no reliable "
                               "answer and none started an operation")


def test_a_listing_that_fails_after_a_lost_answer_fails_the_start_naming_both(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: [NO_OPERATIONS, _error(403, "PERMISSION_DENIED", "listing refused")],
                      IMPORT_POST: _error(500, "INTERNAL", "answer lost")}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to(*IMPORT_POST)) == 1
    text = str(info.value)
    assert info.value.reason == "start_failed"
    assert text.startswith("could not start the DICOM import job: the start request got no reliable answer")
    assert "answer lost" in text and "listing refused" in text


def test_several_candidates_after_a_lost_answer_fail_naming_each(clock, monkeypatch) -> None:
    first, second = _fresh_operation(), _fresh_operation()
    now = _dt.datetime.now(_dt.timezone.utc)
    with ScriptedApi({LISTING: [NO_OPERATIONS, (200, {"operations": [_running(first, now), _running(second, now)]})],
                      IMPORT_POST: _error(500, "INTERNAL", "answer lost")}) as api, \
            _client(api.host, clock, monkeypatch) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to(*IMPORT_POST)) == 1
    assert info.value.reason == "start_failed"
    assert str(info.value).startswith("could not tell which DICOM import job was started")
    assert f"2 operations of the same kind started on {DATASET} since then: {first}, {second}." in str(info.value)
