"""The job layer against the emulator: retries, ambiguity, timeouts, an interrupt, permissions
and grant propagation, with the emulator's fault injection and IAM model (real HTTP
throughout). The same rules on a scripted API and a fake clock: the other test_jobs_*.py."""

from __future__ import annotations

import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from healthcare_emulator.waiting import poll
from support.data import synthetic
from support.workspace import Workspace
from pulumi_dicom_jobs import jobs, settings
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.lro import OperationStatus
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.kinds import JobKind


def _uri(env: Workspace) -> str:
    return f"gs://{env.bucket.name}/in/**.dcm"


def _body(env: Workspace) -> dict:
    return {"gcsSource": {"uri": _uri(env)}}


def _prepare(env: Workspace, count: int = 2) -> None:
    for index, data in enumerate(synthetic(count)):
        env.upload(f"in/{index}.dcm", data)


def _fault(env: Workspace, **rule) -> None:
    env.admin.post("faults", {"times": 1, **rule})


def _wait_until_delayed_request_processed(env: Workspace) -> None:
    """Operations are counted only once the delayed request was processed (the
    emulator logs it then): a premature resend shows as a second one by then."""
    poll(lambda: any(r.get("fault") == "delay" for r in env.admin.get("requests")["requests"]),
         deadline_s=20.0, what="the delayed request to arrive")


def _methods(env: Workspace, method: str, fragment: str) -> list[int]:
    return [r["status"] for r in env.admin.get("requests")["requests"]
            if r["method"] == method and fragment in r["path"]]


@pytest.mark.parametrize("rule", [
    {"method": "GET", "path": "/operations/", "action": "status", "status": 429, "retryAfter": 1},
    {"method": "GET", "path": "/operations/", "action": "status", "status": 429},
    {"method": "GET", "path": "/operations/", "action": "status", "status": 503, "times": 2},
    {"method": "GET", "path": "/operations/", "action": "status", "status": 500},
    {"method": "GET", "path": "/operations/", "action": "reset"},
    {"method": "POST", "path": ":import$", "action": "status", "status": 503, "retryAfter": 0},
    {"method": "POST", "path": ":import$", "action": "status", "status": 429, "times": 2},
])
def test_transient_errors_are_retried(env: Workspace, rule: dict) -> None:
    _prepare(env)
    _fault(env, **rule)
    started = time.monotonic()
    with env.client() as client:
        status = jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=30)
    assert status.success == 2
    assert len(env.operations()) == 1
    assert env.admin.get("faults").get("faults") == []  # the fault was hit
    expected = rule["status"] if rule["action"] == "status" else None
    if expected:
        assert expected in [r["status"] for r in env.admin.get("requests")["requests"]]
    if rule.get("retryAfter") == 1:
        assert time.monotonic() - started >= 1.0  # Retry-After honoured


@pytest.mark.parametrize("action", ["drop_after_processing", "reset"])
def test_lost_start_answer_starts_exactly_one_operation(env: Workspace, action: str) -> None:
    _prepare(env)
    _fault(env, method="POST", path=":import$", action=action)
    with env.client() as client:
        status = jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=30)
    assert status.success == 2
    operations = env.operations()
    assert len(operations) == 1 and operations[0]["name"] == status.name
    # adopted (or found absent) through operations.list, not by blindly re-posting
    log = env.admin.get("requests")["requests"]
    first_post = next(i for i, r in enumerate(log) if r["method"] == "POST" and r["path"].endswith(":import"))
    assert any(r["method"] == "GET" and r["path"].endswith("/operations") for r in log[first_post:])
    assert len(_methods(env, "POST", ":import")) == (1 if action == "drop_after_processing" else 2)


def test_read_timeout_on_start_adopts(env: Workspace) -> None:
    _prepare(env)
    _fault(env, method="POST", path=":import$", action="delay", delaySeconds=1.5)
    with env.client(timeout=(5.0, 0.5)) as client:
        name = jobs.start_import(client, env.store, _body(env))
    _wait_until_delayed_request_processed(env)
    assert [op["name"] for op in env.operations()] == [name]


def test_read_timeout_settles_longer_than_a_reset(env: Workspace) -> None:
    """After a read timeout the server may hold the request for a while: the
    settle is twice the read timeout (8 s here), longer than the 3 s of other
    lost answers, so a request processed 5.5 s after the timeout is still
    adopted (2.5 s of margin on either side, for a loaded machine)."""
    _prepare(env)
    _fault(env, method="POST", path=":import$", action="delay", delaySeconds=4.0 + 5.5)
    with env.client(timeout=(5.0, 4.0)) as client:
        name = jobs.start_import(client, env.store, _body(env))
    _wait_until_delayed_request_processed(env)
    assert [op["name"] for op in env.operations()] == [name]
    assert len(_methods(env, "POST", ":import")) == 1


