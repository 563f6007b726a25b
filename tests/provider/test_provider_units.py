"""Pure units: request bodies, operation parsing, the poll schedule, messages, diff."""

from __future__ import annotations

import pickle

import pytest
import requests
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

from support.scripted import ScriptedApi

import pulumi_dicom_jobs
from pulumi_dicom_jobs import failures, jobs, settings
from pulumi_dicom_jobs.api import transport
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.lro import OperationStatus, PollSchedule
from pulumi_dicom_jobs.dynamic.providers import DicomExportJobProvider, DicomImportJobProvider
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.request_body import build_export_body, build_import_body
from pulumi_dicom_jobs.targets import JobTargets

STORE = "projects/p-123456/locations/l/datasets/d/dicomStores/s"


def test_import_body() -> None:
    assert build_import_body({"gcs_source": {"uri": "gs://b/x/**.dcm"}, "dicom_store": STORE}) == \
        {"gcsSource": {"uri": "gs://b/x/**.dcm"}}
    assert build_import_body({"gcs_source": {"uri": "gs://b/x"},
                              "blob_storage_settings": {"blob_storage_class": "ARCHIVE"}}) == \
        {"gcsSource": {"uri": "gs://b/x"}, "blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}


def test_export_bodies() -> None:
    assert build_export_body({"gcs_destination": {"uri_prefix": "gs://b/o", "mime_type": "image/png"},
                              "filter_config": {"resource_paths_gcs_uri": "gs://b/f.txt"}}) == {
        "gcsDestination": {"uriPrefix": "gs://b/o", "mimeType": "image/png"},
        "filterConfig": {"resourcePathsGcsUri": "gs://b/f.txt"}}
    assert build_export_body({"gcs_destination": {"uri_prefix": "gs://b/o"}}) == \
        {"gcsDestination": {"uriPrefix": "gs://b/o"}}
    assert build_export_body({"bigquery_destination": {"table_uri": "bq://p.d.t", "force": False,
                                                       "include_source_store": True, "schema": "JSON"}}) == {
        "bigqueryDestination": {"tableUri": "bq://p.d.t", "force": False, "includeSourceStore": True,
                                "schemaJson": {}}}
    assert build_export_body({"bigquery_destination": {"table_uri": "bq://p.d.t", "schema": "FLATTENED",
                                                       "write_disposition": "WRITE_APPEND"}}) == {
        "bigqueryDestination": {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND",
                                "schemaFlattened": {}}}



@pytest.mark.parametrize("force", [True, False])
def test_force_is_sent_only_without_a_write_disposition(force: bool) -> None:
    """The API ignores force beside a write disposition: the body never carries both."""
    def body(**bq) -> dict:
        return build_export_body({"bigquery_destination": {"table_uri": "bq://p.d.t", **bq}})["bigqueryDestination"]

    assert body(force=force) == {"tableUri": "bq://p.d.t", "force": force}
    assert body(force=force, write_disposition="WRITE_APPEND") == \
        {"tableUri": "bq://p.d.t", "writeDisposition": "WRITE_APPEND"}
    # WRITE_DISPOSITION_UNSPECIFIED means unset, so force still applies.
    assert body(force=force, write_disposition="WRITE_DISPOSITION_UNSPECIFIED") == \
        {"tableUri": "bq://p.d.t", "force": force, "writeDisposition": "WRITE_DISPOSITION_UNSPECIFIED"}


def _op(**over) -> dict:
    raw = {"name": "projects/p/locations/l/datasets/d/operations/1", "metadata": {
        "apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData",
        "createTime": "2024-01-01T00:00:00Z", "logsUrl": "https://console/logs",
        "counter": {"success": "12", "pending": "3"}}}
    raw.update(over)
    return raw


def test_operation_parsing_int64_strings_and_omitted_zeros() -> None:
    status = OperationStatus.from_json(_op())
    assert (status.success, status.failure, status.pending, status.done) == (12, 0, 3, False)
    assert status.logs_url == "https://console/logs" and status.error is None
    done = OperationStatus.from_json({"name": "n", "done": True})
    assert (done.success, done.failure, done.pending, done.api_method_name) == (0, 0, 0, None)


def test_judge_and_failure_messages() -> None:
    samples = [{"resource": f"gs://b/f{i}", "error": {"code": 3, "message": f"bad file {i}"}} for i in range(8)]
    failed = OperationStatus.from_json(_op(done=True, error={
        "code": 3, "message": "8 files failed", "details": [{"@type": "x", "sampleErrors": samples}]},
        metadata={"apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData",
                  "logsUrl": "https://logs/x", "counter": {"success": "2", "failure": "8"}}))
    with pytest.raises(failures.JobFailed) as info:
        jobs.judge(failed, 0)
    text = str(info.value)
    assert info.value.reason == "too_many_failures" and info.value.operation is failed
    assert "INVALID_ARGUMENT" in text and "8 files failed" in text and "https://logs/x" in text
    assert "success=2 failure=8" in text and "gs://b/f4" in text and "gs://b/f5" not in text
    assert failed.name in text
    assert jobs.judge(failed, 8) is failed  # tolerated
    cancelled = OperationStatus.from_json(_op(done=True, error={"code": 1, "message": "cancelled"}))
    with pytest.raises(failures.JobFailed) as info:
        jobs.judge(cancelled, 100)
    assert info.value.reason == "cancelled"
    denied = OperationStatus.from_json(_op(done=True, metadata={}, error={
        "code": 7, "message": "service-123@gcp-sa-healthcare.iam.gserviceaccount.com lacks "
                              "roles/storage.objectViewer on gs://b"}))
    with pytest.raises(failures.JobFailed) as info:
        jobs.judge(denied, 0)
    assert info.value.reason == "operation_error"
    assert "PERMISSION_DENIED" in str(info.value)
    assert "grant roles/storage.objectViewer" in str(info.value)
    assert "pulumi_dicom_jobs.gcp.grants.import_source_grants" in str(info.value)
    with pytest.raises(ValueError):
        failures.JobFailed("nonsense", "x")


def test_an_import_that_processed_nothing_fails_naming_the_pattern() -> None:
    """Zero successes, zero failures and no error is not a successful import."""
    empty = OperationStatus.from_json(_op(done=True, response={"@type": "x"}, metadata={
        "apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ImportDicomData"}))
    with pytest.raises(failures.JobFailed) as info:
        jobs.judge(empty, 0, JobTargets.of_request(JobKind.IMPORT, {"gcsSource": {"uri": "gs://b/dir/"}}))
    assert info.value.reason == "operation_error"
    assert "imported nothing" in str(info.value) and "gs://b/dir/" in str(info.value)
    with pytest.raises(failures.JobFailed):
        jobs.judge(empty, 5)  # the pattern unknown (``dicom-jobs wait``): still a failure
    export = OperationStatus.from_json(_op(done=True, response={"@type": "x"}, metadata={
        "apiMethodName": "google.cloud.healthcare.v1.dicom.DicomService.ExportDicomData"}))
    assert jobs.judge(export, 0) is export  # an empty store exports nothing, rightly


@pytest.mark.parametrize("role,helper", [("roles/storage.objectAdmin", "gcs_export_grants"),
                                         ("roles/bigquery.dataEditor", "bigquery_export_grants"),
                                         ("roles/bigquery.jobUser", "bigquery_export_grants")])
def test_permission_hint_names_helper(role: str, helper: str) -> None:
    hint = failures.permission_hint(f"service-1@gcp-sa-healthcare.iam.gserviceaccount.com needs {role}")
    assert role in hint and f"pulumi_dicom_jobs.gcp.grants.{helper}" in hint
    assert failures.permission_hint("some other denial") is None


AGENT = "service-1@gcp-sa-healthcare.iam.gserviceaccount.com"
DENIALS = [  # what Cloud Storage and BigQuery say, the request, and the grant the hint must name
    (f"{AGENT} does not have storage.objects.list access to the Google Cloud Storage bucket src.",
     JobKind.IMPORT, {"gcsSource": {"uri": "gs://src/dir/**"}},
     "grant roles/storage.objectViewer on bucket src to serviceAccount:" + AGENT, "import_source_grants"),
    (f"{AGENT} does not have storage.objects.create access to the Google Cloud Storage bucket out.",
     JobKind.EXPORT_GCS, {"gcsDestination": {"uriPrefix": "gs://out/x"}},
     "grant roles/storage.objectAdmin on bucket out to serviceAccount:" + AGENT, "gcs_export_grants"),
    (f"{AGENT} does not have storage.objects.get access to the Google Cloud Storage bucket flt.",
     JobKind.EXPORT_GCS, {"gcsDestination": {"uriPrefix": "gs://out/x"},
                          "filterConfig": {"resourcePathsGcsUri": "gs://flt/f.txt"}},
     "grant roles/storage.objectViewer on bucket flt to serviceAccount:" + AGENT, "filter_file_grants"),
    (f"Permission bigquery.tables.create denied on dataset p:d (or it may not exist) for {AGENT}.",
     JobKind.EXPORT_BIGQUERY, {"bigqueryDestination": {"tableUri": "bq://p.d.t"}},
     "grant roles/bigquery.dataEditor on dataset p:d and roles/bigquery.jobUser on project p to "
     "serviceAccount:" + AGENT, "bigquery_export_grants"),
]


@pytest.mark.parametrize("message,kind,body,grant,helper", DENIALS)
def test_permission_hint_turns_a_missing_permission_into_the_role_and_where(message, kind, body, grant,
                                                                           helper) -> None:
    hint = failures.permission_hint(message, JobTargets.of_request(kind, body))
    assert hint is not None and grant in hint, hint
    assert f"pulumi_dicom_jobs.gcp.grants.{helper}" in hint


def _snap(success: int, pending: int, done: bool = False) -> OperationStatus:
    return OperationStatus.from_json({"name": "n", "done": done, "metadata": {
        "counter": {"success": str(success), "pending": str(pending)}}})


def test_schedule_backs_off_without_progress_and_caps() -> None:
    schedule = PollSchedule(jitter=0.0)
    delays = [schedule.next_delay(_snap(0, 0), 100.0 * t) for t in range(12)]
    assert delays[0] == 1.5 and delays[1] == pytest.approx(2.4)
    assert all(b >= a for a, b in zip(delays, delays[1:])) and max(delays) == 60.0


def test_schedule_caps_early_delays_by_elapsed_time() -> None:
    schedule = PollSchedule(jitter=0.0)
    assert schedule.next_delay(_snap(0, 0), 0.0) == 1.5
    # backoff would say 2.4 s; only 1.6 s have passed since the first snapshot
    assert schedule.next_delay(_snap(0, 0), 1.6) == pytest.approx(1.6)
    assert schedule.next_delay(_snap(0, 0), 3.2) == pytest.approx(3.2)


def test_schedule_does_not_trust_a_rate_from_one_progress_step() -> None:
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 1000), 0.0)
    # one progress step (after a slow start-up): the rate is not trusted; the
    # pessimistic average (100 in 10 s -> 90 s left) only caps the backoff
    first = schedule.next_delay(_snap(100, 900), 10.0)
    assert schedule.rate(10.0, 100) is None
    assert first == pytest.approx(2.4)
    # second progress step: rate measured from the first one (200 items in 10 s)
    assert schedule.next_delay(_snap(300, 700), 20.0) == pytest.approx(21.0)  # 35 s left -> 0.6 of it


