"""pulumi_dicom_jobs.api: typed errors from an HTTP status, and the client's calls mapped to them."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api import errors
from pulumi_dicom_jobs.api.client import HealthcareClient
from pulumi_dicom_jobs.api.transport import RetryPolicy, Transport
from pulumi_dicom_jobs.failures import OperationNotFound

OPERATION = "projects/p/locations/l/datasets/d/operations/7"


@pytest.mark.parametrize("http_status,status,cls", [
    (400, "INVALID_ARGUMENT", errors.InvalidArgument),
    (400, "FAILED_PRECONDITION", errors.FailedPrecondition),
    (400, "OUT_OF_RANGE", errors.OutOfRange),
    (401, "UNAUTHENTICATED", errors.Unauthenticated),
    (403, "PERMISSION_DENIED", errors.PermissionDenied),
    (404, "NOT_FOUND", errors.NotFound),
    (404, "Not Found", errors.NotFound),
    (409, "ALREADY_EXISTS", errors.Conflict),
    (429, "RESOURCE_EXHAUSTED", errors.TooManyRequests),
    (500, "INTERNAL", errors.InternalServerError),
    (501, "UNIMPLEMENTED", errors.MethodNotImplemented),
    (502, "Bad Gateway", errors.BadGateway),
    (503, "UNAVAILABLE", errors.ServiceUnavailable),
    (504, "DEADLINE_EXCEEDED", errors.GatewayTimeout),
    (418, "I'm a teapot", errors.ApiError),
])
def test_error_class_from_http_status(http_status: int, status: str, cls: type) -> None:
    error = errors.from_http_status(http_status, status, "text", 2.0, "GET", "v1/x")
    assert type(error) is cls and isinstance(error, errors.ApiError)
    assert (error.http_status, error.status, error.message, error.retry_after) == (http_status, status, "text", 2.0)
    assert str(error) == f"HTTP {http_status} {status}: text (GET v1/x)"


class FakeResponse:
    def __init__(self, status_code: int, body: dict) -> None:
        import json
        self.status_code = status_code
        self.reason = "Not Found" if status_code == 404 else "OK"
        self.content = json.dumps(body).encode()
        self.text = self.content.decode()
        self.headers: dict = {}
        self._body = body

    def json(self) -> dict:
        return self._body


class FakeSession:
    def __init__(self, *responses: FakeResponse) -> None:
        self.responses = list(responses)
        self.calls: list[tuple[str, str]] = []
        self.params: list[dict] = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url))
        self.params.append(dict(kwargs.get("params") or {}))
        return self.responses.pop(0)

    def close(self) -> None:
        pass


class Tokens:
    refreshable = False

    def header(self) -> str:
        return "Bearer t"


def _client(monkeypatch: pytest.MonkeyPatch, *responses: FakeResponse) -> tuple[HealthcareClient, FakeSession]:
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST", raising=False)
    client = HealthcareClient("https://x.example", retry=RetryPolicy(attempts=1))
    session = FakeSession(*responses)
    client._transport = Transport(client.base_url, Tokens(), client.retry)  # no credentials looked up
    client._transport.session = session
    return client, session


NOT_FOUND = {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such operation"}}


def test_a_404_is_not_found_and_the_job_layer_says_vanished(monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = _client(monkeypatch, FakeResponse(404, NOT_FOUND), FakeResponse(404, NOT_FOUND),
                        FakeResponse(404, NOT_FOUND))
    with pytest.raises(errors.NotFound) as info:
        client.get_operation(OPERATION)
    assert info.value.message == "no such operation"
    with pytest.raises(OperationNotFound) as vanished:
        jobs.get_operation(client, OPERATION)
    assert vanished.value.reason == "vanished" and OPERATION in str(vanished.value)
    with pytest.raises(OperationNotFound):
        jobs.cancel_operation(client, OPERATION)


def test_a_403_stays_a_permission_error(monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}
    client, _ = _client(monkeypatch, FakeResponse(403, body))
    with pytest.raises(errors.PermissionDenied):
        jobs.get_operation(client, OPERATION)


def test_list_operations_reads_every_page_without_a_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    client, session = _client(
        monkeypatch,
        FakeResponse(200, {"operations": [{"name": "a"}], "nextPageToken": "p2"}),
        FakeResponse(200, {"operations": [{"name": "b", "done": True}]}))
    ops = list(client.list_operations("projects/p/locations/l/datasets/d"))
    assert [(op.name, op.done) for op in ops] == [("a", False), ("b", True)]
    assert len(session.calls) == 2
    # The API documents no filter grammar for operations.list: none is sent.
    assert session.params == [{"pageSize": 100}, {"pageSize": 100, "pageToken": "p2"}]


def test_start_posts_to_the_kinds_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    store = "projects/p/locations/l/datasets/d/dicomStores/s"
    client, session = _client(monkeypatch, FakeResponse(200, {"name": OPERATION}), FakeResponse(200, {}))
    assert client.start_export(store, {"bigqueryDestination": {"tableUri": "bq://p.d.t"}}) == OPERATION
    assert client.start_import(store, {"gcsSource": {"uri": "gs://b/x"}}) is None  # no name in the answer
    assert session.calls == [("POST", f"https://x.example/v1/{store}:export"),
                             ("POST", f"https://x.example/v1/{store}:import")]
