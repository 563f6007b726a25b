"""Pure pieces of the plugin: progress throttling, name translation, provider config, the package facts."""

from __future__ import annotations

from email.message import Message

import grpc
import pytest

from support.clock import FakeClock
from support.operations import snapshot
from pulumi_dicom_jobs import settings, spec
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.api.errors import NotFound, TransportError
from pulumi_dicom_jobs.failures import JobFailed
from pulumi_dicom_jobs.plugin import config, import_id, package_info, package_schema
from pulumi_dicom_jobs.plugin.engine_args import EngineArgs, parse_args
from pulumi_dicom_jobs.plugin.rpc_status import RpcFailure, status_of
from pulumi_dicom_jobs.plugin.engine_log import ProgressMessages


class _Log:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def status(self, urn: str, message: str) -> None:
        self.sent.append((urn, message))


def _status(success: int, pending: int, done: bool = False) -> OperationStatus:
    return snapshot("projects/p/locations/l/datasets/d/operations/7", done=done, success=success, pending=pending)


def test_progress_is_sent_when_counters_change_and_at_most_once_a_second() -> None:
    clock = FakeClock()
    log = _Log()
    progress = ProgressMessages(log, "urn:x", clock=clock)  # type: ignore[arg-type]
    progress(_status(0, 10))
    progress(_status(0, 10))          # same counters: nothing
    clock.now = 0.5
    progress(_status(2, 8))           # changed, but within the second: nothing
    clock.now = 1.2
    progress(_status(4, 6))
    clock.now = 3.0
    progress(_status(4, 6))           # same counters: nothing
    progress(_status(10, 0, done=True))
    texts = [message for _urn, message in log.sent]
    assert [urn for urn, _ in log.sent] == ["urn:x"] * 3
    assert texts[0].startswith("operations/7: 0/10 done, 0 failed")
    assert "4/10 done" in texts[1] and "ETA" in texts[1]
    assert "10/10 done" in texts[2] and "ETA" not in texts[2]


@pytest.mark.parametrize("word", ["off", "FALSE", " no ", "0", "disabled", "on", "True", "yes", "1", "enable",
                                  "maybe", "stock"])
def test_cancel_on_interrupt_reads_the_settings_switch_words(word: str) -> None:
    known = settings.switch(word)
    assert config.check({"cancelOnInterrupt": word}) == ([] if known is not None else [
        ("cancelOnInterrupt", f"must be true or false, got {word!r}")])
    assert config.resolve({"cancelOnInterrupt": word}, {}).cancel_on_interrupt is (known is not False)


def test_the_python_classes_wire_names_come_from_the_specs_one_map() -> None:
    """(plugin.props reads the same map; it loads the SDK's provider protos, so the plugin
    process tests hold it, not an in-process import here.)"""
    from pulumi_dicom_jobs import spec
    from pulumi_dicom_jobs.plugin import resources as plugin_resources

    assert plugin_resources._TO_CAMEL is spec.camel_names()


def test_config_from_values_then_environment() -> None:
    env = {"DICOM_JOBS_API_ENDPOINT": "https://env.example", "DICOM_JOBS_CANCEL_ON_INTERRUPT": "false",
           "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT": "sa@p.iam.gserviceaccount.com"}
    assert config.resolve({}, env) == config.ProviderConfig("https://env.example",
                                                            "sa@p.iam.gserviceaccount.com", False)
    given = config.resolve({"apiEndpoint": "https://given.example", "cancelOnInterrupt": True}, env)
    assert given.api_endpoint == "https://given.example" and given.cancel_on_interrupt is True
    assert config.resolve({}, {}) == config.ProviderConfig()
    assert config.check({"cancelOnInterrupt": "true", "version": "0.1.0"}) == []


