"""The cancellation hook of the job layer: a CancelToken ends a wait promptly."""

from __future__ import annotations

import threading
import time

import pytest

from support.data import synthetic
from support.workspace import Workspace
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.waiter import Waiter


def test_a_cancelled_token_ends_the_wait_after_the_current_answer() -> None:
    token = CancelToken()
    answers = iter(range(100))

    def probe() -> int:
        value = next(answers)
        if value == 2:
            token.cancel()
        return value

    outcome = Waiter(3600, lambda _a, _n: 0.0, cancel=token).run(probe, lambda _v: False)
    assert outcome.cancelled and not outcome.done and outcome.last == 2


def test_cancel_interrupts_a_long_sleep() -> None:
    token = CancelToken()
    threading.Timer(0.2, token.cancel).start()
    started = time.monotonic()
    outcome = Waiter(3600, lambda _a, _n: 600.0, cancel=token).run(lambda: 1, lambda _v: False)
    assert outcome.cancelled and time.monotonic() - started < 5


def test_done_wins_over_cancel_and_no_token_means_no_cancel() -> None:
    token = CancelToken()
    token.cancel()
    assert Waiter(10, lambda _a, _n: 0.0, cancel=token).run(lambda: 1, lambda _v: True).done
    clock = iter(range(0, 1000, 5))
    outcome = Waiter(20, lambda _a, _n: 5.0, clock=lambda: next(clock), sleep=lambda _s: None).run(
        lambda: 1, lambda _v: False)
    assert not outcome.done and not outcome.cancelled


# -- run_job against the emulator ---------------------------------------------
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
