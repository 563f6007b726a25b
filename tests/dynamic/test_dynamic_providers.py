"""The dynamic providers (pulumi_dicom_jobs.dynamic.providers) as the SDK's host holds them: what
``diff`` replaces and what it updates in place (docs/lifecycle.md), ``check`` returning failures and
never raising, the provider pickled small and by reference, no side effect on import, the host's
pool widened on the first call of any method."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

import pulumi_dicom_jobs
from pulumi_dicom_jobs.dynamic import hostpool, providers
from pulumi_dicom_jobs.dynamic.providers import DicomExportJobProvider, DicomImportJobProvider

STORE = "projects/p-123456/locations/l/datasets/d/dicomStores/s"
#: The smallest valid inputs of an import.
INPUTS = {"dicom_store": STORE, "gcs_source": {"uri": "gs://bucket-ok/in/**.dcm"}}


STATE = {"dicom_store": STORE, "gcs_source": {"uri": "gs://b/x/**"}, "timeout_seconds": 60.0,
         "max_failed_instances": 0.0, "triggers": ["a"], "operation_name": "op", "success_count": 3.0,
         "__provider": "xyz"}


@pytest.mark.parametrize("change,replaces", [
    ({}, None),
    ({"timeout_seconds": 60}, None),
    ({"dicom_store": STORE + "2"}, ["dicom_store"]),
    ({"gcs_source": {"uri": "gs://b/y/**"}}, ["gcs_source"]),
    ({"blob_storage_settings": {"blob_storage_class": "ARCHIVE"}}, ["blob_storage_settings"]),
    ({"triggers": ["b"]}, ["triggers"]),
    ({"triggers": None}, ["triggers"]),
    ({"gcs_source": Unknown()}, ["gcs_source"]),
    ({"timeout_seconds": 120.0}, []),
    ({"max_failed_instances": 5}, []),
    ({"api_version": "v1beta1"}, []),
    ({"api_version": "v1"}, None),
    ({"api_endpoint": "https://healthcare.example"}, []),  # docs/lifecycle.md: updates in place
])
def test_import_diff_matrix(change: dict, replaces) -> None:
    olds = dict(STATE)
    news = {k: v for k, v in STATE.items() if k not in ("operation_name", "success_count")}
    news.update(change)
    news = {k: v for k, v in news.items() if v is not None}
    result = DicomImportJobProvider().diff("op", olds, news)
    if replaces is None:
        assert result.changes is False and result.replaces == []
    else:
        assert result.changes is True and result.replaces == replaces


@pytest.mark.parametrize("change,replaces", [
    ({"gcs_destination": {"uri_prefix": "gs://b/o", "mime_type": "image/png"}}, ["gcs_destination"]),
    ({"filter_config": {"resource_paths_gcs_uri": "gs://b/f"}}, ["filter_config"]),
    ({"bigquery_destination": {"table_uri": "bq://p-123456.d.t"}, "gcs_destination": None},
     ["gcs_destination", "bigquery_destination"]),
    ({"max_failed_instances": 1.0}, []),
    ({"api_endpoint": "https://healthcare.example"}, []),  # docs/lifecycle.md: updates in place
    ({"api_version": "v1beta1"}, []),
])
def test_export_diff_matrix(change: dict, replaces) -> None:
    olds = {"dicom_store": STORE, "gcs_destination": {"uri_prefix": "gs://b/o"}, "operation_name": "x"}
    news = {k: v for k, v in {**olds, **change}.items() if v is not None and k != "operation_name"}
    result = DicomExportJobProvider().diff("x", olds, news)
    assert result.changes is True and result.replaces == replaces
    assert DicomExportJobProvider().diff("x", olds, {"dicom_store": STORE,
                                                     "gcs_destination": {"uri_prefix": "gs://b/o"}}).changes is False


def test_provider_check_returns_failures_and_never_raises() -> None:
    result = DicomImportJobProvider().check({}, {"dicom_store": "nope", "gcs_source": {"uri": "gs://b/**/x"}})
    assert sorted(f.property for f in result.failures) == ["dicom_store", "gcs_source.uri"]
    assert DicomExportJobProvider().check({}, None).failures  # garbage in: failures, not an exception


def test_a_v1beta1_export_to_another_projects_dataset_fails_check() -> None:
    """Issue 25, item 3, at preview: a CheckFailure on the field naming the rule and the version."""
    props = {"dicom_store": STORE, "api_version": "v1beta1",
             "bigquery_destination": {"table_uri": "bq://other-project.ds.t"}}
    [failure] = DicomExportJobProvider().check({}, props).failures
    assert failure.property == "bigquery_destination.table_uri"
    assert "v1beta1 exports only to a BigQuery dataset in the DICOM store's project" in failure.reason
    assert DicomExportJobProvider().check({}, {**props, "api_version": "v1"}).failures == []


def test_providers_pickle_by_reference_small_and_stateless() -> None:
    for cls in (DicomImportJobProvider, DicomExportJobProvider):
        provider = cls()
        assert vars(provider) == {}
        blob = serialize_provider(provider)
        assert len(blob) <= 2048 and len(blob) < 200, len(blob)
        assert b"pulumi_dicom_jobs.dynamic.providers" in pickle.dumps(provider)
    assert pulumi_dicom_jobs.DicomImportJobProvider is DicomImportJobProvider


# -- no side effect on import; the host pool is widened on the first call -------------
def test_importing_the_providers_changes_nothing() -> None:
    code = ("import sys\n"
            "import pulumi_dicom_jobs.dynamic.providers\n"
            "from pulumi_dicom_jobs.dynamic import hostpool\n"
            "assert hostpool._status is None and hostpool._first_call is None\n"
            "assert 'pulumi_dicom_jobs.gcp.components' not in sys.modules\n"
            "import pulumi_dicom_jobs.cli.main\n")
    cli_only = "import sys, pulumi_dicom_jobs.cli.main\nassert 'pulumi' not in sys.modules, 'CLI imported pulumi'\n"
    for source in (code, cli_only):
        proc = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("method,args", [
    ("check", ({}, INPUTS)),
    ("diff", ("op", INPUTS, INPUTS)),
    ("update", ("op", INPUTS, INPUTS)),
    ("delete", ("op", INPUTS)),
    ("create", ({"dicom_store": "bad"},)),  # invalid: fails before any API call
    ("read", ("op", {})),
])
def test_every_provider_method_widens_the_host_pool_first(monkeypatch, method: str, args: tuple) -> None:
    calls: list[str] = []

    def widen() -> None:
        calls.append(method)
        raise _Stop()

    monkeypatch.setattr(hostpool, "widen_on_first_call", widen)
    with pytest.raises(_Stop):
        getattr(providers.DicomImportJobProvider(), method)(*args)
    assert calls == [method]


class _Stop(Exception):
    """Raised by the stand-in hook, so nothing after it runs."""


def test_widen_on_first_call_looks_once(monkeypatch) -> None:
    looks: list[int] = []
    monkeypatch.setattr(hostpool, "_first_call", None)
    monkeypatch.setattr(hostpool, "ensure_host_concurrency",
                        lambda: looks.append(1) or hostpool.HostPoolStatus("not-in-host", False, 1))
    first = hostpool.widen_on_first_call()
    assert hostpool.widen_on_first_call() is first and looks == [1]
