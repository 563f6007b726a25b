"""pulumi-offline runs whole programs against the local stack: order, state, diffs, deletes, errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support.programs import by_name, make_program, max_overlap, read_log, state_of, write_config
from pulumi_offline.display import Display
from pulumi_offline.engine import run

STACK_PROJECT = "local-project"
AGENT = "serviceAccount:service-123456789012@gcp-sa-healthcare.iam.gserviceaccount.com"


def _basic_config(unique: str, **extra):
    return {
        "gcp:project": STACK_PROJECT,
        "offline-basic:names": {"bucket": f"offline-{unique}", "bq": f"offline_{unique}",
                                "dataset": f"ds-{unique}", "store": f"st-{unique}"},
        "label": "from-config",  # a plain key: namespaced with the project
        **extra,
    }


@pytest.fixture
def basic(tmp_path, unique, emulator):
    return make_program(tmp_path, "basic", _basic_config(unique))


@pytest.fixture
def log(tmp_path):
    return tmp_path / "provider-calls.jsonl"


def _run(command: str, directory: Path, log: Path, **kwargs):
    out = io.StringIO()
    result = run(command, directory, env={"OFFLINE_RECORD_LOG": str(log)}, display=Display(out), **kwargs)
    result.text = out.getvalue()
    return result


def _position(result, name: str) -> int:
    return [urn.rsplit("::", 1)[-1] for _, urn in result.steps].index(name)


def test_up_applies_in_dependency_order_with_outputs_flowing(basic, log, emulator, unique, stack):
    result = _run("up", basic, log)
    assert result.ok, result.text
    assert result.counts == {"create": 8}
    for before, after in [("bucket", "bucket-reader"), ("hc-dataset", "store"), ("store", "bucket-reader"),
                          ("bq", "bq-editor"), ("bucket-reader", "job"), ("bq-editor", "job"), ("job-user", "job")]:
        assert _position(result, before) < _position(result, after), (before, after, result.steps)

    store_id = f"projects/{STACK_PROJECT}/locations/us-central1/datasets/ds-{unique}/dicomStores/st-{unique}"
    assert result.outputs["store_id"] == store_id
    assert result.outputs["job_store"] == store_id  # a gcp output flowed into the dynamic resource
    assert result.outputs["bucket_url"] == f"gs://offline-{unique}"
    assert result.outputs["project"] == "offline-basic" and result.outputs["stack"] == "dev"
    assert result.outputs["label_config"] == "from-config"  # stack config reached pulumi.Config
    creates = [e for e in read_log(log) if e["event"] == "create"]
    assert len(creates) == 1 and creates[0]["inputs"]["store"] == store_id
    assert creates[0]["inputs"]["member"] == AGENT  # getProject's number came from the emulator

    # Really applied to the local stack.
    assert requests.get(f"{stack.storage_url}/storage/v1/b/offline-{unique}", timeout=10).status_code == 200
    assert requests.get(f"{stack.bigquery_url}/bigquery/v2/projects/{STACK_PROJECT}/datasets/offline_{unique}",
                        timeout=10).status_code == 200
    assert requests.get(f"{stack.healthcare_url}/v1/{store_id}", headers={"Authorization": "Bearer t"},
                        timeout=10).status_code == 200
    grants = {(g["resource"], g["role"], g["member"]) for g in emulator.get("iam")["grants"]}
    assert grants == {
        (f"//storage.googleapis.com/projects/_/buckets/offline-{unique}", "roles/storage.objectViewer", AGENT),
        (f"//bigquery.googleapis.com/projects/{STACK_PROJECT}/datasets/offline_{unique}",
         "roles/bigquery.dataEditor", AGENT),
        (f"//cloudresourcemanager.googleapis.com/projects/{STACK_PROJECT}", "roles/bigquery.jobUser", AGENT),
    }

    # The state file: per URN type, id, inputs, outputs, dependencies, the dynamic provider.
    state = state_of(basic)
    resources = by_name(state)
    assert set(resources) == {"bucket", "bq", "hc-dataset", "store", "bucket-reader", "bq-editor", "job-user", "job",
                              "default"}
    # The dynamic host's default provider is a resource of the state too, and the job names it.
    provider = resources["default"]
    assert provider["type"] == "pulumi:providers:pulumi-python"
    job = resources["job"]
    assert job["provider_ref"] == f"{provider['urn']}::{provider['id']}"
    assert job["type"] == "pulumi-python:dynamic/offline:Recorder"
    assert job["id"] == result.outputs["job_id"]
    assert job["inputs"]["store"] == store_id and job["outputs"]["created_id"] == job["id"]
    assert isinstance(job["provider"], str) and job["provider"]
    assert {resources[n]["urn"] for n in ("bucket-reader", "bq-editor", "job-user", "store")} <= set(job["dependencies"])
    assert resources["store"]["id"] == store_id
    assert resources["hc-dataset"]["urn"] in resources["store"]["dependencies"]
    assert resources["bucket"]["outputs"]["url"] == f"gs://offline-{unique}"
    assert state["outputs"]["store_id"] == store_id

    # A second up changes nothing and sends nothing to the emulator or the provider's Create.
    emulator.post("requests/clear")
    again = _run("up", basic, log)
    assert again.ok, again.text
    assert again.counts == {"same": 8}
    assert [e for e in read_log(log) if e["event"] != "create"] == []
    assert len([e for e in read_log(log) if e["event"] == "create"]) == 1
    assert emulator.get("requests")["count"] == 0
    assert "8 unchanged" in again.text


def test_changed_trigger_replaces_exactly_that_resource(basic, log, unique):
    assert _run("up", basic, log).ok
    first_id = by_name(state_of(basic))["job"]["id"]
    write_config(basic, _basic_config(unique, triggers=["2024-06-01"]))
    preview = _run("preview", basic, log)
    assert preview.ok and preview.counts == {"replace": 1, "same": 7}, preview.text
    result = _run("up", basic, log)
    assert result.ok, result.text
    assert result.counts == {"replace": 1, "same": 7}
    assert [s for s in result.steps if s[0] == "replace"][0][1].endswith("::job")
    events = [(e["event"], e.get("id")) for e in read_log(log)]
    new_id = by_name(state_of(basic))["job"]["id"]
    assert new_id != first_id
    assert events == [("create", first_id), ("create", new_id), ("delete", first_id)]  # create new, then delete old
    assert "+-1 replaced" in result.text


def test_removed_resource_is_deleted_on_up(basic, log, unique):
    write_config(basic, _basic_config(unique, with_extra=True))
    assert _run("up", basic, log).counts == {"create": 9}
    write_config(basic, _basic_config(unique, with_extra=False))
    result = _run("up", basic, log)
    assert result.ok, result.text
    assert result.counts == {"delete": 1, "same": 8}
    assert "extra" not in by_name(state_of(basic))
    assert [e["label"] for e in read_log(log) if e["event"] == "delete"] == ["extra"]


def test_destroy_removes_everything_without_the_program(basic, log, unique, emulator, stack):
    assert _run("up", basic, log).ok
    (basic / "__main__.py").unlink()  # destroy works from the state alone
    result = _run("destroy", basic, log)
    assert result.ok, result.text
    assert result.counts == {"delete": 8}
    assert state_of(basic)["resources"] == []
    order = [urn.rsplit("::", 1)[-1] for _, urn in result.steps]
    assert order.index("job") < order.index("bucket-reader") < order.index("store") < order.index("hc-dataset")
    assert [e["label"] for e in read_log(log) if e["event"] == "delete"] == ["job"]
    assert requests.get(f"{stack.storage_url}/storage/v1/b/offline-{unique}", timeout=10).status_code == 404
    assert emulator.get("iam")["grants"] == []


def test_preview_plans_without_applying(basic, log, stack, unique):
    result = _run("preview", basic, log)
    assert result.ok, result.text
    assert result.counts == {"create": 8}
    assert read_log(log) == []
    assert not (basic / ".pulumi-offline" / "dev.json").exists()
    assert requests.get(f"{stack.storage_url}/storage/v1/b/offline-{unique}", timeout=10).status_code == 404


def test_parallel_creates_are_capped_by_the_host_and_by_parallel(tmp_path, log, emulator):
    # "gate": the first creates wait for each other, so that many overlap by construction
    # (at least); the host's pool, or --parallel, is what keeps it from being more.
    program = make_program(tmp_path, "parallel", {"count": 8, "sleep": 0.4, "gate": 4})
    result = _run("up", program, log)
    assert result.ok, result.text
    creates = [e for e in read_log(log) if e["event"] == "create"]
    assert len(creates) == 8
    assert max_overlap(creates) == 4  # the dynamic provider host's 4 gRPC workers, as under the real engine

    log.unlink()
    capped = make_program(tmp_path / "capped", "parallel", {"count": 6, "sleep": 0.3, "gate": 2})
    result = _run("up", capped, log, parallel=2)
    assert result.ok, result.text
    assert max_overlap([e for e in read_log(log) if e["event"] == "create"]) == 2


def test_failed_create_keeps_what_succeeded(tmp_path, log, emulator):
    program = make_program(tmp_path, "parallel", {"count": 3, "fail": "r1"})
    result = _run("up", program, log)
    assert not result.ok
    # The engine shows the provider's gRPC status message as it is: the dynamic host sends the traceback.
    [error] = [e for e in result.errors if "(r1)" in e]
    assert error.startswith("pulumi-python:dynamic/offline:Recorder (r1): Traceback (most recent call last):")
    assert error.rstrip().endswith("RuntimeError: recorder r1: asked to fail (fail_create)"), error
    assert result.errors[-1] == "update failed"
    created = {e["label"] for e in read_log(log) if e["event"] == "create"}
    assert set(by_name(state_of(program))) == created | {"default"} and "r1" not in created
    write_config(program, {"count": 3})
    retry = _run("up", program, log)
    assert retry.ok, retry.text
    # A failure starts no new step (step_executor.go cancelDueToError): the retry creates what was not.
    # How many others were created before r1 failed depends on timing, and none is possible
    # (CI met it): counts holds only the kinds of step that ran, never a zero.
    expected = {"create": 3 - len(created), "same": len(created)}
    assert retry.counts == {kind: n for kind, n in expected.items() if n}


def _cli(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "pulumi_offline", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_unknown_resource_type_fails_naming_it(tmp_path, emulator):
    program = make_program(tmp_path, "unknown", {})
    done = _cli("up", str(program), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "gcp:pubsub/topic:Topic is not supported by pulumi-offline" in output
    assert "Traceback" not in output


def test_check_failures_are_listed_cleanly(tmp_path, emulator):
    program = make_program(tmp_path, "badcheck", {})
    done = _cli("up", "--stack", "dev", str(program), cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    # step_generator.go issueCheckFailures, diag GetResourcePropertyInvalidValueError: the engine's words
    kind = "pulumi-python:dynamic/offline:Recorder"
    assert f"error: {kind} resource 'bad': property fail_check value {{true}} has a problem: must be false, " \
           "got True" in output, output
    assert f"{kind} resource 'bad': property label value {{}} has a problem: is required" in output, output
    assert "error: preview failed" in output and "Updating" not in output, output
    assert "Traceback" not in output
    assert not (program / ".pulumi-offline" / "dev.json").exists()  # up stopped at its preview


def test_cli_config_file_and_stack_option(tmp_path, unique, emulator):
    program = make_program(tmp_path, "basic", {})
    other = tmp_path / "elsewhere.yaml"
    write_config(tmp_path, _basic_config(unique, label="via-file"), stack="x")
    (tmp_path / "Pulumi.x.yaml").rename(other)
    done = _cli("preview", "--stack", "qa", "--config-file", str(other), str(program), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Previewing update (offline-basic/qa)" in done.stdout
    assert "8 to create" in done.stdout
