"""Fixtures of the offline engine's tests.

The small programs here (``tests/offline/programs``) look the Healthcare
service agent up (``gcp.organizations.get_project``) instead of creating it,
as a program for a project where the Healthcare API was enabled before does.
With IAM enforced (the emulator's default) the agent exists only once
created, so each test that uses the emulator starts with the default
project's agent created, as it would exist there; grants are still the
programs' own.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def healthcare_api_enabled(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").create_service_agent()