def test_schedule_closes_in_on_the_end() -> None:
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 100), 0.0)
    schedule.next_delay(_snap(10, 90), 1.0)
    # 10/s from the first progress: 80 pending -> 8 s left -> sleep 0.6 of it
    assert schedule.next_delay(_snap(20, 80), 2.0) == pytest.approx(4.8)
    # 4 s left: 2.4 s; 1 s left: 0.6 s
    assert schedule.next_delay(_snap(60, 40), 6.0) == pytest.approx(2.4)
    assert schedule.next_delay(_snap(90, 10), 9.0) == pytest.approx(0.6)
    # 0.5 s left, under two floors (0.04 x 9.5 s each): one step of a floor
    assert schedule.next_delay(_snap(95, 5), 9.5) == pytest.approx(0.04 * 9.5)
    # everything processed, not done yet: poll soon
    assert schedule.next_delay(_snap(100, 0), 10.0) <= 0.3


def test_schedule_endgame_step_is_at_most_one_floor() -> None:
    """Counters that trail the work must not stretch the last sleep past one floor."""
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 12), 0.0)
    schedule.next_delay(_snap(5, 7), 1.5)
    schedule.next_delay(_snap(9, 3), 2.5)
    # 4 items/s: 2 pending -> 0.5 s predicted; a hop to 0.6 s would be the old overshoot
    assert schedule.next_delay(_snap(10, 2), 2.75) == pytest.approx(0.3)
    # almost nothing predicted: still no faster than the minimum
    assert schedule.next_delay(_snap(11, 1), 3.05) == pytest.approx(0.3)


