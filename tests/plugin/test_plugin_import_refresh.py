"""``pulumi import``, the ``import`` resource option and ``pulumi refresh``, as the engine runs them.

Each test replays the engine's calls in its order (pulumi/pulumi
``pkg/resource/deploy/step.go`` ``ImportStep.Apply`` and ``RefreshStep.Apply``,
``step_generator.go`` for what follows an import; docs/plugin.md cites
them) against the real plugin process and the emulator:

* ``pulumi import TYPE NAME ID``: ``Read(ID)`` with no state and no inputs,
  then ``Check(olds=read inputs, news=read inputs)``, whose failures the
  engine prints as warnings blaming the provider;
* the ``import`` option: the same ``Read``, then ``Check(olds=read inputs,
  news=program)`` and ``Diff(olds=read outputs, news=checked inputs)``; a
  replace there is an error, an update runs ``Update``;
* refresh: ``Read(id, state, recorded inputs)``; the inputs it answers are
  recorded.
"""

from __future__ import annotations

import grpc
import pytest

from healthcare_emulator.waiting import poll
from support.plugin import EXPORT_TYPE, plain, running, secret
from support.workspace import Workspace

pytestmark = pytest.mark.slow


def _job(env: Workspace, count: int = 2, **extra) -> dict:
    """Upload ``count`` instances; the program's inputs of a job importing them."""
    env.upload_synthetic("in", count)
    return {"dicomStore": env.store, "gcsSource": {"uri": env.gs("in/**.dcm")}, **extra}


def _import_id(operation: str, env: Workspace, uri: str, extra: str = "") -> str:
    return f"{operation}?dicomStore={env.store_id}&gcsSource.uri={uri}{extra}"


def _created(process, program: dict) -> str:
    return process.create(program).id


def test_pulumi_import_checks_clean_and_the_next_up_runs_nothing(plugin, env: Workspace) -> None:
    _engine, process = plugin
    program = _job(env, maxFailedInstances=1)
    operation = _created(process, program)
    before = env.request_count()
    read = process.read(_import_id(operation, env, env.gs("in/**.dcm"), "&maxFailedInstances=1"))
    ins, outs = plain(read.inputs), plain(read.properties)
    assert read.id == operation
    assert ins == program, "the inputs the program would give"
    assert (outs["operationName"], outs["successCount"], outs["failureCount"]) == (operation, 2, 0)
    assert outs["apiMethodName"].endswith("ImportDicomData") and outs["createTime"] and outs["endTime"]
    checked = process.check(ins, olds=ins)
    assert list(checked.failures) == [], "the engine would warn: 'almost certainly a bug in the provider'"
    # the next `pulumi up`, with the program `pulumi import` wrote
    checked = process.check(program, olds=ins)
    diff = process.diff(outs, plain(checked.inputs), id_=read.id, old_inputs=ins)
    assert diff.changes == diff.DIFF_NONE, diff
    assert [op["name"] for op in env.operations()] == [operation], "nothing started"
    assert env.request_count() == before + 1, "one GET of the operation"


def test_the_import_option_matches_the_program_and_an_in_place_setting_only_updates(plugin, env: Workspace) -> None:
    _engine, process = plugin
    program = _job(env)
    operation = _created(process, program)
    read = process.read(_import_id(operation, env, env.gs("in/**.dcm")))
    ins, outs = plain(read.inputs), plain(read.properties)
    checked = plain(process.check(program, olds=ins).inputs)
    assert process.diff(outs, checked, id_=read.id, old_inputs=ins).changes == 1  # DIFF_NONE
    longer = {**program, "timeoutSeconds": 7200}
    diff = process.diff(outs, plain(process.check(longer, olds=ins).inputs), id_=read.id, old_inputs=ins)
    assert list(diff.replaces) == [] and "timeoutSeconds" in diff.diffs, "an update, which runs no job"
    updated = plain(process.update(outs, longer).properties)
    assert updated["timeoutSeconds"] == 7200 and updated["operationName"] == operation
    other = {**program, "gcsSource": {"uri": env.gs("other/**.dcm")}}
    diff = process.diff(outs, plain(process.check(other, olds=ins).inputs), id_=read.id, old_inputs=ins)
    assert list(diff.replaces) == ["gcsSource"], "the engine refuses to replace a resource it imports"


