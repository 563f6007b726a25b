"""The first errors a newcomer meets say what happened (issue 16, section 2).

Each runs ``dicom-jobs`` in a subprocess. No credentials at all, nothing
listening at the endpoint, a dataset or store that does not exist: each is
an API problem (exit 6) whose message names the cause, never the in-flight
check's opt-out (that is named only when the check itself stopped the job).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from support.cli import CLI, run_cli
from support.credentials import adc_found, no_google_credentials_env
from pulumi_dicom_jobs import settings
from pulumi_dicom_jobs.api.transport import RetryPolicy

STORE = "projects/p1/locations/us-central1/datasets/demo/dicomStores/ct"
OPERATION = "projects/p1/locations/us-central1/datasets/demo/operations/123"
RETRY_LINE = re.compile(r"^dicom-jobs: retry (\d+) of (\d+) in [\d.]+s: GET http://127\.0\.0\.1:1/\S+: "
                        r"connection refused$", re.MULTILINE)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL)


def test_the_credential_free_environment_really_has_no_adc(tmp_path: Path) -> None:
    assert not adc_found(no_google_credentials_env(tmp_path))


def _says_how_to_get_credentials(text: str) -> None:
    for expected in ("no Google credentials found", "gcloud auth application-default login",
                     "GOOGLE_OAUTH_ACCESS_TOKEN", "--impersonate-service-account",
                     "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT", "HEALTHCARE_EMULATOR_HOST"):
        assert expected in text, (expected, text)
    assert "unexpected" not in text and "DefaultCredentialsError" not in text
    assert "Traceback" not in text and settings.IN_FLIGHT_CHECK_ENV not in text


def test_no_credentials_says_how_to_get_them_exit_6(tmp_path: Path) -> None:
    env = no_google_credentials_env(tmp_path)
    proc = _run(env, "import", STORE, "gs://scans-demo/in/*.dcm")
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.startswith("Error: could not start the DICOM import job: no Google credentials found")
    _says_how_to_get_credentials(proc.stderr)

    as_json = _run(env, "export", "gcs", STORE, "gs://renders-demo/png", "--json")
    assert as_json.returncode == 6, as_json.stderr
    summary = json.loads(as_json.stdout)
    assert summary["state"] == "START_FAILED" and summary["exitCode"] == 6
    _says_how_to_get_credentials(summary["message"])

    status = _run(env, "status", OPERATION)
    assert status.returncode == 6, status.stderr
    assert status.stderr.startswith(f"Error: could not read {OPERATION}: no Google credentials found")


def test_nothing_listening_fails_fast_naming_the_endpoint(setup) -> None:
    proc = run_cli("import", STORE, "gs://scans-demo/in/*.dcm", "--json",
                   HEALTHCARE_EMULATOR_HOST="127.0.0.1:1")
    assert proc.returncode == 6, proc.stderr
    retries = RETRY_LINE.findall(proc.stderr)
    attempts = RetryPolicy().unreachable_attempts
    assert retries == [(str(n), str(attempts - 1)) for n in range(1, attempts)], proc.stderr
    summary = json.loads(proc.stdout)  # the retry lines stay out of the JSON on stdout
    assert summary["state"] == "START_FAILED" and summary["exitCode"] == 6
    message = summary["message"]
    # The retries show GET .../operations for an import: the message says why (the in-flight check,
    # without offering to turn it off) and where the address came from (issue 24).
    dataset = STORE.rsplit("/dicomStores/", 1)[0]
    assert re.fullmatch(
        re.escape("could not start the DICOM import job: its first request, which lists the dataset's operations "
                  f"to check that no import is already running there (GET {dataset}/operations), failed: could "
                  "not connect to the Healthcare API at http://127.0.0.1:1 (connection refused): nothing was "
                  f"sent; {attempts} attempt(s) over ") + r"\d+s" + re.escape(
            ". The address comes from HEALTHCARE_EMULATOR_HOST=127.0.0.1:1: is the emulator running there? "
            "Unset HEALTHCARE_EMULATOR_HOST to use Google's API instead."), message), message
    assert settings.IN_FLIGHT_CHECK_ENV not in message
    assert proc.stderr.splitlines()[-1] == f"Error: {message}"


def test_nothing_listening_waits_at_most_the_unreachable_budget() -> None:
    """The bound behind "fails within ~15 s": the pauses between the attempts, counted, not timed."""
    from pulumi_dicom_jobs.api.auth import TokenSource
    from pulumi_dicom_jobs.api.errors import TransportError
    from pulumi_dicom_jobs.api.transport import Transport

    pauses: list[float] = []
    transport = Transport("http://127.0.0.1:1", TokenSource(None), sleep=pauses.append)
    with pytest.raises(TransportError, match=r"at http://127\.0\.0\.1:1 \(connection refused\)"):
        transport.request("GET", "v1/projects/p/locations/l/datasets/d/operations")
    policy = transport.policy
    assert len(pauses) == policy.unreachable_attempts - 1 < policy.attempts - 1
    assert sum(pauses) <= sum(policy.initial * policy.multiplier ** n for n in range(len(pauses))) <= 15


def test_missing_dataset_shows_the_apis_not_found(setup) -> None:
    dataset = f"projects/{setup.project}/locations/us-central1/datasets/nope-{setup.dataset.split('/')[-1]}"
    proc = run_cli("import", f"{dataset}/dicomStores/ct", setup.gs("in/*.dcm"))
    assert proc.returncode == 6, proc.stderr
    assert f"Dataset {dataset} not found" in proc.stderr, proc.stderr
    assert settings.IN_FLIGHT_CHECK_ENV not in proc.stderr and "to check for a job" not in proc.stderr


def test_missing_store_shows_the_apis_not_found(setup) -> None:
    store = f"{setup.dataset}/dicomStores/nope"
    proc = run_cli("export", "gcs", store, setup.gs("out"))
    assert proc.returncode == 6, proc.stderr
    assert f"DICOM store {store} not found" in proc.stderr, proc.stderr
    assert settings.IN_FLIGHT_CHECK_ENV not in proc.stderr


def test_the_check_is_named_when_the_check_itself_stopped_the_job(setup) -> None:
    setup.admin.post("faults", {"method": "GET", "path": f"{setup.dataset.split('/')[-1]}/operations$", "times": 1,
                                "action": "status", "status": 403})
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"))
    assert proc.returncode == 6, proc.stderr
    assert "to check for a job of the same kind still running" in proc.stderr
    assert f"{settings.IN_FLIGHT_CHECK_ENV}=off" in proc.stderr
    assert setup.operations() == []
