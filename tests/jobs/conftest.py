"""Fixtures of the job layer's tests: its clock, faked (support.clock)."""

from __future__ import annotations

import pytest

from support.clock import FakeClock, install_in_job_layer
from pulumi_dicom_jobs import settings


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The job layer's clock (run_job's deadline, wait's, the settles and the permission
    window), moved only by the client's sleeps; the knobs the job layer reads are at
    their defaults."""
    fake = install_in_job_layer(monkeypatch)
    for name in (settings.PERMISSION_RETRY_ENV, settings.IN_FLIGHT_CHECK_ENV, settings.IN_FLIGHT_GRACE_ENV,
                 settings.HTTP_TIMEOUT_ENV, settings.ACCESS_TOKEN_ENV, settings.IMPERSONATE_ENV):
        monkeypatch.delenv(name, raising=False)
    return fake