def test_refresh_keeps_the_recorded_inputs(plugin, env: Workspace) -> None:
    _engine, process = plugin
    program = _job(env, timeoutSeconds=600)
    created = process.create(program)
    outs = plain(created.properties)
    refreshed = process.read(created.id, outs, inputs=program)
    assert plain(refreshed.inputs) == program
    assert plain(refreshed.properties)["successCount"] == 2
    # a state whose outputs lack the inputs (an import by the operation's name alone, older plugins)
    outputs_only = {k: v for k, v in outs.items() if k not in program}
    refreshed = process.read(created.id, outputs_only, inputs=program)
    assert plain(refreshed.inputs) == program, "refresh must not record {} as the inputs"


def test_an_import_id_without_what_the_api_cannot_tell_is_refused_with_the_form(plugin, env: Workspace) -> None:
    _engine, process = plugin
    operation = _created(process, _job(env))
    for id_ in (operation, f"{operation}?dicomStore={env.store_id}&gcsSource.url=gs://b/x",
                f"operations/1?dicomStore={env.store_id}"):
        with pytest.raises(grpc.RpcError) as refused:
            process.read(id_)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "import id" in refused.value.details(), refused.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        process.read(f"{operation}?dicomStore={env.store_id}")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "gcs_source" in refused.value.details()


def test_an_operation_the_id_does_not_describe_is_not_imported(plugin, env: Workspace) -> None:
    _engine, process = plugin
    operation = _created(process, _job(env))
    cases = {
        # an import's operation named as an export
        (f"{operation}?dicomStore={env.store_id}&gcsDestination.uriPrefix={env.gs('out')}", EXPORT_TYPE):
            (grpc.StatusCode.INVALID_ARGUMENT, "ran a DICOM import job"),
        (_import_id(f"{operation}0", env, env.gs("in/**.dcm")), None): (grpc.StatusCode.NOT_FOUND, "not known"),
    }
    for (id_, type_), (code, words) in cases.items():
        with pytest.raises(grpc.RpcError) as refused:
            process.read(id_, **({"type_": type_} if type_ else {}))
        assert refused.value.code() == code and words in refused.value.details(), refused.value.details()


def test_a_running_operation_is_imported_once_it_has_ended(stack, env: Workspace) -> None:
    """Ctrl-C with ``cancelOnInterrupt: false`` names the import id to use after ``dicom-jobs wait``."""
    for engine, process in running():
        process.configure(cancelOnInterrupt=False)
        program = _job(env, count=6)
        env.slow(2.0)  # running for 12 s: past the cancel and the refused import on a loaded machine
        future = process.create_future({**program, "triggers": secret("rotate-77")})
        [running_op] = poll(lambda: [op["name"] for op in env.operations()], deadline_s=30,
                            what="the operation to start")
        process.cancel()
        with pytest.raises(grpc.RpcError) as interrupted:
            future.result(timeout=60)
        text = interrupted.value.details()
        assert "rotate-77" not in text and "add the secret triggers to that id" in text, text
        command = next(line for line in text.splitlines() if "pulumi import " in line)
        id_ = command.split("'")[1]
        assert id_.startswith(f"{running_op}?"), command
        with pytest.raises(grpc.RpcError) as refused:
            process.read(id_)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "still running" in refused.value.details() and f"dicom-jobs wait {running_op}" in \
            refused.value.details()
        env.slow(0.0)  # now let it end (the pace is read per instance)
        env.wait_done(running_op, deadline_s=60)
        read = process.read(id_)
        assert plain(read.inputs) == program and plain(read.properties)["successCount"] == 6
        assert list(process.check(plain(read.inputs), olds=plain(read.inputs)).failures) == []

