"""pulumi-offline with the real DICOM jobs: import then export, a no-op second up, a destroy that keeps data."""

from __future__ import annotations

import io

import requests

from healthcare_emulator.sampledata import real_bytes, synthetic_instance
from support.programs import by_name, make_program, state_of
from pulumi_offline.display import Display
from pulumi_offline.engine import run

BEARER = {"Authorization": "Bearer test"}


def _job_operations(emulator) -> list[dict]:
    """Import/export operations (the Healthcare dataset create is an operation too)."""
    return [op for op in emulator.get("operations")["operations"]
            if {"gcsSource", "gcsDestination", "bigqueryDestination"} & set(op.get("request") or {})]


def _run(command, directory):
    out = io.StringIO()
    result = run(command, directory, display=Display(out))
    result.text = out.getvalue()
    return result


def test_import_export_up_noop_and_destroy_keeps_data(tmp_path, unique, emulator, stack):
    files = []
    for i, data in enumerate([real_bytes("CT_small.dcm"), synthetic_instance(seed=1), synthetic_instance(seed=2)]):
        path = tmp_path / f"f{i}.dcm"
        path.write_bytes(data)
        files.append(str(path))
    names = {"source": f"src-{unique}", "exports": f"exp-{unique}", "dataset": f"ds-{unique}",
             "store": f"st-{unique}"}
    program = make_program(tmp_path, "jobs", {"gcp:project": "local-project", "names": names, "files": files})
    store = f"projects/local-project/locations/us-central1/datasets/ds-{unique}/dicomStores/st-{unique}"

    plan = _run("preview", program)  # unknown ids flow into the jobs' Check in preview
    assert plan.ok, plan.text
    assert plan.counts == {"create": 11} and _job_operations(emulator) == []

    result = _run("up", program)
    assert result.ok, result.text
    assert result.counts == {"create": 11}  # 2 buckets, 3 objects, dataset, store, 2 grants, 2 jobs
    assert result.outputs["imported"] == 3 and result.outputs["exported"] == 3
    assert len(_job_operations(emulator)) == 2
    studies = requests.get(f"{stack.healthcare_url}/v1/{store}/dicomWeb/studies", headers=BEARER, timeout=30).json()
    assert len(studies) == 3
    listing = requests.get(f"{stack.storage_url}/storage/v1/b/exp-{unique}/o", timeout=30).json()
    exported = sorted(item["name"] for item in listing.get("items", []))
    assert len(exported) == 3 and all(name.startswith("out/") for name in exported)
    steps = [urn.rsplit("::", 1)[-1] for _, urn in result.steps]
    assert steps.index("import") < steps.index("export")

    again = _run("up", program)
    assert again.ok, again.text
    assert set(again.counts) == {"same"}
    assert len(_job_operations(emulator)) == 2  # no new job

    # destroy: the store is retained (instances stay), the export bucket is not empty and has no
    # force_destroy, so it is NOT deleted and destroy says so; exported files stay in place.
    done = _run("destroy", program)
    assert not done.ok
    assert any(f"bucket exp-{unique} is not empty" in e and "force_destroy is false" in e for e in done.errors), done.errors
    assert "Traceback" not in done.text
    left = by_name(state_of(program))
    assert set(left) == {"exports"}, left
    assert done.counts.get("retain") == 2  # Healthcare dataset and store: retain_on_delete
    listing = requests.get(f"{stack.storage_url}/storage/v1/b/exp-{unique}/o", timeout=30).json()
    assert sorted(item["name"] for item in listing.get("items", [])) == exported
    studies = requests.get(f"{stack.healthcare_url}/v1/{store}/dicomWeb/studies", headers=BEARER, timeout=30).json()
    assert len(studies) == 3
    assert requests.get(f"{stack.storage_url}/storage/v1/b/src-{unique}", timeout=30).status_code == 404
