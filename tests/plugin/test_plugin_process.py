"""The plugin as the engine runs it: a subprocess driven over gRPC against the local emulator.

No HTTP is mocked: the plugin process talks to the stack's Healthcare and
Cloud Storage emulators; the tests talk to the plugin only through its
``ResourceProvider`` service and read the engine's ``Log`` calls it made.
"""

from __future__ import annotations

import re
import signal
from importlib import metadata

import grpc
import pytest

from healthcare_emulator.waiting import poll
from support.plugin import EXPORT_TYPE, IMPORT_TYPE, plain, running, secret, urn
from support.data import synthetic
from support.workspace import Workspace
from pulumi_dicom_jobs import request_body


pytestmark = pytest.mark.slow


def _import_props(env: Workspace, **extra) -> dict:
    return {"dicomStore": env.store, "gcsSource": {"uri": f"gs://{env.bucket.name}/in/**.dcm"}, **extra}


def _upload(env: Workspace, count: int) -> None:
    for index, data in enumerate(synthetic(count)):
        env.upload(f"in/{index}.dcm", data)


def _running_operation(env: Workspace) -> str:
    """The name of this test's one import operation, once it has started."""
    return poll(lambda: [op["name"] for op in env.operations()][:1], deadline_s=30,
                what="the import operation to start")[0]


def _interrupt_a_long_create(process, env: Workspace) -> tuple[str, str]:
    """Start a long import, send Cancel once it runs: ``(operation name, the create's error)``."""
    _upload(env, 20)
    env.admin.post("config", {"instanceDelaySeconds": 3.0})
    future = process.create_future(_import_props(env))
    name = _running_operation(env)
    process.cancel()
    with pytest.raises(grpc.RpcError) as failed:
        future.result(timeout=30)
    return name, failed.value.details()


def test_plugin_info_and_check_failures_in_camel_case(plugin) -> None:
    _engine, process = plugin
    assert process.plugin_info().version == metadata.version("pulumi-dicom-jobs")
    bad = process.check({"dicomStore": "not-a-store", "gcsSource": {"uri": "http://x"},
                         "blobStorageSettings": {"blobStorageClass": "HOT"}, "maxFailedInstances": -1})
    paths = {failure.property for failure in bad.failures}
    assert {"dicomStore", "gcsSource.uri", "blobStorageSettings.blobStorageClass",
            "maxFailedInstances"} <= paths, bad.failures
    export = process.check({"dicomStore": "projects/p/locations/l/datasets/d/dicomStores/s"}, EXPORT_TYPE)
    assert export.failures, "an export without a destination must fail check"


def test_a_v1beta1_export_to_another_projects_dataset_fails_check(plugin) -> None:
    """Issue 25, item 3: the same-project rule of v1beta1 reaches the engine as a Check failure on
    the field, naming the rule and the version; v1 keeps cross-project exports."""
    _engine, process = plugin
    props = {"dicomStore": "projects/p/locations/l/datasets/d/dicomStores/s",
             "bigqueryDestination": {"tableUri": "bq://other-project.ds.t"}}
    [failure] = process.check({**props, "apiVersion": "v1beta1"}, EXPORT_TYPE).failures
    assert failure.property == "bigqueryDestination.tableUri"
    assert "v1beta1 exports only to a BigQuery dataset in the DICOM store's project (p)" in failure.reason
    assert list(process.check({**props, "apiVersion": "v1"}, EXPORT_TYPE).failures) == []


def test_unknown_values_at_preview_are_not_judged(plugin) -> None:
    _engine, process = plugin
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    result = process.check({"dicomStore": unknown, "gcsSource": {"uri": unknown}})
    assert list(result.failures) == []
    diff = process.diff({"dicomStore": "a", "gcsSource": {"uri": "gs://b/x.dcm"}, "operationName": "op"},
                        {"dicomStore": unknown, "gcsSource": {"uri": "gs://b/x.dcm"}})
    assert list(diff.replaces) == ["dicomStore"]