def test_schedule_polls_soon_once_everything_is_processed() -> None:
    """Finalizing starts over from the minimum, whatever the backoff before had grown to."""
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 12), 0.0)
    schedule.next_delay(_snap(4, 8), 1.5)  # one progress step: untrusted, backoff grows
    assert schedule.next_delay(_snap(12, 0), 3.0) == pytest.approx(0.3)
    assert schedule.next_delay(_snap(12, 0), 3.3) == pytest.approx(0.3 * 1.6)


def test_schedule_never_sleeps_more_than_a_fraction_of_the_remaining_time() -> None:
    schedule = PollSchedule(jitter=0.0)
    schedule.next_delay(_snap(0, 2000), 0.0)
    schedule.next_delay(_snap(100, 1900), 10.0)
    assert schedule.next_delay(_snap(200, 1800), 20.0) == 60.0  # 180 s left: capped
    for now in range(30, 200, 10):
        done = 10 * now
        if done >= 2000:
            break
        remaining = (2000 - done) / 10.0
        delay = schedule.next_delay(_snap(done, 2000 - done), float(now))
        floor = max(0.3, 0.04 * now)
        assert delay <= max(remaining * 0.6, floor) + 1e-9, (now, delay, remaining)


def _simulate(total: int, duration: float, startup: float = 0.0, trail: int = 0) -> tuple[int, float]:
    """Polls and lag of PollSchedule on a job with steady progress after ``startup``.

    ``trail``: the counters lag the work by that many items until ``done``,
    as the emulator's (and a batching service's) do.
    """
    schedule, now, polls = PollSchedule(jitter=0.0), 0.0, 0
    end = startup + duration
    while True:
        polls += 1
        if now >= end:
            return polls, now - end
        done_items = max(0, min(total, int(total * (now - startup) / duration)) - trail)
        now += schedule.next_delay(_snap(done_items, total - done_items), now)


