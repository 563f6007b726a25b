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
* a lost answer: the listing is repeated over the settle period (three times:
  at once, halfway, at its end), and only when nothing appears is the POST
  sent again (at most 4 times); a listing that fails then, or several
  candidates, fail the start naming what happened. What all this costs on a
  long history: test_jobs_start_cost.py.
"""

from __future__ import annotations

import datetime as _dt
import socket
from pathlib import Path

import pytest

from support.operations import BQ_EXPORT_METHOD as BQ_METHOD, DATASET, GCS_EXPORT_METHOD as GCS_METHOD
from support.operations import IMPORT_METHOD, STORE, fresh_operation_name, operation
from support.scripted import ScriptedApi, scripted_client
from pulumi_dicom_jobs import jobs, settings
from pulumi_dicom_jobs.jobs import starting
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.errors import ApiError
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.failures import JobFailed, JobInFlight

LISTING = ("GET", r"/datasets/d/operations$")
IMPORT_POST = ("POST", r"/dicomStores/s:import$")
EXPORT_POST = ("POST", r"/dicomStores/s:export$")
IMPORT_BODY = {"gcsSource": {"uri": "gs://b/x/**.dcm"}}
HOUR_AGO = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
NO_OPERATIONS = (200, {"operations": []})


def _running(name: str, created: _dt.datetime | None, method: str = IMPORT_METHOD, **counters: int) -> dict:
    return operation(name, method=method, create_time=created, **(counters or {"success": 4}))


def _error(code: int, status: str, message: str) -> tuple[int, dict]:
    return code, {"error": {"code": code, "status": status, "message": message}}


# -- the in-flight check ------------------------------------------------------------
@pytest.mark.parametrize("body, own, others", [
    ({"gcsDestination": {"uriPrefix": "gs://b/out"}}, GCS_METHOD, (BQ_METHOD, IMPORT_METHOD)),
    ({"bigqueryDestination": {"tableUri": "bq://p.d.t"}}, BQ_METHOD, (GCS_METHOD, IMPORT_METHOD)),
])
def test_an_export_is_blocked_only_by_an_older_running_export_of_its_own_kind(
        clock, monkeypatch, body: dict, own: str, others: tuple[str, ...]) -> None:
    """Same kind means same apiMethodName: a BigQuery export reports ExportDicomData_bq."""
    started, blocking = fresh_operation_name(), fresh_operation_name()
    listed = [_running(fresh_operation_name(), HOUR_AGO, method) for method in others]
    with ScriptedApi({LISTING: lambda call: (200, {"operations": listed}),
                      EXPORT_POST: (200, {"name": started})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
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
    sibling, foreign = fresh_operation_name(), fresh_operation_name()
    listed: list[dict] = []
    with ScriptedApi({LISTING: lambda call: (200, {"operations": listed}),
                      IMPORT_POST: (200, {"name": sibling})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
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
    dated, undated = fresh_operation_name(), fresh_operation_name()
    counter = {"success": 4, "failure": 1, "pending": 7}
    listed = [_running(dated, HOUR_AGO, **counter), _running(undated, None)]
    with ScriptedApi({LISTING: (200, {"operations": listed}),
                      IMPORT_POST: (200, {"name": fresh_operation_name()})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
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
    with ScriptedApi({LISTING: answer, IMPORT_POST: (200, {"name": fresh_operation_name()})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert not api.calls_to(*IMPORT_POST)
    assert info.value.reason == "start_failed" and str(info.value).startswith(expected), str(info.value)
    assert settings.IN_FLIGHT_CHECK_ENV not in str(info.value)


def test_nothing_answering_at_the_endpoint_fails_the_start_naming_it(clock, monkeypatch) -> None:
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{bound.getsockname()[1]}"
        with scripted_client(host, monkeypatch, clock) as client, pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    text = str(info.value)
    assert info.value.reason == "start_failed"
    dataset = STORE.rsplit("/dicomStores/", 1)[0]
    assert text.startswith(f"could not start the DICOM import job: its first request, which lists the dataset's "
                           f"operations to check that no import is already running there (GET {dataset}/"
                           f"operations), failed: could not connect to the Healthcare API at http://{host}"), text
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
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    headline, hint = str(info.value).split("\n")
    assert info.value.reason == "start_failed"
    assert headline.startswith("could not start the DICOM import job: HTTP 403 PERMISSION_DENIED: " + DENIED)
    assert hint.startswith("Hint: ") and "roles/storage.objectViewer" in hint
    assert "serviceAccount:service-1@gcp-sa-healthcare.iam.gserviceaccount.com" in hint


def test_a_refused_start_without_a_hint_is_the_apis_text_alone(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: _error(400, "INVALID_ARGUMENT", "bad uri")}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
    api_error = ApiError(400, "INVALID_ARGUMENT", "bad uri", method="POST", path=f"v1/{STORE}:import")
    assert info.value.reason == "start_failed"
    assert str(info.value) == f"could not start the DICOM import job: {api_error}"


def test_an_answer_naming_no_operation_fails_the_start(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: (200, {})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
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
    started = fresh_operation_name()
    posted_at: list[float] = []
    listed_at: list[float] = []

    def post(call) -> tuple:
        posted_at.append(clock.now)
        return lost if len(posted_at) == 1 else (200, {"name": started})

    def listing(call) -> tuple:
        listed_at.append(clock.now)
        return NO_OPERATIONS

    with ScriptedApi({LISTING: listing, IMPORT_POST: post}) as api, \
            scripted_client(api, monkeypatch, clock, timeout=(5.0, read_timeout)) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
    assert posted_at == [0.0, pytest.approx(settle)]
    # the in-flight check, then three listings over the settle: at once, halfway, at its end
    assert listed_at == [0.0, 0.0, pytest.approx(settle / 2), pytest.approx(settle)]


def test_start_requests_that_never_get_an_answer_nor_start_anything_give_up_after_four(
        clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: NO_OPERATIONS, IMPORT_POST: _error(502, "Bad Gateway", "answer lost")}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to(*IMPORT_POST)) == jobs.MAX_START_ATTEMPTS == 4
    assert info.value.reason == "start_failed"
    assert str(info.value) == ("could not start the DICOM import job: 4 start requests got no reliable "
                               "answer and none started an operation")


def test_a_listing_that_fails_after_a_lost_answer_fails_the_start_naming_both(clock, monkeypatch) -> None:
    with ScriptedApi({LISTING: [NO_OPERATIONS, _error(403, "PERMISSION_DENIED", "listing refused")],
                      IMPORT_POST: _error(500, "INTERNAL", "answer lost")}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to(*IMPORT_POST)) == 1
    text = str(info.value)
    assert info.value.reason == "start_failed"
    assert text.startswith("could not start the DICOM import job: the start request got no reliable answer")
    assert "answer lost" in text and "listing refused" in text


def test_several_candidates_after_a_lost_answer_fail_naming_each(clock, monkeypatch) -> None:
    first, second = fresh_operation_name(), fresh_operation_name()
    now = _dt.datetime.now(_dt.timezone.utc)
    with ScriptedApi({LISTING: [NO_OPERATIONS, (200, {"operations": [_running(first, now), _running(second, now)]})],
                      IMPORT_POST: _error(500, "INTERNAL", "answer lost")}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to(*IMPORT_POST)) == 1
    assert info.value.reason == "start_failed"
    assert str(info.value).startswith("could not tell which DICOM import job was started")
    assert f"2 operations of the same kind started on {DATASET} since then: {first}, {second}." in str(info.value)


# -- the in-flight check and a lost answer, on the job layer's defaults -------------
def test_an_older_running_job_of_the_same_kind_blocks_the_start(clock, monkeypatch) -> None:
    older = fresh_operation_name()
    hour_ago = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=1)
    with ScriptedApi({("GET", "/datasets/d/operations$"): (200, {"operations": [_running(older, hour_ago)]}),
                      ("POST", ":import$"): (200, {"name": fresh_operation_name()})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobInFlight) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert not api.calls_to("POST", ":import$")
        # the API documents no filter grammar for operations.list: none is sent,
        # the client decides from each operation's metadata
        assert api.calls and all("filter" not in c.query for c in api.calls)
    assert info.value.reason == "in_flight" and info.value.blocking == (older,)
    assert older in str(info.value) and "success=4" in str(info.value)


@pytest.mark.parametrize("seconds_ago", [1, 25])
def test_a_job_started_within_the_grace_period_does_not_block(clock, monkeypatch, seconds_ago: int) -> None:
    recent = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=seconds_ago)
    started = fresh_operation_name()
    with ScriptedApi({("GET", "/datasets/d/operations$"): (200, {"operations": [
                          _running(fresh_operation_name(), recent)]}),
                      ("POST", ":import$"): (200, {"name": started})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == started
    assert settings.IN_FLIGHT_GRACE_SECONDS == 30.0


def test_the_in_flight_check_can_be_turned_off_and_fails_loudly_when_it_cannot_list(clock, monkeypatch) -> None:
    broken = (500, {"error": {"code": 500, "status": "INTERNAL", "message": "listing broke"}})
    started = fresh_operation_name()
    with ScriptedApi({("GET", "/datasets/d/operations$"): broken,
                      ("POST", ":import$"): (200, {"name": started})}) as api, \
            scripted_client(api, monkeypatch, clock) as client:
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


def test_a_lost_start_answer_adopts_the_one_operation_it_started(clock, monkeypatch) -> None:
    adopted, before_the_post = fresh_operation_name(), fresh_operation_name()
    now = _dt.datetime.now(_dt.timezone.utc)
    # one of this kind started well before the POST (beyond the clock-skew
    # margin) is not a candidate; the one started since is adopted
    earlier = now - _dt.timedelta(seconds=jobs.CLOCK_SKEW_MARGIN_S + 60)
    operations = [_running(before_the_post, earlier), _running(adopted, now)]
    with _answer_lost(500, "INTERNAL", operations) as api, scripted_client(api, monkeypatch, clock) as client:
        assert jobs.start_import(client, STORE, IMPORT_BODY) == adopted
        assert len(api.calls_to("POST", ":import$")) == 1
        assert all("filter" not in c.query for c in api.calls)


def test_several_candidates_after_a_lost_answer_fail_naming_them(clock, monkeypatch) -> None:
    first, second = fresh_operation_name(), fresh_operation_name()
    now = _dt.datetime.now(_dt.timezone.utc)
    with _answer_lost(502, "Bad Gateway", [_running(first, now), _running(second, now)]) as api, \
            scripted_client(api, monkeypatch, clock) as client:
        with pytest.raises(JobFailed) as info:
            jobs.start_import(client, STORE, IMPORT_BODY)
        assert len(api.calls_to("POST", ":import$")) == 1
    assert info.value.reason == "start_failed"
    assert first in str(info.value) and second in str(info.value) and "2 operations" in str(info.value)