def test_http_timeout_from_environment_is_read_at_call_time(env: Workspace, monkeypatch) -> None:
    _prepare(env)
    _fault(env, method="POST", path=":import$", action="delay", delaySeconds=1.5)
    with env.client() as client:  # created before the variable is set: read per request
        monkeypatch.setenv("DICOM_JOBS_HTTP_TIMEOUT", "5,0.5")
        name = jobs.start_import(client, env.store, _body(env))
    _wait_until_delayed_request_processed(env)
    assert [op["name"] for op in env.operations()] == [name]
    assert len(_methods(env, "POST", ":import")) == 1
    # the 0.5 s read timeout made the POST's answer lost (with the default 60 s it would
    # have arrived after 1.5 s): the operation was found by listing the dataset's ones
    log = env.admin.get("requests")["requests"]
    post = next(i for i, r in enumerate(log) if r["method"] == "POST" and r["path"].endswith(":import"))
    # (the in-flight check lists before the POST; a listing after it is the adoption's)
    assert any(r["method"] == "GET" and r["path"].endswith("/operations") for r in log[post + 1:]), log


def test_several_candidates_fail_clearly(env: Workspace) -> None:
    """Another process started an import of this dataset just before our answer was lost."""
    _prepare(env)
    other = env.api.call("POST", f"{env.store}:import", _body(env))["name"]
    _fault(env, method="POST", path=":import$", action="drop_after_processing")
    with env.client() as client, pytest.raises(JobFailed) as info:
        jobs.start_import(client, env.store, _body(env))
    assert info.value.reason == "start_failed"
    assert other in str(info.value) and "2 operations" in str(info.value)
    assert len(env.operations()) == 2


def test_a_sibling_this_process_started_is_not_a_candidate(env: Workspace) -> None:
    """Same window, but the other import is this process's own: the lost one is adopted."""
    _prepare(env)
    with env.client() as client:
        sibling = jobs.start_import(client, env.store, _body(env))
        _fault(env, method="POST", path=":import$", action="drop_after_processing")
        adopted = jobs.start_import(client, env.store, _body(env))
    names = {op["name"] for op in env.operations()}
    assert adopted != sibling and names == {sibling, adopted}


def test_in_flight_check_and_adoption_select_on_metadata_without_a_filter(
        env: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """operations.list documents no filter grammar (the emulator refuses any filter, as a
    strict service would): both safety rules page through the list unfiltered and decide
    on each operation's apiMethodName, createTime and done."""
    _prepare(env)
    monkeypatch.setenv(settings.IN_FLIGHT_GRACE_ENV, "0")
    env.admin.post("config", {"operationMinSeconds": 30})
    other_kind = env.api.call("POST", f"{env.store}:export",
                              {"gcsDestination": {"uriPrefix": env.gs("out")}})["name"]
    env.admin.post("config", {"operationMinSeconds": 0})
    with env.client() as client:
        done_import = jobs.start_import(client, env.store, _body(env))  # finishes at once
        # a running export (another kind) and a finished import do not block an import
        _fault(env, method="POST", path=":import$", action="drop_after_processing")
        adopted = jobs.start_import(client, env.store, _body(env))
    assert {op["name"] for op in env.operations()} == {other_kind, done_import, adopted}
    listings = [r for r in env.admin.get("requests")["requests"]
                if r["method"] == "GET" and r["path"].endswith("/operations")]
    assert listings and all(r["status"] == 200 and "filter" not in r["query"] for r in listings), listings


def test_export_lost_answer_adopts_bigquery_method(env: Workspace) -> None:
    env.import_files(synthetic(1))
    table = f"local-project.{env.new_bq_dataset()}.t"
    _fault(env, method="POST", path=":export$", action="drop_after_processing")
    with env.client() as client:
        status = jobs.run_job(client, JobKind.EXPORT_BIGQUERY, env.store,
                              {"bigqueryDestination": {"tableUri": f"bq://{table}"}}, timeout_seconds=30)
    assert status.success == 1 and len(env.operations()) == 2


def test_start_error_is_not_retried(env: Workspace) -> None:
    _fault(env, method="POST", path=":import$", action="status", status=400)
    with env.client() as client, pytest.raises(JobFailed) as info:
        jobs.start_import(client, env.store, _body(env))
    assert info.value.reason == "start_failed" and "400" in str(info.value)
    assert len(_methods(env, "POST", ":import")) == 1


def test_timeout_cancels_and_names_operation(env: Workspace) -> None:
    _prepare(env, 6)
    env.admin.post("config", {"instanceDelaySeconds": 0.5})
    with env.client() as client, pytest.raises(JobFailed) as info:
        jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=1.0)
    exc = info.value
    [operation] = env.operations()
    assert exc.reason == "timeout" and operation["name"] in str(exc)
    assert "timeout_seconds=1" in str(exc)
    with env.client() as client:
        final = jobs.get_operation(client, operation["name"])
    assert final.done and final.error_code == 1 and final.cancel_requested