def _api_core_polls(duration: float) -> int:
    core_polls, t, delay = 0, 0.0, 1.0
    while True:
        core_polls += 1
        if t >= duration:
            return core_polls
        t += delay / 2  # api-core sleeps uniform(0, delay): its mean
        delay = min(delay * 1.5, 20.0)


@pytest.mark.parametrize("trail", [0, 1, 2])
@pytest.mark.parametrize("total,duration,startup", [(12, 3.0, 0.5), (80, 20.0, 0.5), (360, 90.0, 0.5),
                                                     (36000, 3600.0, 2.0)])
def test_schedule_polls_no_more_than_api_core_and_ends_close(total: int, duration: float,
                                                             startup: float, trail: int) -> None:
    polls, lag = _simulate(total, duration, startup, trail)
    assert polls <= _api_core_polls(startup + duration), (polls, _api_core_polls(startup + duration))
    # within one floor of the end: 0.3 s, or 4% of the time waited
    assert lag <= max(0.3, 0.04 * (startup + duration)) + 1e-9, lag


def test_schedule_calls_fewer_than_api_core_for_a_long_job() -> None:
    """A 1-hour job at a steady rate: far fewer polls than api-core's 1 s x1.5 capped at 20 s."""
    polls, lag = _simulate(36000, 3600.0)
    assert polls < _api_core_polls(3600.0) / 2
    assert lag < 0.04 * 3600


def test_http_timeout_from_environment(monkeypatch) -> None:
    monkeypatch.delenv(settings.HTTP_TIMEOUT_ENV, raising=False)
    assert settings.http_timeout() == (10.0, 60.0)
    monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, "120")
    assert settings.http_timeout() == (10.0, 120.0)
    monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, " 3.5 , 90 ")
    assert settings.http_timeout() == (3.5, 90.0)
    for bad in ("x", "1,2,3", "0", "-5", "5,", "inf", "nan"):
        monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, bad)
        assert settings.http_timeout() == (10.0, 60.0), bad


def test_http_timeout_explicit_argument_wins(monkeypatch) -> None:
    """The timeout each request is sent with, recorded on the way to a loopback server.

    The one place a test reaches into the transport: a ``requests.Session``
    subclass records the ``timeout`` argument and sends the request for real
    (timing the answers instead would make a test of seconds and margins).
    """
    seen: list = []

    class RecordingSession(requests.Session):
        def request(self, *args, **kwargs):
            seen.append(kwargs["timeout"])
            return super().request(*args, **kwargs)

    class Tokens:
        refreshable = False

        def header(self):
            return "Bearer t"

    monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, "7,8")
    with ScriptedApi({("GET", "/v1/a$"): (200, {})}) as api:
        default = transport.Transport(api.url, Tokens())
        explicit = transport.Transport(api.url, Tokens(), timeout=(1.0, 2.0))
        default.session, explicit.session = RecordingSession(), RecordingSession()
        default.request("GET", "v1/a")
        monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, "9")
        default.request("GET", "v1/a")
        explicit.request("GET", "v1/a")
        assert len(api.calls) == 3
    assert seen == [(7.0, 8.0), (10.0, 9.0), (1.0, 2.0)]


