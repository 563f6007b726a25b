"""pulumi_dicom_jobs.api.auth: the credential each request carries, against the emulator.

An access token from the environment is sent and never reaches state, outputs or
a failure's text; with HEALTHCARE_EMULATOR_HOST set a dummy token is sent and
Application Default Credentials are never looked up; a 401 refreshes the
credentials once; impersonation wraps the source credentials.
"""

from __future__ import annotations

import google.auth.credentials
import pytest

from support.workspace import Workspace
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api import auth, errors
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind

TOKEN = "ya29.secret-token-never-to-be-seen"


def _import_source(env: Workspace) -> str:
    """Two DICOM instances in the test's bucket; the import pattern that selects them."""
    env.upload_synthetic("in", 2)
    return env.gs("in/**.dcm")


def test_adc_access_token_is_sent_and_never_leaks(env: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = _import_source(env)
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST")
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
    client = HealthcareClient(env.base_url)
    assert not client.emulated and TOKEN not in repr(client)
    assert client.transport.tokens.header() == f"Bearer {TOKEN}"
    from pulumi_dicom_jobs import DicomImportJobProvider
    provider = DicomImportJobProvider()
    props = {"dicom_store": env.store, "gcs_source": {"uri": uri}, "api_endpoint": env.base_url}
    created = provider.create(props)
    assert created.outs["success_count"] == 2
    assert TOKEN not in repr(created.outs) and TOKEN not in repr(vars(provider))
    env.admin.post("permissions", {"resource": f"gs://{env.bucket.name}", "deny": ["read"]})
    monkeypatch.setenv("DICOM_JOBS_PERMISSION_RETRY_SECONDS", "0")
    with pytest.raises(JobFailed) as info:
        provider.create(props)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value.operation)


def test_emulator_uses_dummy_token_and_no_adc(env: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a, **_k):
        raise AssertionError("ADC must not be looked up with HEALTHCARE_EMULATOR_HOST set")
    monkeypatch.setattr(google.auth, "default", boom)
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
    client = HealthcareClient("https://healthcare.googleapis.com")
    assert client.transport.tokens.header() == f"Bearer {auth.EMULATOR_TOKEN}"
    assert client.base_url == env.base_url


class _CountingCredentials(google.auth.credentials.Credentials):
    def __init__(self) -> None:
        super().__init__()
        self.refreshes = 0
        self.token = "first"

    def refresh(self, request) -> None:
        self.refreshes += 1
        self.token = f"refreshed-{self.refreshes}"


def test_401_refreshes_once(env: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = _import_source(env)
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST")
    creds = _CountingCredentials()
    monkeypatch.setattr(auth, "google_credentials", lambda *a, **k: creds)
    env.admin.post("faults", {"method": "GET", "path": "/operations/", "action": "status", "status": 401,
                              "times": 1})
    with HealthcareClient(env.base_url, retry=RetryPolicy(initial=0.05)) as client:
        status = jobs.run_job(client, JobKind.IMPORT, env.store, {"gcsSource": {"uri": uri}}, timeout_seconds=30)
    assert status.success == 2 and creds.refreshes == 1
    env.admin.post("faults", {"method": "GET", "path": "/operations/", "action": "status", "status": 401,
                              "times": 2})
    with HealthcareClient(env.base_url) as client, pytest.raises(errors.Unauthenticated, match="HTTP 401") as info:
        jobs.get_operation(client, status.name)
    assert "401" in str(info.value) and creds.refreshes == 2


def test_impersonation_wraps_source_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth import impersonated_credentials
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("GOOGLE_IMPERSONATE_SERVICE_ACCOUNT", "deployer@p.iam.gserviceaccount.com")
    creds = auth.google_credentials()
    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds.service_account_email == "deployer@p.iam.gserviceaccount.com"