def test_external_cancel_and_vanished(env: Workspace) -> None:
    _prepare(env, 6)
    env.admin.post("config", {"instanceDelaySeconds": 0.3})
    with env.client() as client:
        name = jobs.start_import(client, env.store, _body(env))
        jobs.cancel_operation(client, name)
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, name, timeout_seconds=20)
        assert info.value.reason == "cancelled"
        env.admin.post("operations/forget", {"name": name})
        with pytest.raises(JobFailed) as info:
            jobs.wait(client, name, timeout_seconds=5)
        assert info.value.reason == "vanished"


def test_progress_callbacks_and_few_polls(env: Workspace) -> None:
    _prepare(env, 8)
    # 4 s of work at least: the waiter's second poll (1.5 s after its first, jitter 10 %) sees
    # it part done with seconds to spare for a loaded machine (at 0.25 s, 2 s: a 0.35 s margin)
    env.admin.post("config", {"instanceDelaySeconds": 0.5})
    seen: list[OperationStatus] = []
    with env.client() as client:
        name = jobs.start_import(client, env.store, _body(env))
        stamps: list[tuple[float, int, int, bool]] = []
        t0 = time.monotonic()

        def record(snapshot: OperationStatus) -> None:
            seen.append(snapshot)
            stamps.append((round(time.monotonic() - t0, 3), snapshot.success, snapshot.pending, snapshot.done))
        status = jobs.wait(client, name, timeout_seconds=30, on_progress=record)
    returned = datetime.datetime.now(datetime.timezone.utc)
    assert status.success == 8 and seen[-1].done
    ended = datetime.datetime.fromisoformat(status.end_time.replace("Z", "+00:00"))
    # completion lag (same machine, same clock): api-core's default schedule (1 s, x1.5,
    # cap 20 s) lags up to its current interval; the rate-based waiter polls near the end.
    # (the completion lag itself is a figure of benchmarks/bench_waiter.py, against
    # api-core's in the same run: a wall-clock bound here would break on a loaded machine)
    assert returned >= ended
    assert any(0 < s.success < 8 and not s.done for s in seen), stamps  # progress was reported
    polls = len(_methods(env, "GET", name.split("/datasets/")[1]))
    run_seconds = (ended - datetime.datetime.fromisoformat(status.create_time.replace("Z", "+00:00"))).total_seconds()
    assert polls <= 4 + run_seconds * 2, (polls, run_seconds)


def _service_agent(env: Workspace) -> str:
    return env.admin.service_agent()["member"]


def test_permission_denied_hint(ungranted_env: Workspace) -> None:
    env = ungranted_env
    _prepare(env)
    with env.client() as client, pytest.raises(JobFailed) as info:
        jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=30,
                       permission_retry_seconds=0)
    text = str(info.value)
    assert info.value.operation.error_code == 7
    assert "PERMISSION_DENIED" in text and "storage.objects.list" in text  # the service's words
    bucket = env.gs("x").split("/")[2]
    assert f"grant roles/storage.objectViewer on bucket {bucket} to serviceAccount:" in text
    assert "pulumi_dicom_jobs.gcp.grants.import_source_grants" in text
    assert env.admin.service_agent()["email"] in text


def test_grant_propagation_is_waited_out(ungranted_env: Workspace) -> None:
    env = ungranted_env
    _prepare(env)
    # the grant propagates once the first start was denied (not after a fixed delay, which a
    # loaded machine can outrun between the grant and the job's first permission check)
    env.admin.post("config", {"grantPropagationSeconds": 3600.0})
    env.admin.create_service_agent()
    env.admin.post("iam", {"resource": f"//storage.googleapis.com/projects/_/buckets/{env.bucket.name}",
                              "role": "roles/storage.objectViewer", "member": _service_agent(env)})
    with env.client() as client, ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(jobs.run_job, client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60,
                              permission_retry_seconds=30)
        denied = env.propagate_grants_once_denied()
        status = running.result(timeout=120)
    assert status.success == 2
    operations = env.operations()
    assert operations[0]["name"] == denied and len(operations) >= 2 and operations[-1]["name"] == status.name