def test_diff_splits_replace_and_update_like_the_dynamic_provider(plugin) -> None:
    _engine, process = plugin
    old = {"dicomStore": "s", "gcsSource": {"uri": "gs://b/x.dcm"}, "timeoutSeconds": 60,
           "operationName": "op", "successCount": 1}
    same = process.diff(old, {"dicomStore": "s", "gcsSource": {"uri": "gs://b/x.dcm"}, "timeoutSeconds": 60})
    assert same.changes == same.DIFF_NONE
    update = process.diff(old, {"dicomStore": "s", "gcsSource": {"uri": "gs://b/x.dcm"}, "timeoutSeconds": 90})
    assert update.changes == update.DIFF_SOME and list(update.replaces) == []
    assert "timeoutSeconds" in update.detailedDiff
    replace = process.diff(old, {"dicomStore": "s", "gcsSource": {"uri": "gs://b/y.dcm"}, "timeoutSeconds": 60})
    assert list(replace.replaces) == ["gcsSource"]


def test_create_sends_the_same_body_and_returns_camel_case_outputs(plugin, env: Workspace) -> None:
    engine, process = plugin
    _upload(env, 3)
    props = _import_props(env, blobStorageSettings={"blobStorageClass": "ARCHIVE"}, timeoutSeconds=60,
                          triggers=["v1"])
    created = process.create(props)
    outs = plain(created.properties)
    assert created.id == outs["operationName"] and "/operations/" in created.id
    assert (outs["successCount"], outs["failureCount"]) == (3, 0)
    assert outs["apiMethodName"].endswith("DicomService.ImportDicomData")
    assert outs["gcsSource"] == props["gcsSource"] and outs["triggers"] == ["v1"]
    assert outs["blobStorageSettings"] == {"blobStorageClass": "ARCHIVE"}
    [operation] = env.operations()
    assert operation["request"] == request_body.build_import_body(
        {"gcs_source": {"uri": props["gcsSource"]["uri"]},
         "blob_storage_settings": {"blob_storage_class": "ARCHIVE"}})
    assert all(log.ephemeral for log in engine.messages()), "only ephemeral status reaches the engine"


def test_progress_is_ephemeral_on_the_urn_and_follows_the_counters(plugin, env: Workspace) -> None:
    engine, process = plugin
    _upload(env, 20)
    # 4 s of work whose counters change every 0.2 s: near its end the waiter polls 0.3-0.6 s
    # apart, so a message for each poll with new counters would come closer than a second
    env.admin.post("config", {"instanceDelaySeconds": 0.2})
    process.create(_import_props(env), name="progress")
    logs = engine.messages(urn(IMPORT_TYPE, "progress"))
    assert len(logs) >= 3, [log.message for log in engine.messages()]
    assert all(log.ephemeral and log.severity == 1 for log in logs)  # INFO
    texts = [log.message for log in logs]
    assert len(set(texts)) == len(texts), "a message is sent only when the counters change"
    done = [int(re.search(r": (\d+)/\S+ done", text).group(1)) for text in texts]
    assert all("/20 done" in text for text in texts[1:]) and done == sorted(done) and done[-1] > 0, texts
    # (the 20/20 snapshot may come within a second of the one before: then it is
    # rightly not sent, since the create's own completion replaces the status)
    assert any("ETA" in text for text in texts) and any("/s" in text for text in texts), texts
    assert engine.messages() == logs, "nothing else reached the engine's log"
    # At most one message a second, as sent (test_plugin_units holds the rule on a fake clock);
    # seen here as arrivals, which add each Log call's delivery: a loaded machine can deliver one
    # late and the next at once (the first also opens the channel), so 0.3 s of that is allowed.
    # Unthrottled, messages would follow this job's polls near its end (see above).
    gaps = [later - earlier for earlier, later in zip(engine.arrivals, engine.arrivals[1:])]
    assert min(gaps) >= 0.7, f"at most one message a second, got gaps {gaps}"


