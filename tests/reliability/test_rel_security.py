"""No credential leaks anywhere the user or the state can see; loopback only.

Through the SDK's dynamic provider host: the host runs with
``GOOGLE_OAUTH_ACCESS_TOKEN`` set to a recognisable token. Two paths: the
emulator path (``HEALTHCARE_EMULATOR_HOST``, dummy bearer) and the
real-credentials path (no emulator host; ``api_endpoint`` points at the
emulator, which accepts any bearer, so the token is really sent). Successful
and failing jobs (incl. a 401 and a 500 retry) must not show the token, the
emulator bearer, or the word ``Authorization`` in the serialized provider,
the outputs, the error messages, or the host's stderr.

Every failure class, in process (fast, on the fake clock): an API error, a
transport error (refused, reset, timed out, and a connection error whose own
text carries the token it was sending, on a read and on the start's POST),
no credentials and credentials that cannot make a token, a failed operation,
an interrupt, and a success,
each through the CLI (its stdout, stderr with the retry lines, ``--json``)
and through the resources' create (the message every Pulumi face shows, the
outputs and the pickled provider that go to the state), with every log
record of every logger captured. The token is really sent (the scripted API
sees it), and must appear nowhere else.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import time
from pathlib import Path
from urllib.parse import quote

import google.oauth2.credentials
import pytest
import requests

from healthcare_emulator.sampledata import synthetic_instance
from pulumi.dynamic.dynamic import serialize_provider
from pulumi_dicom_jobs import lifecycle, spec
from pulumi_dicom_jobs.api import auth, transport
from pulumi_dicom_jobs.cli.retries import show_retries
from pulumi_dicom_jobs.dynamic.providers import DicomImportJobProvider
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_offline.host import DynamicProviderHost, HostError
from support.cli_inprocess import ctrl_c_at_the_first_pause, fast_clock, run_cli
from support.credentials import no_google_credentials_env
from support.operations import IMPORT_METHOD, OPERATION, STORE, operation
from support.procfs import is_loopback, listening_of
from support.scripted import DROP, ScriptedApi

SUPPORT = Path(__file__).parent / "_support"
SECRET = "ya29.REL-TEST-SECRET-TOKEN-7f3c9e"
URN = "urn:pulumi:s::p::pulumi-python:dynamic:Resource::job{}"


def _leaks(text: str) -> list[str]:
    return [needle for needle in (SECRET, auth.EMULATOR_TOKEN, "Authorization", "Bearer ")
            if needle in text]


@pytest.mark.parametrize("path", ["emulator", "access-token"])
def test_no_token_in_provider_outputs_errors_or_logs(emulator, rest, stack, path: str) -> None:
    provider = serialize_provider(DicomImportJobProvider())
    env = {"GOOGLE_OAUTH_ACCESS_TOKEN": SECRET}
    extra = {}
    if path == "access-token":
        env["HEALTHCARE_EMULATOR_HOST"] = ""
        extra = {"api_endpoint": stack.healthcare_url}
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=3)})
    seen: list[str] = [provider, base64.b64decode(provider).decode("latin-1")]
    host = DynamicProviderHost(env=env)
    with host:
        good = {"dicom_store": rest.store(), "gcs_source": {"uri": f"gs://{bucket}/in/**.dcm"},
                "__provider": provider, **extra}
        emulator.post("faults", {"method": "GET", "path": "/operations/", "times": 1,
                                 "action": "status", "status": 500})
        _, outs = host.create(URN.format(1), good)
        assert outs["success_count"] == 1
        seen.append(repr(outs))
        seen.append(repr(host.check(URN.format(1), {}, good)))
        failing = [
            {**good, "dicom_store": rest.store(), "gcs_source": {"uri": "gs://rel-missing-bkt/x/**.dcm"}},
            {**good, "dicom_store": rest.store()},  # with a 401 on the start
        ]
        emulator.post("faults", {"method": "POST", "path": ":import$", "times": 1, "action": "status",
                                 "status": 401})
        for i, inputs in enumerate(failing):
            if i == 1:
                emulator.post("faults", {"method": "POST", "path": ":import$", "times": 1,
                                         "action": "status", "status": 401})
            with pytest.raises(HostError) as info:
                host.create(URN.format(2 + i), inputs)
            seen.append(info.value.details)
        bad = host.check(URN.format(9), {}, {**good, "dicom_store": "nope"})
        seen.append(repr(bad))
    seen.append("\n".join(host.stderr_lines))
    leaks = {i: _leaks(text) for i, text in enumerate(seen) if _leaks(text)}
    assert not leaks, f"credential material visible: {leaks}"
    assert any("401" in text for text in seen), "the 401 case did not surface"


def test_everything_listens_on_loopback_only(stack, tmp_path) -> None:
    env = {"PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")])}
    with DynamicProviderHost(env=env) as host:
        sockets = listening_of([os.getpid()])
        pids = {pid for pid, _, _ in sockets}
        assert host.process.pid in pids, "the dynamic host's gRPC port was not seen"
        assert len(pids) >= 3, f"expected the emulators and the host, saw {sockets}"
        exposed = [(pid, Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120], addr, port)
                   for pid, addr, port in sockets if not is_loopback(addr)]
        assert not exposed, f"listening beyond loopback: {exposed}"


# -- every failure class, in process ------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _slow(seconds: float):
    def answer(_call):
        time.sleep(seconds)  # longer than the client's read timeout: the answer never arrives in time
        return 200, {"name": OPERATION}
    return answer


def _denied() -> dict:
    return operation(OPERATION, done=True, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z",
                     error={"code": 7, "message": f"{AGENT} does not have storage.objects.list access to the "
                                                  "Google Cloud Storage bucket bucket.",
                            "details": [{"sampleErrors": [{"resource": "gs://bucket/x/a.dcm",
                                                           "error": {"code": 7, "message": "denied"}}]}]})


AGENT = "service-1@gcp-sa-healthcare.iam.gserviceaccount.com"
RUNNING = operation(OPERATION, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z", pending=3)
CANCELLED = operation(OPERATION, done=True, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z", success=1,
                      error=(1, "Operation was cancelled."))
DONE = operation(OPERATION, done=True, method=IMPORT_METHOD, create_time="2026-01-01T00:00:00Z", success=3)
START = {("GET", "/datasets/d/operations$"): (200, {"operations": []}),
         ("POST", ":import$"): (200, {"name": OPERATION})}
#: failure class -> (the API's answers, extra environment, whether a request reaches it with the token)
CLASSES = {
    "api error": ({**START, ("POST", ":import$"): (403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                                                   "message": "caller lacks permission"}})},
                  {}, True),
    "unauthenticated": ({**START, ("POST", ":import$"): (401, {"error": {"code": 401, "status": "UNAUTHENTICATED",
                                                                         "message": "token expired"}})},
                        {}, True),
    "connection refused": ({}, {"endpoint": "http://127.0.0.1:{closed}"}, False),
    "connection reset": ({("GET", "/datasets/d/operations$"): DROP}, {}, True),
    # the connection fails and the error's text repeats the header it was sending (_echoing_errors)
    "connection error naming the token": ({}, {"echo": "*"}, False),
    "connection error naming the token on the start": (START, {"echo": "POST"}, True),
    "read timeout": ({**START, ("POST", ":import$"): _slow(0.3)}, {"DICOM_JOBS_HTTP_TIMEOUT": "0.1"}, True),
    "failed operation": ({**START, ("GET", "/operations/9$"): (200, _denied())}, {}, True),
    "interrupt": ({**START, ("GET", "/operations/9$"): [(200, RUNNING), (200, CANCELLED)],
                   ("POST", "/operations/9:cancel$"): (200, {})}, {}, True),
    "success": ({**START, ("GET", "/operations/9$"): (200, DONE)}, {}, True),
}


def _leaks_in(texts: list[str], *secrets: str) -> dict[int, list[str]]:
    found = {}
    for i, text in enumerate(texts):
        hits = [needle for needle in (*secrets, auth.EMULATOR_TOKEN, "Authorization", "Bearer ") if needle in text]
        if hits:
            found[i] = hits
    return found


def _real_credentials(monkeypatch, env: dict[str, str]) -> str:
    """The real-credentials path: the token from the environment, no emulator; the endpoint."""
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", SECRET)
    endpoint = env.pop("endpoint", "{url}").replace("{closed}", str(_closed_port()))
    env["HEALTHCARE_EMULATOR_HOST"] = ""
    return endpoint


def _echoing_errors(monkeypatch, env: dict[str, str]) -> list[str]:
    """With ``echo`` in ``env`` (a method, ``*`` for all): each such request fails to connect with
    an error whose text holds the Authorization header it carried, as a library that describes
    the request it lost may write it. Returns the headers those requests carried."""
    method = env.pop("echo", None)
    carried: list[str] = []
    if method is None:
        return carried
    send = requests.adapters.HTTPAdapter.send

    def failing_send(adapter, request, *args, **kwargs):
        if method not in ("*", request.method):
            return send(adapter, request, *args, **kwargs)
        carried.append(request.headers["Authorization"])
        raise requests.ConnectionError(f"connection aborted while sending {request.method} {request.url} "
                                       f"with Authorization: {request.headers['Authorization']}",
                                       request=request)
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", failing_send)
    return carried


#: The CLI's runs: a failure class, its extra flags, the exit code it ends with.
CLI_RUNS = [(what, [], {"success": 0, "failed operation": 3, "interrupt": 130}.get(what, 6)) for what in CLASSES]
CLI_RUNS.append(("interrupt", ["--cancel-on-interrupt"], 5))


@pytest.mark.parametrize("what, extra, expected", CLI_RUNS,
                         ids=[what + "".join(extra) for what, extra, _code in CLI_RUNS])
def test_no_token_in_the_clis_output_json_or_logs_whatever_fails(monkeypatch, caplog, what: str,
                                                                  extra: list[str], expected: int) -> None:
    routes, env, reaches = CLASSES[what]
    env = dict(env)
    clock = fast_clock(monkeypatch)
    if what == "interrupt":
        ctrl_c_at_the_first_pause(monkeypatch, clock)
    endpoint = _real_credentials(monkeypatch, env)
    carried = _echoing_errors(monkeypatch, env)
    caplog.set_level(logging.DEBUG)
    # the retry lines on stderr, as ``dicom-jobs`` shows them (undone after the test)
    monkeypatch.setattr(transport.log, "handlers", [])
    monkeypatch.setattr(transport.log, "level", transport.log.level)
    show_retries()
    run = run_cli(monkeypatch, routes, "import", STORE, "gs://bucket/x/**.dcm", "--endpoint", endpoint, *extra,
                  env=env)
    assert run.exit_code == expected, run.output
    if what.startswith("connection") and not what.endswith("on the start"):  # a POST is not retried
        assert "dicom-jobs: retry 1 of " in run.output, run.output
    sent = [call.headers.get("Authorization") for call in run.api.calls]
    assert (f"Bearer {SECRET}" in sent) is reaches, sent  # the token was really in play
    assert not carried or set(carried) == {f"Bearer {SECRET}"}, carried  # and in the failing requests
    texts = [run.output, json.dumps(run.data), caplog.text,
             *(str(record.args) for record in caplog.records)]
    assert not _leaks_in(texts, SECRET), texts


@pytest.mark.parametrize("what", list(CLASSES))
def test_no_token_in_the_resources_messages_state_or_logs_whatever_fails(monkeypatch, caplog, what: str) -> None:
    """lifecycle.create, which both Pulumi faces run: the failure's message, or the outputs and
    the pickled provider that go to the state."""
    routes, env, reaches = CLASSES[what]
    env = dict(env)
    clock = fast_clock(monkeypatch)
    endpoint = _real_credentials(monkeypatch, env)
    carried = _echoing_errors(monkeypatch, env)
    caplog.set_level(logging.DEBUG)
    token = CancelToken()
    options = lifecycle.CreateOptions(cancel=token, on_progress=lambda _status: token.cancel()) \
        if what == "interrupt" else lifecycle.CreateOptions()
    texts = [serialize_provider(DicomImportJobProvider())]
    with ScriptedApi(routes) as api:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        props = {"dicom_store": STORE, "gcs_source": {"uri": "gs://bucket/x/**.dcm"},
                 "api_endpoint": endpoint.replace("{url}", api.url)}
        try:
            _id, outputs = lifecycle.create(spec.IMPORT_JOB, props, options)
        except JobFailed as failure:
            assert what != "success", failure
            texts.append(str(failure))
        else:
            assert what == "success"
            texts.append(repr(outputs))
    sent = [call.headers.get("Authorization") for call in api.calls]
    assert (f"Bearer {SECRET}" in sent) is reaches, sent
    assert not carried or set(carried) == {f"Bearer {SECRET}"}, carried
    assert clock.now >= 0
    texts += [caplog.text, *(str(record.args) for record in caplog.records)]
    assert not _leaks_in(texts, SECRET), texts


@pytest.mark.parametrize("surface", ["cli", "resources"])
def test_credentials_that_cannot_make_a_token_leak_none_of_theirs(monkeypatch, caplog, tmp_path: Path,
                                                                  surface: str) -> None:
    """A credentials file whose refresh token is refused (a revoked login): no request reaches the
    API, the failure says so, and neither the refresh token nor the client secret shows."""
    refresh, client_secret = "1//REL-REFRESH-SECRET-93b1", "REL-CLIENT-SECRET-5d0e"
    caplog.set_level(logging.DEBUG)
    fast_clock(monkeypatch)
    for key in [k for k in os.environ if k.startswith(("GOOGLE_", "HEALTHCARE_EMULATOR", "CLOUDSDK_"))]:
        monkeypatch.delenv(key)
    with ScriptedApi({("POST", "/token$"): (400, {"error": "invalid_grant",
                                                 "error_description": "Token has been expired or revoked."})}) as oauth:
        # google-auth always sends an authorized user's refresh to Google's token endpoint: here, the script
        monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", f"{oauth.url}/token")
        credentials = tmp_path / "adc.json"
        credentials.write_text(json.dumps({"type": "authorized_user", "client_id": "rel.apps.googleusercontent.com",
                                           "client_secret": client_secret, "refresh_token": refresh}))
        env = {"GOOGLE_APPLICATION_CREDENTIALS": str(credentials), "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
               "HEALTHCARE_EMULATOR_HOST": "", "GCE_METADATA_HOST": "127.0.0.1:1", "NO_GCE_CHECK": "true"}
        texts = _no_token_run(monkeypatch, surface, env)
    # the refresh really was attempted, with both secrets (form-encoded)
    assert oauth.calls and f"refresh_token={quote(refresh, safe='')}" in oauth.calls[0].body
    assert f"client_secret={client_secret}" in oauth.calls[0].body
    assert "could not produce an access token" in texts[0], texts[0]
    texts += [caplog.text, *(str(record.args) for record in caplog.records)]
    assert not _leaks_in(texts, refresh, quote(refresh, safe=""), client_secret), texts


@pytest.mark.parametrize("surface", ["cli", "resources"])
def test_no_credentials_at_all_says_so_and_sends_nothing(monkeypatch, caplog, tmp_path: Path, surface: str) -> None:
    caplog.set_level(logging.DEBUG)
    fast_clock(monkeypatch)
    env = no_google_credentials_env(tmp_path)
    for key in [k for k in os.environ if k not in env]:
        monkeypatch.delenv(key)
    texts = _no_token_run(monkeypatch, surface, {**env, "HEALTHCARE_EMULATOR_HOST": ""})
    assert "no Google credentials found" in texts[0], texts[0]
    texts += [caplog.text]
    assert not _leaks_in(texts, SECRET), texts


def _no_token_run(monkeypatch, surface: str, env: dict[str, str]) -> list[str]:
    """An import through ``surface`` where no token can be had: what it shows (nothing may reach the API)."""
    with ScriptedApi({}) as api:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if surface == "cli":
            run = run_cli(monkeypatch, {}, "import", STORE, "gs://bucket/x/**.dcm", "--endpoint", api.url,
                          env={"HEALTHCARE_EMULATOR_HOST": ""})
            assert (run.exit_code, run.state) == (6, "START_FAILED"), run.output
            texts = [run.data["message"], run.output]
        else:
            with pytest.raises(JobFailed) as info:
                lifecycle.create(spec.IMPORT_JOB, {"dicom_store": STORE, "gcs_source": {"uri": "gs://bucket/x/**.dcm"},
                                                   "api_endpoint": api.url})
            texts = [str(info.value)]
    assert api.calls == [] and (surface == "resources" or run.api.calls == [])
    return texts
