"""Fixtures of the provider's integration tests: a store, a bucket and a BigQuery client of the test's own.

Everything talks to the real local stack over HTTP: the Healthcare emulator
(its admin surface too), the GCS emulator through google-cloud-storage, the
BigQuery emulator through google-cloud-bigquery.
"""

from __future__ import annotations

import pytest

from support.emulator import HealthcareApi
from support.workspace import Workspace


@pytest.fixture
def env(stack, emulator, gcs_client, bq_client, unique) -> Workspace:
    emulator.config(instanceDelaySeconds=0.0, operationMinSeconds=0.0)
    return Workspace.create(HealthcareApi(stack.healthcare_url, token="t"), emulator, gcs_client,
                            dataset_id=f"ds{unique}", store_id="store", bucket=f"bkt-{unique}", bq=bq_client)
