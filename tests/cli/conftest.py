"""Fixtures of the ``dicom-jobs`` end-to-end tests: a store and a bucket of the test's own."""

from __future__ import annotations

import pytest

from support.emulator import HealthcareApi
from support.workspace import Workspace


@pytest.fixture
def setup(stack, emulator, gcs_client, unique, project) -> Workspace:
    """A dataset + DICOM store in the Healthcare emulator and a bucket in the GCS emulator."""
    return Workspace.create(HealthcareApi(stack.healthcare_url, token="cli-test-token"), emulator, gcs_client,
                            dataset_id=f"ds_{unique}", store_id=f"store_{unique}", bucket=f"cli-{unique}",
                            project=project)
