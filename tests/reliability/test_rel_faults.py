"""Fault matrix: every transport fault at every phase of a job, no duplicate operation.

Each case injects one fault through the emulator's admin ``faults`` surface,
runs the job through :func:`pulumi_dicom_jobs.jobs.run_job` (the one code
path the resources and the CLI share), and asserts:

* the job ends correctly (success for start/poll faults; for cancel faults,
  the timeout's cancel still goes through and the operation ends CANCELLED);
* the fault was actually consumed (injected);
* the emulator's ``operations`` list shows EXACTLY ONE DICOM operation.

The client is built with a short read timeout (the provider's default is
``(10, 60)`` s, not settable from the resource inputs) so the read-timeout
case costs seconds, not minutes; it is the same Transport code.
"""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from healthcare_emulator.sampledata import synthetic_instance
from healthcare_emulator.waiting import PollTimeout, poll
from support.faultmatrix import MATRIX, MatrixRow
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.kinds import JobKind

READ_TIMEOUT_S = 1.0
FAST_RETRY = RetryPolicy(initial=0.1, multiplier=2.0, maximum=1.0, attempts=6, deadline=30.0)

FAULTS = {
    "429": {"action": "status", "status": 429},
    "429+Retry-After": {"action": "status", "status": 429, "retryAfter": 1},
    "500": {"action": "status", "status": 500},
    "502": {"action": "status", "status": 502},
    "503": {"action": "status", "status": 503},
    "504": {"action": "status", "status": 504},
    "connection reset": {"action": "reset"},
    "read timeout": {"action": "delay", "delaySeconds": READ_TIMEOUT_S + 1.5},
    "drop_after_processing": {"action": "drop_after_processing"},
}
PHASES = {
    "start": ("POST", r"/dicomStores/[^/]+:import$"),
    "poll": ("GET", r"/operations/[0-9]+$"),
    "cancel": ("POST", r"/operations/[0-9]+:cancel$"),
}


def _client(**kwargs) -> HealthcareClient:
    return HealthcareClient(retry=FAST_RETRY, timeout=(5.0, READ_TIMEOUT_S), **kwargs)


def _inject(emulator, phase: str, fault: dict) -> None:
    method, path = PHASES[phase]
    emulator.post("faults", {"method": method, "path": path, "times": 1, **fault})


def _remaining_faults(emulator) -> list:
    return emulator.get("faults").get("faults", [])


def _delayed_request_pending(emulator, store: str, fault: dict) -> bool:
    """A ``delay`` fault was consumed but its request is not processed (logged) yet."""
    if fault.get("action") != "delay" or _remaining_faults(emulator):
        return False
    dataset = store.split("/dicomStores/")[0]
    return not any(r.get("fault") == "delay" and dataset in r["path"]
                   for r in emulator.get("requests")["requests"])