def test_a_restart_while_a_grant_propagates_is_a_warning_on_the_urn(plugin, ungranted_env: Workspace) -> None:
    """A second operation never appears without its reason: the plugin says each restart as it
    happens, a kept WARNING on the resource (the CLI's line, in the same words)."""
    engine, process = plugin
    env = ungranted_env
    _upload(env, 2)
    # the grant propagates once the first start was denied (a fixed delay races the create)
    env.admin.post("config", {"grantPropagationSeconds": 3600.0})
    env.admin.grant_agent(buckets=[env.bucket.name])
    future = process.create_future(_import_props(env), name="late-grant")
    denied = env.propagate_grants_once_denied()
    outs = plain(future.result(timeout=120).properties)
    assert outs["successCount"] == 2
    names = [operation["name"] for operation in env.operations()]
    assert names[0] == denied and len(names) >= 2 and names[-1] == outs["operationName"], names
    warnings = [log for log in engine.messages(urn(IMPORT_TYPE, "late-grant")) if not log.ephemeral]
    assert [log.message for log in warnings] == [
        "Permission denied (an IAM grant may still be propagating; docs/real-gcp.md#the-permission-retry), "
        f"started another import operation {name}" for name in names[1:]]
    assert all(log.severity == 2 for log in warnings)  # WARNING


def test_cancel_stops_a_long_create_and_cancels_its_operation(plugin, env: Workspace) -> None:
    _engine, process = plugin
    _upload(env, 20)
    env.admin.post("config", {"instanceDelaySeconds": 3.0})
    future = process.create_future(_import_props(env))
    name = _running_operation(env)
    poll(lambda: "ETA" in " ".join(log.message for log in _engine.messages()), deadline_s=30,
         what="the create to be waiting")
    process.cancel()
    with pytest.raises(grpc.RpcError) as failed:
        future.result(timeout=30)
    text = failed.value.details()
    assert name in text and "interrupted" in text and "cancelled" in text, text
    assert "success=" in text and "next run starts the job again" in text, text
    operation = poll(lambda: [op for op in env.operations() if op["done"]], deadline_s=30,
                     what="the operation to end")[0]
    assert operation["name"] == name
    # stopped by the cancel, not by the end of the work: 20 instances at 3 s each
    # would take a minute; the operation ends CANCELLED with instances left over
    ended = env.wait_done(name)
    assert ended["error"]["code"] == 1, ended
    assert int(ended["metadata"]["counter"].get("success", 0)) < 20, ended


def test_cancel_with_cancel_on_interrupt_false_leaves_it_running(stack, env: Workspace) -> None:
    for _engine, process in running():
        process.configure(cancelOnInterrupt=False)
        name, text = _interrupt_a_long_create(process, env)
        assert name in text and "left running" in text and f"dicom-jobs wait {name}" in text, text
        [operation] = env.operations()
        assert not operation["done"], "the operation must still be running"


def test_request_timeout_caps_the_wait(plugin, env: Workspace) -> None:
    _engine, process = plugin
    _upload(env, 20)
    env.admin.post("config", {"instanceDelaySeconds": 3.0})
    with pytest.raises(grpc.RpcError) as failed:
        process.create(_import_props(env, timeoutSeconds=3600), timeout=2)
    # the engine's customTimeouts (2 s), not the input's hour, is the budget the failure names
    assert "did not finish within timeout_seconds=2;" in failed.value.details(), failed.value.details()


def test_read_update_and_delete_touch_no_data(plugin, env: Workspace) -> None:
    _engine, process = plugin
    _upload(env, 2)
    created = process.create(_import_props(env))
    state = plain(created.properties)
    read = process.read(created.id, state)
    assert read.id == created.id and plain(read.properties)["successCount"] == 2
    assert plain(read.inputs) == {"dicomStore": env.store, "gcsSource": state["gcsSource"]}
    updated = plain(process.update(state, {**_import_props(env), "timeoutSeconds": 90}).properties)
    assert updated["timeoutSeconds"] == 90 and updated["operationName"] == created.id
    before = env.request_count()
    process.delete(created.id, state)
    assert env.request_count() == before, "delete must not call the API"
    env.admin.post("operations/forget", {"name": created.id})
    kept = plain(process.read(created.id, state).properties)
    assert kept["successCount"] == 2, "a forgotten operation keeps the recorded state"


def test_a_secret_input_stays_secret_in_the_outputs(plugin, env: Workspace) -> None:
    _engine, process = plugin
    _upload(env, 1)
    hidden = secret("rotate-2026")
    created = plain(process.create(_import_props(env, triggers=hidden)).properties)
    assert created["triggers"] == hidden, created["triggers"]
    assert "rotate-2026" not in str({k: v for k, v in created.items() if k != "triggers"})


