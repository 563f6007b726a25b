"""pulumi_dicom_jobs.settings: every knob's default, and its override read at call time."""

from __future__ import annotations

import pytest

from pulumi_dicom_jobs import settings

KNOBS = (settings.EMULATOR_HOST_ENV, settings.ACCESS_TOKEN_ENV, settings.IMPERSONATE_ENV,
         settings.HTTP_TIMEOUT_ENV, settings.PERMISSION_RETRY_ENV, settings.IN_FLIGHT_GRACE_ENV,
         settings.IN_FLIGHT_CHECK_ENV, settings.HOST_POOL_ENV)


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_names_of_the_knobs() -> None:
    assert KNOBS == ("HEALTHCARE_EMULATOR_HOST", "GOOGLE_OAUTH_ACCESS_TOKEN",
                     "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT", "DICOM_JOBS_HTTP_TIMEOUT",
                     "DICOM_JOBS_PERMISSION_RETRY_SECONDS", "DICOM_JOBS_IN_FLIGHT_GRACE_SECONDS",
                     "DICOM_JOBS_IN_FLIGHT_CHECK", "DICOM_JOBS_HOST_POOL")


def test_defaults(clean: pytest.MonkeyPatch) -> None:
    assert settings.emulator_host() is None
    assert settings.access_token() is None and settings.impersonated_service_account() is None
    assert settings.http_timeout() == (10.0, 60.0) == settings.DEFAULT_HTTP_TIMEOUT
    assert settings.permission_retry_window() == 120.0
    assert settings.in_flight_grace_seconds() == 30.0
    assert settings.in_flight_check_enabled() is True
    assert settings.host_pool() == ""


def test_overrides_are_read_at_call_time(clean: pytest.MonkeyPatch) -> None:
    clean.setenv(settings.EMULATOR_HOST_ENV, " 127.0.0.1:9 ")
    clean.setenv(settings.ACCESS_TOKEN_ENV, "t")
    clean.setenv(settings.IMPERSONATE_ENV, "sa@p.iam.gserviceaccount.com")
    clean.setenv(settings.PERMISSION_RETRY_ENV, "0")
    clean.setenv(settings.IN_FLIGHT_GRACE_ENV, "2.5")
    clean.setenv(settings.HOST_POOL_ENV, " OFF ")
    assert settings.emulator_host() == "127.0.0.1:9"
    assert settings.access_token() == "t"
    assert settings.impersonated_service_account() == "sa@p.iam.gserviceaccount.com"
    assert settings.permission_retry_window() == 0.0
    assert settings.in_flight_grace_seconds() == 2.5
    assert settings.host_pool() == "off"
    for off in ("off", "0", "FALSE", " no ", "disabled"):
        clean.setenv(settings.IN_FLIGHT_CHECK_ENV, off)
        assert settings.in_flight_check_enabled() is False, off
    clean.setenv(settings.IN_FLIGHT_CHECK_ENV, "on")
    assert settings.in_flight_check_enabled() is True


OFF = ("off", "0", "FALSE", " no ", "disable", "Disabled")
ON = ("on", "1", "TRUE", " yes ", "enable", "Enabled")


@pytest.mark.parametrize("word, value", [*((w, False) for w in OFF), *((w, True) for w in ON),
                                         ("", None), ("stock", None), ("2", None), ("offf", None)])
def test_every_switch_reads_one_vocabulary(clean: pytest.MonkeyPatch, word: str, value) -> None:
    """The in-flight check, the host pool and the plugin's cancelOnInterrupt all read ``switch``."""
    from pulumi_dicom_jobs.dynamic import hostpool  # stdlib and settings only

    assert settings.switch(word) is value
    clean.setenv(settings.IN_FLIGHT_CHECK_ENV, word)
    assert settings.in_flight_check_enabled() is (value is not False)
    clean.setenv(settings.HOST_POOL_ENV, word)
    target, note = hostpool._target_from_env(7)
    if value is False or word == "stock":
        assert target is None and note == f"{settings.HOST_POOL_ENV}={settings.host_pool()}"
    elif value is True or not word:
        assert (target, note) == (7, "")
    else:
        assert target == (2 if word == "2" else 7)


def test_malformed_values_fall_back_to_the_default(clean: pytest.MonkeyPatch) -> None:
    clean.setenv(settings.PERMISSION_RETRY_ENV, "soon")
    clean.setenv(settings.IN_FLIGHT_GRACE_ENV, "")
    assert settings.permission_retry_window() == 120.0
    assert settings.in_flight_grace_seconds() == 30.0
    clean.setenv(settings.IN_FLIGHT_GRACE_ENV, "-4")
    assert settings.in_flight_grace_seconds() == 0.0  # negative: no grace, never a negative one


def test_http_timeout_from_environment(monkeypatch) -> None:
    monkeypatch.delenv(settings.HTTP_TIMEOUT_ENV, raising=False)
    assert settings.http_timeout() == (10.0, 60.0)
    monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, "120")
    assert settings.http_timeout() == (10.0, 120.0)
    monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, " 3.5 , 90 ")
    assert settings.http_timeout() == (3.5, 90.0)
    for bad in ("x", "1,2,3", "0", "-5", "5,", "inf", "nan"):
        monkeypatch.setenv(settings.HTTP_TIMEOUT_ENV, bad)
        assert settings.http_timeout() == (10.0, 60.0), bad