STATE = {"dicom_store": STORE, "gcs_source": {"uri": "gs://b/x/**"}, "timeout_seconds": 60.0,
         "max_failed_instances": 0.0, "triggers": ["a"], "operation_name": "op", "success_count": 3.0,
         "__provider": "xyz"}


@pytest.mark.parametrize("change,replaces", [
    ({}, None),
    ({"timeout_seconds": 60}, None),
    ({"dicom_store": STORE + "2"}, ["dicom_store"]),
    ({"gcs_source": {"uri": "gs://b/y/**"}}, ["gcs_source"]),
    ({"blob_storage_settings": {"blob_storage_class": "ARCHIVE"}}, ["blob_storage_settings"]),
    ({"triggers": ["b"]}, ["triggers"]),
    ({"triggers": None}, ["triggers"]),
    ({"gcs_source": Unknown()}, ["gcs_source"]),
    ({"timeout_seconds": 120.0}, []),
    ({"max_failed_instances": 5}, []),
    ({"api_version": "v1beta1"}, []),
    ({"api_version": "v1"}, None),
    ({"api_endpoint": "https://healthcare.example"}, []),  # docs/lifecycle.md: updates in place
])
def test_import_diff_matrix(change: dict, replaces) -> None:
    olds = dict(STATE)
    news = {k: v for k, v in STATE.items() if k not in ("operation_name", "success_count")}
    news.update(change)
    news = {k: v for k, v in news.items() if v is not None}
    result = DicomImportJobProvider().diff("op", olds, news)
    if replaces is None:
        assert result.changes is False and result.replaces == []
    else:
        assert result.changes is True and result.replaces == replaces


@pytest.mark.parametrize("change,replaces", [
    ({"gcs_destination": {"uri_prefix": "gs://b/o", "mime_type": "image/png"}}, ["gcs_destination"]),
    ({"filter_config": {"resource_paths_gcs_uri": "gs://b/f"}}, ["filter_config"]),
    ({"bigquery_destination": {"table_uri": "bq://p-123456.d.t"}, "gcs_destination": None},
     ["gcs_destination", "bigquery_destination"]),
    ({"max_failed_instances": 1.0}, []),
    ({"api_endpoint": "https://healthcare.example"}, []),  # docs/lifecycle.md: updates in place
    ({"api_version": "v1beta1"}, []),
])
def test_export_diff_matrix(change: dict, replaces) -> None:
    olds = {"dicom_store": STORE, "gcs_destination": {"uri_prefix": "gs://b/o"}, "operation_name": "x"}
    news = {k: v for k, v in {**olds, **change}.items() if v is not None and k != "operation_name"}
    result = DicomExportJobProvider().diff("x", olds, news)
    assert result.changes is True and result.replaces == replaces
    assert DicomExportJobProvider().diff("x", olds, {"dicom_store": STORE,
                                                     "gcs_destination": {"uri_prefix": "gs://b/o"}}).changes is False


def test_provider_check_returns_failures_and_never_raises() -> None:
    result = DicomImportJobProvider().check({}, {"dicom_store": "nope", "gcs_source": {"uri": "gs://b/**/x"}})
    assert sorted(f.property for f in result.failures) == ["dicom_store", "gcs_source.uri"]
    assert DicomExportJobProvider().check({}, None).failures  # garbage in: failures, not an exception


def test_providers_pickle_by_reference_small_and_stateless() -> None:
    for cls in (DicomImportJobProvider, DicomExportJobProvider):
        provider = cls()
        assert vars(provider) == {}
        blob = serialize_provider(provider)
        assert len(blob) <= 2048 and len(blob) < 200, len(blob)
        assert b"pulumi_dicom_jobs.dynamic.providers" in pickle.dumps(provider)
    assert pulumi_dicom_jobs.DicomImportJobProvider is DicomImportJobProvider


def test_client_endpoint_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST", raising=False)
    assert HealthcareClient().base_url == "https://healthcare.googleapis.com"
    assert HealthcareClient("https://x.example/", "v1beta1").base_url == "https://x.example"
    monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", "127.0.0.1:9")
    client = HealthcareClient("https://x.example")
    assert client.base_url == "http://127.0.0.1:9" and client.emulated
    with pytest.raises(ValueError):
        HealthcareClient(api_version="v2")