def test_provider_config_is_checked_and_read_from_the_environment(stack, env: Workspace) -> None:
    for _engine, process in running({"DICOM_JOBS_CANCEL_ON_INTERRUPT": "false"}):
        bad = process.check_config(apiEndpoint="ftp://x", cancelOnInterrupt="maybe", nope=1)
        assert {f.property for f in bad.failures} == {"apiEndpoint", "cancelOnInterrupt", "nope"}
        good = process.check_config(apiEndpoint="https://healthcare.googleapis.com",
                                    impersonateServiceAccount="sa@p.iam.gserviceaccount.com")
        assert list(good.failures) == []
        process.configure()
        name, text = _interrupt_a_long_create(process, env)
        assert "left running" in text and name in text, text


def test_engine_flags_flowed_by_the_cli_leave_progress_going_to_the_engine(stack, env: Workspace) -> None:
    """``--logtostderr -v=9 --tracing ENDPOINT ENGINE``: progress reaches ENGINE, not the tracing
    endpoint, and ``-v`` logs each call to stderr (shown by the engine at its debug level)."""
    _upload(env, 4)
    env.admin.post("config", {"instanceDelaySeconds": 0.3})
    flags = ["--logtostderr", "-v=9", "--tracing", "127.0.0.1:1"]
    for engine, process in running(flags=flags):
        process.configure()
        process.create(_import_props(env), name="flagged")
        assert engine.messages(urn(IMPORT_TYPE, "flagged")), "no progress reached the engine"
        assert any(f"Create {urn(IMPORT_TYPE, 'flagged')}" in line for line in process.stderr), process.stderr


def _signal_waiting_creates(process, engine, env: Workspace, signum: int, names: list[str]) -> dict[str, str]:
    """Start a long import per name, send ``signum`` to the plugin process once all wait:
    ``{operation name: the create's failure}``; the process must then exit by itself."""
    _upload(env, 20)
    env.admin.post("config", {"instanceDelaySeconds": 3.0})
    futures = [process.create_future(_import_props(env), name=name) for name in names]
    poll(lambda: all(any("ETA" in log.message for log in engine.messages(urn(IMPORT_TYPE, name))) for name in names),
         deadline_s=60, what="every create to be waiting")
    operations = {op["name"] for op in env.operations()}
    assert len(operations) == len(names)
    process.proc.send_signal(signum)
    failures = []
    for future in futures:
        with pytest.raises(grpc.RpcError) as failed:
            future.result(timeout=60)
        assert failed.value.code() == grpc.StatusCode.CANCELLED, failed.value
        failures.append(failed.value.details())
    poll(lambda: process.proc.poll() is not None, deadline_s=60, what="the plugin process to exit")
    assert process.proc.returncode == 0, process.stderr
    by_operation = {name: text for name in operations for text in failures if name in text}
    assert set(by_operation) == operations, ("each failure names its own operation", failures)
    return by_operation


def test_sigint_to_the_plugin_acts_as_cancel_then_the_process_exits(stack, env: Workspace) -> None:
    for engine, process in running():
        process.configure()
        failures = _signal_waiting_creates(process, engine, env, signal.SIGINT, ["first", "second"])
        for name, text in failures.items():
            assert "interrupted" in text and "cancelled" in text, text
        poll(lambda: all(op["done"] for op in env.operations()), deadline_s=30, what="the operations to end")
        assert [env.operation(name)["error"]["code"] for name in failures] == [1, 1], "both cancelled"
        assert any("SIGINT" in line for line in process.stderr), process.stderr


def test_sigterm_with_cancel_on_interrupt_false_leaves_the_operation_running_and_names_it(
        stack, env: Workspace) -> None:
    for engine, process in running():
        process.configure(cancelOnInterrupt=False)
        [(name, text)] = _signal_waiting_creates(process, engine, env, signal.SIGTERM, ["only"]).items()
        assert "left running" in text and f"dicom-jobs wait {name}" in text, text
        [operation] = env.operations()
        assert not operation["done"], "the operation must still be running"
