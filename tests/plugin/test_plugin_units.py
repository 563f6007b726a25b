"""Pure pieces of the plugin: progress throttling, name translation, provider config, the package facts."""

from __future__ import annotations

from email.message import Message

import pytest

from support.clock import FakeClock
from support.operations import snapshot
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.plugin import config, package_info, package_schema
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