def test_the_schema_reads_version_and_publisher_facts_from_the_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edit pyproject.toml, and the schema (and GetPluginInfo, which asks package_info too) follows."""
    facts = Message()
    for key, value in [("Version", "9.8.7"), ("License-Expression", "MIT"), ("Author", "someone"),
                       ("Project-URL", "Homepage, https://example.org"),
                       ("Project-URL", "Repository, https://git.example.org/team/dicom.git")]:
        facts[key] = value
    monkeypatch.setattr(package_info, "_metadata", lambda: facts)
    schema = package_schema.package_schema()
    assert (schema["version"], schema["license"], schema["publisher"]) == ("9.8.7", "MIT", "someone")
    assert schema["repository"] == "https://git.example.org/team/dicom.git"
    assert schema["language"]["go"]["modulePath"] == "git.example.org/team/dicom/sdk/go"


@pytest.mark.parametrize("reason, code", [
    ("invalid_input", grpc.StatusCode.INVALID_ARGUMENT), ("start_failed", grpc.StatusCode.FAILED_PRECONDITION),
    ("in_flight", grpc.StatusCode.FAILED_PRECONDITION), ("operation_error", grpc.StatusCode.ABORTED),
    ("too_many_failures", grpc.StatusCode.ABORTED), ("timeout", grpc.StatusCode.DEADLINE_EXCEEDED),
    ("cancelled", grpc.StatusCode.CANCELLED), ("interrupted", grpc.StatusCode.CANCELLED),
    ("vanished", grpc.StatusCode.NOT_FOUND)])
def test_each_job_failure_has_a_code_the_engine_reads_as_a_known_failure(reason: str, code) -> None:
    assert status_of(JobFailed(reason, f"the job: {reason}")) == (code, f"the job: {reason}")


@pytest.mark.parametrize("number, code", [(7, grpc.StatusCode.PERMISSION_DENIED), (5, grpc.StatusCode.NOT_FOUND),
                                          (13, grpc.StatusCode.ABORTED), (2, grpc.StatusCode.ABORTED),
                                          (99, grpc.StatusCode.ABORTED)])
def test_an_operation_error_keeps_the_operations_code_unless_it_means_state_unknown(number: int, code) -> None:
    failed = snapshot(done=True, error=(number, "no"))
    assert status_of(JobFailed("operation_error", "failed", failed))[0] == code


def test_refusals_api_errors_and_bugs() -> None:
    assert status_of(RpcFailure(grpc.StatusCode.NOT_FOUND, "gone")) == (grpc.StatusCode.NOT_FOUND, "gone")
    code, text = status_of(NotFound(404, "NOT_FOUND", "no such operation", method="GET", path="/v1/x"))
    assert code == grpc.StatusCode.NOT_FOUND and "no such operation" in text
    assert status_of(TransportError("connection refused"))[0] == grpc.StatusCode.UNAVAILABLE
    code, text = status_of(RuntimeError("boom"))
    assert code == grpc.StatusCode.INTERNAL
    assert "RuntimeError: boom" in text and "bug" in text and "Traceback" not in text


ENGINE = "127.0.0.1:4321"


@pytest.mark.parametrize("argv, expected", [
    ([ENGINE], EngineArgs(ENGINE)),
    (["--logtostderr", ENGINE], EngineArgs(ENGINE, log_to_stderr=True)),
    (["-v=9", ENGINE], EngineArgs(ENGINE, verbosity=9)),
    (["--tracing", "127.0.0.1:9411", ENGINE], EngineArgs(ENGINE, tracing="127.0.0.1:9411")),
    (["--tracing=127.0.0.1:9411", ENGINE], EngineArgs(ENGINE, tracing="127.0.0.1:9411")),
    (["--logflow", ENGINE], EngineArgs(ENGINE, log_flow=True)),
    # all of them, in the order the engine's buildPluginArguments writes them
    (["--logtostderr", "-v=9", "--tracing", "127.0.0.1:9411", ENGINE],
     EngineArgs(ENGINE, verbosity=9, log_to_stderr=True, tracing="127.0.0.1:9411")),
    (["--a-flag-of-a-later-cli", ENGINE], EngineArgs(ENGINE)),
])
def test_engine_flags_are_read_as_the_cli_passes_them(argv: list[str], expected: EngineArgs) -> None:
    assert parse_args(argv) == expected


@pytest.mark.parametrize("argv", [[], ["--logtostderr"], ["--tracing", "127.0.0.1:9411", "-v=3"]])
def test_no_engine_address_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit, match="ENGINE_ADDRESS"):
        parse_args(argv)


OPERATION = "projects/p/locations/us-central1/datasets/d/operations/123"
STORE = "projects/p/locations/us-central1/datasets/d/dicomStores/main"


@pytest.mark.parametrize("job, inputs", [
    (spec.IMPORT_JOB, {"dicom_store": STORE, "gcs_source": {"uri": "gs://scans/ct & mr/**.dcm"},
                       "blob_storage_settings": {"blob_storage_class": "ARCHIVE"}, "max_failed_instances": 2,
                       "timeout_seconds": 7200, "api_version": "v1beta1", "triggers": {"run": ["v2", 3]}}),
    (spec.EXPORT_JOB, {"dicom_store": "projects/p/locations/us-central1/datasets/other/dicomStores/s",
                       "bigquery_destination": {"table_uri": "bq://p.d.t", "force": True,
                                                "include_source_store": False, "schema": "JSON"},
                       "filter_config": {"resource_paths_gcs_uri": "gs://f/list%+.txt"}, "timeout_seconds": 90.5}),
])
def test_an_import_id_states_every_input_and_reads_back(job, inputs: dict) -> None:
    text = import_id.format_id(job, OPERATION, inputs)
    assert " " not in text and "'" not in text, "one shell word inside single quotes"
    assert import_id.parse(job, text) == import_id.ImportId(OPERATION, inputs)


def test_the_store_may_be_named_by_its_id_in_the_operations_dataset() -> None:
    parsed = import_id.parse(spec.IMPORT_JOB, f"{OPERATION}?dicomStore=main&gcsSource.uri=gs://b/x/**.dcm")
    assert parsed.inputs == {"dicom_store": STORE, "gcs_source": {"uri": "gs://b/x/**.dcm"}}
    assert import_id.format_id(spec.IMPORT_JOB, OPERATION, parsed.inputs) == \
        f"{OPERATION}?dicomStore=main&gcsSource.uri=gs://b/x/**.dcm"


@pytest.mark.parametrize("text, words", [
    (OPERATION, "the API does not say which store"),
    (f"{OPERATION}?", "the API does not say which store"),
    ("operations/123?dicomStore=main", "operation's full name"),
    (f"{OPERATION}?dicomStore=main&gcsSource.url=gs://b/x", "not INPUT=VALUE"),
    (f"{OPERATION}?dicomStore=main&dicomStore=other", "given twice"),
    (f"{OPERATION}?dicomStore", "not INPUT=VALUE"),
    (f"{OPERATION}?dicomStore=main&maxFailedInstances=two", "must be an integer"),
    (f"{OPERATION}?dicomStore=main&triggers=v2", "must be JSON"),
    (f"{OPERATION}?dicomStore=main&gcsDestination.uriPrefix=gs://b/o", "not INPUT=VALUE"),
])
def test_an_import_id_that_does_not_parse_says_why_and_how(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        import_id.parse(spec.IMPORT_JOB, text)
