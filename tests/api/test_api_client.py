"""pulumi_dicom_jobs.api: typed errors from an HTTP status, the client's calls mapped to them, and
the endpoint the client chooses."""

from __future__ import annotations

import pytest

from support.scripted import ScriptedApi, scripted_client
from pulumi_dicom_jobs import jobs
from pulumi_dicom_jobs.api import errors
from pulumi_dicom_jobs.api.client import HealthcareClient
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


NOT_FOUND = {"error": {"code": 404, "status": "NOT_FOUND", "message": "no such operation"}}


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch):
    """``scripted(routes)``: a client of a scripted loopback API (support.scripted) and the API.

    Real HTTP through the product's transport; only the answers are scripted
    (the emulator would not give a 404 on cancel or a second page on demand).
    """
    servers: list[ScriptedApi] = []

    def make(routes: dict) -> tuple[HealthcareClient, ScriptedApi]:
        api = ScriptedApi(routes).__enter__()
        servers.append(api)
        return scripted_client(api, monkeypatch), api

    yield make
    for api in servers:
        api.__exit__(None, None, None)


def test_a_404_is_not_found_and_the_job_layer_says_vanished(scripted) -> None:
    client, api = scripted({("GET", "/operations/7$"): (404, NOT_FOUND),
                            ("POST", "/operations/7:cancel$"): (404, NOT_FOUND)})
    with pytest.raises(errors.NotFound) as info:
        client.get_operation(OPERATION)
    assert info.value.message == "no such operation"
    with pytest.raises(OperationNotFound) as vanished:
        jobs.get_operation(client, OPERATION)
    assert vanished.value.reason == "vanished" and OPERATION in str(vanished.value)
    with pytest.raises(OperationNotFound):
        jobs.cancel_operation(client, OPERATION)
    assert [c.method for c in api.calls] == ["GET", "GET", "POST"]


def test_a_403_stays_a_permission_error(scripted) -> None:
    body = {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}
    client, _ = scripted({("GET", "/operations/7$"): (403, body)})
    with pytest.raises(errors.PermissionDenied, match="denied"):
        jobs.get_operation(client, OPERATION)


def test_list_operations_reads_every_page_without_a_filter(scripted) -> None:
    client, api = scripted({("GET", "/datasets/d/operations$"): [
        (200, {"operations": [{"name": "a"}], "nextPageToken": "p2"}),
        (200, {"operations": [{"name": "b", "done": True}]})]})
    ops = list(client.list_operations("projects/p/locations/l/datasets/d"))
    assert [(op.name, op.done) for op in ops] == [("a", False), ("b", True)]
    assert len(api.calls) == 2 and api.calls[1].query.get("pageToken") == ["p2"]
    # The API documents no filter grammar for operations.list: none is sent.
    assert all("filter" not in c.query for c in api.calls)
    # the largest page the API documents, on every page
    assert [c.query.get("pageSize") for c in api.calls] == [["1000"], ["1000"]]


def test_list_operations_goes_on_after_a_short_or_empty_page(scripted) -> None:
    """A server may answer fewer items than asked, even none, before the end (the
    standard list paging): only a missing nextPageToken ends the list."""
    client, api = scripted({("GET", "/datasets/d/operations$"): [
        (200, {"operations": [{"name": "a"}], "nextPageToken": "p2"}),
        (200, {"nextPageToken": "p3"}),
        (200, {"operations": [{"name": "b"}]})]})
    assert [op.name for op in client.list_operations("projects/p/locations/l/datasets/d")] == ["a", "b"]
    assert [c.query.get("pageToken") for c in api.calls] == [None, ["p2"], ["p3"]]


def test_start_posts_to_the_kinds_verb(scripted) -> None:
    store = "projects/p/locations/l/datasets/d/dicomStores/s"
    client, api = scripted({("POST", ":export$"): (200, {"name": OPERATION}), ("POST", ":import$"): (200, {})})
    assert client.export_dicom(store, {"bigqueryDestination": {"tableUri": "bq://p.d.t"}}) == OPERATION
    assert client.import_dicom(store, {"gcsSource": {"uri": "gs://b/x"}}) is None  # no name in the answer
    assert [(c.method, c.path) for c in api.calls] == [("POST", f"/v1/{store}:export"),
                                                       ("POST", f"/v1/{store}:import")]
    assert api.calls[0].body == {"bigqueryDestination": {"tableUri": "bq://p.d.t"}}


def test_the_typed_error_names_the_request_that_failed() -> None:
    error = errors.from_http_status(404, "NOT_FOUND", "gone", None, "GET", "v1/x")
    assert (error.method, error.path) == ("GET", "v1/x")
    without = errors.from_http_status(404, "NOT_FOUND", "gone")  # built without a request: names none
    assert str(without) == "HTTP 404 NOT_FOUND: gone" and (without.method, without.path) == ("", "")
    teapot = errors.ApiError(418, "I'm a teapot", "short and stout")
    assert str(teapot) == "HTTP 418 I'm a teapot: short and stout" and (teapot.method, teapot.path) == ("", "")


def test_an_ambiguous_request_names_the_request_and_the_cause() -> None:
    """Only a read timeout or a 504 (the caller says so) leaves the server maybe still holding it."""
    error = errors.AmbiguousRequestError("POST", "v1/s:import", "ConnectionError")
    assert error.timed_out is False
    assert (error.method, error.path, error.cause) == ("POST", "v1/s:import", "ConnectionError")
    assert str(error) == "POST v1/s:import: no reliable answer (ConnectionError); it may have been processed"
    assert errors.AmbiguousRequestError("POST", "v1/s:import", "ReadTimeout", timed_out=True).timed_out is True


def test_no_credentials_says_what_was_looked_at_and_how_to_get_some() -> None:
    """docs/real-gcp.md: ``no Google credentials found: ...`` followed by the ways to get some."""
    error = errors.NoCredentials()
    text = str(error)
    assert isinstance(error, errors.CredentialsError)
    assert text.startswith("no Google credentials found: ")
    assert "HEALTHCARE_EMULATOR_HOST and GOOGLE_OAUTH_ACCESS_TOKEN are not set" in text
    assert text.endswith("Application Default Credentials were not found. " + errors.HOW_TO_GET_CREDENTIALS)


def test_everything_the_api_layer_raises_has_one_root() -> None:
    """A caller that treats every failed call alike (the CLI's exit 6) catches one class."""
    raised = [errors.from_http_status(status, "", "x") for status in (400, 401, 403, 404, 418, 429, 500, 503)]
    raised += [errors.TransportError("unreachable"), errors.AmbiguousRequestError("POST", "p", "reset"),
               errors.CredentialsError("revoked"), errors.NoCredentials()]
    assert all(isinstance(error, errors.HealthcareApiError) for error in raised)
    public = [getattr(errors, name) for name in errors.__all__]
    roots = {cls for cls in public if isinstance(cls, type) and issubclass(cls, Exception)
             and not issubclass(cls, errors.HealthcareApiError)}
    assert roots == set(), roots


def test_client_endpoint_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEALTHCARE_EMULATOR_HOST", raising=False)
    assert HealthcareClient().base_url == "https://healthcare.googleapis.com"
    assert HealthcareClient("https://x.example/", "v1beta1").base_url == "https://x.example"
    monkeypatch.setenv("HEALTHCARE_EMULATOR_HOST", "127.0.0.1:9")
    client = HealthcareClient("https://x.example")
    assert client.base_url == "http://127.0.0.1:9" and client.emulated
    with pytest.raises(ValueError):
        HealthcareClient(api_version="v2")