def _wait_all_done(emulator, store: str, fault: dict, deadline_s: float = 30.0) -> list[dict]:
    """The store's operations, once the faulted request was processed and every operation is done.

    A delayed request is processed after the client gave up on it; counting
    before then would miss the duplicate it may start.
    """
    def settled() -> tuple[list[dict]] | None:  # a tuple: truthy even when no operation started
        ops = emulator.dicom_operations(store)
        if all(op["done"] for op in ops) and not _delayed_request_pending(emulator, store, fault):
            return (ops,)
        return None

    try:
        return poll(settled, deadline_s=deadline_s, what="operations settled")[0]
    except PollTimeout:
        return emulator.dicom_operations(store)


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_fault_matrix(emulator, rest, phase: str, fault_name: str) -> None:
    fault = FAULTS[fault_name]
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=1)})
    store = rest.store()
    body = {"gcsSource": {"uri": f"gs://{bucket}/in/**.dcm"}}
    if phase == "cancel":
        emulator.post("config", {"operationMinSeconds": 60.0})
    _inject(emulator, phase, fault)
    outcome, survived, note = None, False, ""
    try:
        with _client() as client:
            if phase == "cancel":
                with pytest.raises(JobFailed) as info:
                    jobs.run_job(client, JobKind.IMPORT, store, body, timeout_seconds=1.0,
                                 permission_retry_seconds=0)
                outcome = info.value
                survived = (outcome.reason == "timeout" and "cancelled" in str(outcome)
                            and outcome.operation is not None and outcome.operation.error_code == 1)
            else:
                outcome = jobs.run_job(client, JobKind.IMPORT, store, body, timeout_seconds=60,
                                       permission_retry_seconds=0)
                survived = outcome.done and outcome.success == 1 and outcome.failure == 0
    except JobFailed as exc:
        note = str(exc).splitlines()[0][:160]
        outcome = exc
    finally:
        ops = _wait_all_done(emulator, store, fault)
        injected = 0 if _remaining_faults(emulator) else 1
        emulator.delete("faults")
        MATRIX.append(MatrixRow(phase, fault_name, injected, survived, max(0, len(ops) - 1), note))
    assert injected == 1, f"the {fault_name} fault at {phase} was never triggered"
    assert len(ops) == 1, (f"{fault_name} at {phase}: {len(ops)} DICOM operations started, expected "
                           f"exactly one: {[op['name'] for op in ops]}")
    assert survived, f"{fault_name} at {phase}: job did not end correctly: {outcome!r}"


# -- 401 cured by a token refresh: the ADC path, offline --------------------
class _TokenServer(http.server.ThreadingHTTPServer):
    """A local OAuth token endpoint: every refresh hands out a new token."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                token = f"rel-refreshed-token-{len(server.issued) + 1}"
                server.issued.append(token)
                payload = json.dumps({"access_token": token, "expires_in": 3600,
                                      "token_type": "Bearer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/token"


@pytest.fixture
def token_server():
    server = _TokenServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def adc_env(monkeypatch, tmp_path, token_server):
    """Application Default Credentials that refresh against the local token server."""
    # A service-account key (freshly generated, worthless) whose token_uri is the
    # local server: google-auth honours token_uri for service accounts (it
    # forces Google's endpoint for authorized_user files).
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    creds = tmp_path / "adc.json"
    creds.write_text(json.dumps({"type": "service_account", "project_id": "local-project",
                                 "private_key_id": "rel-key", "private_key": pem,
                                 "client_email": "rel-test@local-project.iam.gserviceaccount.com",
                                 "client_id": "1", "token_uri": token_server.url}))
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_OAUTH_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "local-project")
    return token_server


@pytest.mark.parametrize("phase", ["start", "poll"])
def test_401_cured_by_token_refresh(emulator, rest, stack, adc_env, phase: str) -> None:
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=2)})
    store = rest.store()
    method, path = PHASES[phase]
    emulator.post("faults", {"method": method, "path": path, "times": 1, "action": "status",
                             "status": 401})
    survived, note = False, ""
    try:
        with _client(api_endpoint=stack.healthcare_url) as client:
            assert not client.emulated
            status = jobs.run_job(client, JobKind.IMPORT, store,
                                  {"gcsSource": {"uri": f"gs://{bucket}/in/**.dcm"}}, timeout_seconds=60,
                                  permission_retry_seconds=0)
            survived = status.done and status.success == 1
    except JobFailed as exc:
        note = str(exc).splitlines()[0][:160]
    finally:
        ops = _wait_all_done(emulator, store, {})
        injected = 0 if _remaining_faults(emulator) else 1
        emulator.delete("faults")
        MATRIX.append(MatrixRow(phase, "401 + refresh", injected,
                                survived, max(0, len(ops) - 1), note))
    assert injected == 1
    assert len(ops) == 1
    assert survived, note
    # one token at first use, one more after the 401
    assert adc_env.issued == ["rel-refreshed-token-1", "rel-refreshed-token-2"]
