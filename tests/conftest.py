"""Shared fixtures: one local stack (GCS, BigQuery, Healthcare emulators) per session.

Each test gets a clean Healthcare emulator (``emulator`` resets it) and its
own bucket and dataset names, so tests never see each other's data. The
clients themselves live in :mod:`support` (see its docstring).
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Iterator

import pytest

from google.cloud import bigquery, storage

from healthcare_emulator.stack import DEFAULT_PROJECT, LocalStack
from support.data import bigquery_client, storage_client
from support.emulator import EmulatorAdmin, HealthcareApi
from support.workspace import Workspace


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The running local stack; its env vars are set for the whole session."""
    with LocalStack() as running:
        previous = {key: os.environ.get(key) for key in running.env()}
        os.environ.update(running.env())
        try:
            yield running
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture
def emulator(stack: LocalStack) -> EmulatorAdmin:
    """Admin client of a freshly reset Healthcare emulator."""
    admin = EmulatorAdmin(stack.healthcare_url)
    admin.reset()
    return admin


@pytest.fixture
def unique() -> str:
    """A short unique suffix for bucket, dataset and store names."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def project() -> str:
    return DEFAULT_PROJECT


@pytest.fixture(scope="session")
def gcs_client(stack: LocalStack) -> storage.Client:
    """google-cloud-storage on the stack's Cloud Storage emulator (STORAGE_EMULATOR_HOST)."""
    return storage_client()


@pytest.fixture(scope="session")
def bq_client(stack: LocalStack) -> bigquery.Client:
    """google-cloud-bigquery on the stack's BigQuery emulator."""
    return bigquery_client(stack.bigquery_url)


# The product's tests' (dynamic, api, jobs, plugin) store, bucket and BigQuery client of their own,
# the service agent granted what their jobs need (IAM is enforced); ungranted_env: no grant at all.
@pytest.fixture
def env(stack, emulator, gcs_client, bq_client, unique) -> Workspace:
    return _workspace(stack, emulator, gcs_client, bq_client, unique, grant=True)


@pytest.fixture
def ungranted_env(stack, emulator, gcs_client, bq_client, unique) -> Workspace:
    return _workspace(stack, emulator, gcs_client, bq_client, unique, grant=False)


def _workspace(stack, emulator, gcs_client, bq_client, unique, grant: bool) -> Workspace:
    emulator.config(instanceDelaySeconds=0.0, operationMinSeconds=0.0)
    return Workspace.create(HealthcareApi(stack.healthcare_url, token="t"), emulator, gcs_client,
                            dataset_id=f"ds{unique}", store_id="store", bucket=f"bkt-{unique}", bq=bq_client,
                            grant=grant)


# -- the seeds: the differential fuzz's (tests/test_fuzz_check.py) and the test order's --
# pytest-randomly runs the tests in an order drawn from its seed and reseeds ``random``
# before each test from it; it prints the seed in the header, repeated here at the end.
#: Set FUZZ_SEED=N to replay a run of ``make test``; otherwise each run draws one
#: (from the system's entropy, so pytest-randomly's reseeding does not decide it).
FUZZ_SEED_ENV = "FUZZ_SEED"


def pytest_configure(config: pytest.Config) -> None:
    """Pick this run's fuzz seed before the fuzz module reads it."""
    if not os.environ.get(FUZZ_SEED_ENV, "").strip():
        os.environ[FUZZ_SEED_ENV] = str(random.SystemRandom().randrange(2**32))


def pytest_report_header(config: pytest.Config) -> str:
    return f"differential fuzz seed: {os.environ[FUZZ_SEED_ENV]}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The seeds again at the end (``-q`` hides the header), for a failure to be replayed."""
    order_seed = config.getoption("randomly_seed", default=None)  # None: pytest-randomly is off
    if order_seed is not None and config.getoption("randomly_reorganize", default=False):
        terminalreporter.write_line(f"random order seed: {order_seed} "
                                    f"(replay: PYTEST_ADDOPTS=--randomly-seed={order_seed} and the same command)")
    ran = any("test_fuzz_check.py" in report.nodeid
              for reports in terminalreporter.stats.values() for report in reports
              if hasattr(report, "nodeid"))
    if ran and os.environ.get("HYPOTHESIS_PROFILE", "default") == "default":
        seed = os.environ[FUZZ_SEED_ENV]
        terminalreporter.write_line(f"differential fuzz seed: {seed} "
                                    f"(replay: {FUZZ_SEED_ENV}={seed} make test)")