def test_grant_never_arrives_gives_up_after_window(ungranted_env: Workspace) -> None:
    env = ungranted_env
    _prepare(env)
    with env.client() as client, pytest.raises(JobFailed) as info:
        jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60,
                     permission_retry_seconds=10.0)
    # gave up after the window, by count rather than by wall clock: the pauses are at
    # least 1, 2, 4 s (equal jitter of 2, 4, 8 s), so at most 4 starts fit in 10 s, plus
    # one at the window's end; a first run slower than the whole window is not expected
    # (tests/jobs/test_jobs_rules.py has the window on a fake clock)
    started = [op["name"] for op in env.operations()]
    assert 2 <= len(started) <= 5, started
    assert f"started {len(started)} times" in str(info.value) and "IAM grants to propagate" in str(info.value)
    assert all(name in str(info.value) for name in started)


# -- an interrupt (a CancelToken) -------------------------------------------------------
@pytest.mark.parametrize("cancel_operation", [True, False])
def test_run_job_interrupted_cancels_or_leaves_the_operation(env: Workspace, cancel_operation: bool) -> None:
    for index, data in enumerate(synthetic(10)):
        env.upload(f"in/{index}.dcm", data)
    env.admin.post("config", {"instanceDelaySeconds": 3.0})
    token = CancelToken()
    started: list[str] = []
    body = {"gcsSource": {"uri": f"gs://{env.bucket.name}/in/**.dcm"}}
    with env.client() as client, pytest.raises(JobFailed) as failed:
        jobs.run_job(client, JobKind.IMPORT, env.store, body, timeout_seconds=600, cancel=token, cancel_on_interrupt=cancel_operation,
                     on_started=lambda name: (started.append(name), threading.Timer(0.5, token.cancel).start()))
    assert failed.value.reason == "interrupted" and started[0] in str(failed.value)
    [operation] = env.operations()
    assert operation["done"] is cancel_operation
    with env.client() as client, pytest.raises(JobFailed) as again:
        jobs.run_job(client, JobKind.IMPORT, env.store, body, timeout_seconds=600, cancel=token)
    assert "did not start" in str(again.value) and len(env.operations()) == 1


# -- duplicates: the API ignores them and does not say how it counts them --------------------
COUNTINGS = ["nothing", "success"]  # the emulator's countDuplicatesAs (docs/lifecycle.md)


@pytest.mark.parametrize("counting", COUNTINGS)
def test_a_reimport_of_stored_instances_succeeds_however_the_api_counts_them(env: Workspace, counting: str) -> None:
    """Not counted at all, the re-import ends with zero of everything and no error: the API
    reported nothing wrong, so the job succeeds (it used to fail as "imported nothing")."""
    env.admin.config(countDuplicatesAs=counting)
    _prepare(env, 3)
    with env.client() as client:
        first = jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60)
        again = jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60)
    assert (first.success, first.failure) == (3, 0)
    assert (again.success, again.failure, again.error_code) == (3 if counting == "success" else 0, 0, None)
    assert len(env.api.sop_uids(env.store)) == 3


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize("max_failed", [0, 1])
def test_duplicates_beside_new_and_broken_files_get_the_same_verdict_under_both_countings(
        env: Workspace, counting: str, max_failed: int) -> None:
    env.admin.config(countDuplicatesAs=counting)
    stored, new = synthetic(2), synthetic(3)[2]
    for index, data in enumerate(stored):
        env.upload(f"in/{index}.dcm", data)
    with env.client() as client:
        jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60)
        env.upload("in/new.dcm", new)
        env.upload("in/broken.dcm", b"not DICOM at all")
        if max_failed == 0:
            with pytest.raises(JobFailed) as info:
                jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60)
            assert info.value.reason == "too_many_failures"
            status = info.value.operation
        else:
            status = jobs.run_job(client, JobKind.IMPORT, env.store, _body(env), timeout_seconds=60,
                                  max_failed_instances=max_failed)
    assert status.failure == 1  # the broken file, never a duplicate
    assert status.success == (3 if counting == "success" else 1)
    assert status.error_message.startswith("1 of 4 item(s) failed")  # the ignored ones are items too
    assert len(env.api.sop_uids(env.store)) == 3
