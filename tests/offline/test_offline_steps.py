"""How the offline engine decides and applies steps, call by call, as the engine's step generator does.

The recording plugin (tests/offline/plugins/recorder) logs every call as it
arrives; docs/offline-engine.md's table names the pulumi/pulumi file and
function each test follows.
"""

from __future__ import annotations

from pulumi_offline.property_path import parse, reset_ignored
from pulumi_offline.step_executor import schedule_deletes
from pulumi_offline.state import ResourceState
from recorder_support import calls, recorder_env, run_things, secret, sequence, set_things, things_program
from support.programs import by_name, state_of


def _thing(name: str, **props) -> dict:
    return {"name": name, "props": {"label": "x", **props}}


def test_ignore_changes_puts_the_old_values_back_before_check_and_diff(tmp_path):
    # step_generator.go continueStepsFromImport: processIgnoreChanges before Check; diffResource
    things = [{**_thing("a", label="old", opts={"x": 1, "y": 1}), "ignore_changes": ["label", "opts.x"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    things[0]["props"] = {"label": "new", "opts": {"x": 2, "y": 1}}
    set_things(program, things)
    result = run_things("up", program, env, skip_preview=True)
    assert result.ok and result.counts == {"same": 1}, result.text
    check, diff = calls(env, "Check")[-1], calls(env, "Diff")[-1]
    assert check["news"]["label"] == "old" and check["news"]["opts"] == {"x": 1, "y": 1}
    assert diff["news"]["label"] == "old" and diff["ignoreChanges"] == ["label", "opts.x"]
    assert calls(env, "Update") == [] and len(calls(env, "Create")) == 1
    assert by_name(state_of(program))["a"]["inputs"]["label"] == "old"
    # A change that is not ignored updates, still with the ignored property's old value.
    things[0]["props"] = {"label": "newer", "opts": {"x": 3, "y": 2}}
    set_things(program, things)
    assert run_things("up", program, env, skip_preview=True).counts == {"update": 1}
    [update] = calls(env, "Update")
    assert update["news"]["label"] == "old" and update["news"]["opts"] == {"x": 1, "y": 2}


def test_a_replace_rechecks_the_programs_inputs_without_olds(tmp_path):
    # step_generator.go continueStepsFromDiff: "we need to recompute the default values"
    things = [{**_thing("a", label="old", trigger=1), "ignore_changes": ["label"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    things[0]["props"] = {"label": "new", "trigger": 2}
    set_things(program, things)
    assert run_things("up", program, env, skip_preview=True).counts == {"replace": 1}
    checks = calls(env, "Check")
    assert checks[-2]["olds"]["label"] == "old" and checks[-2]["news"]["label"] == "old"  # the diff's Check
    assert checks[-1]["olds"] == {} and checks[-1]["news"]["label"] == "new"  # the replace's
    assert calls(env, "Create")[-1]["properties"]["label"] == "new"


def test_create_before_delete_leaves_the_old_copy_for_the_end_of_the_run(tmp_path):
    # step_generator.go continueStepsFromDiff: the delete of the replaced copy is generated with the deletes
    things = [_thing("a", trigger=1), {**_thing("b", after="a"), "depends_on": ["a"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    old_id = by_name(state_of(program))["a"]["id"]
    things[0]["props"]["trigger"] = 2
    things[1]["props"]["after"] = "a2"
    set_things(program, things)
    result = run_things("up", program, env, skip_preview=True)
    assert result.ok and result.counts == {"replace": 1, "update": 1}, result.text
    second_run = sequence(env)[sequence(env).index("SIGINT") + 1:]
    assert second_run == ["CheckConfig", "DiffConfig", "Configure", "Check a", "Diff a", "Check a", "Create a",
                          "Check b", "Diff b", "Update b", "Delete a", "Cancel", "SIGINT"]
    assert calls(env, "Delete")[-1]["id"] == old_id
    assert [r["id"] for r in state_of(program)["resources"] if r["urn"].endswith("::a")] != [old_id]


def test_retain_on_delete_is_honoured_on_a_replace(tmp_path):
    # step.go DeleteStep.Apply: RetainOnDelete skips the provider's Delete, replacing or not
    for dbr in (False, True):
        folder = tmp_path / f"dbr-{dbr}"
        things = [{**_thing("a", trigger=1), "retain_on_delete": True, "delete_before_replace": dbr}]
        program = things_program(folder, things)
        env = recorder_env(folder)
        assert run_things("up", program, env, skip_preview=True).ok
        things[0]["props"]["trigger"] = 2
        set_things(program, things)
        result = run_things("up", program, env, skip_preview=True)
        assert result.ok and result.counts == {"replace": 1}, result.text
        assert calls(env, "Delete") == [], dbr
        assert len(calls(env, "Create")) == 2
        assert [r["urn"].rsplit("::", 1)[-1] for r in state_of(program)["resources"]] == ["default", "a"]


def test_secrets_reach_a_plugin_that_accepts_them_as_secrets(tmp_path):
    # provider_plugin.go: KeepSecrets = the ConfigureResponse's acceptSecrets; else annotateSecrets
    things = [{**_thing("a", token="s3cr3t"), "secret": ["token"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path / "accepts", RECORDER_ACCEPT_SECRETS="1")
    (tmp_path / "accepts").mkdir()
    assert run_things("up", program, env, skip_preview=True).ok
    assert calls(env, "Check")[-1]["news"]["token"] == secret("s3cr3t")
    assert calls(env, "Create")[-1]["properties"]["token"] == secret("s3cr3t")
    assert calls(env, "Configure")[-1]["acceptSecrets"] is True
    # A plugin that does not accept them gets plain values; the output is marked secret all the same.
    program = things_program(tmp_path / "plain", things)
    env = recorder_env(tmp_path / "plain")
    assert run_things("up", program, env, skip_preview=True).ok
    assert calls(env, "Create")[-1]["properties"]["token"] == "s3cr3t"
    assert by_name(state_of(program))["a"]["outputs"]["token"] == secret("s3cr3t")


def test_a_plugin_that_supports_previews_is_asked_in_a_preview(tmp_path):
    # provider_plugin.go Create: Preview and supportsPreview -> the plugin is called with preview set
    program = things_program(tmp_path, [_thing("a")])
    env = recorder_env(tmp_path, RECORDER_SUPPORTS_PREVIEW="1")
    assert run_things("preview", program, env).ok
    [create] = calls(env, "Create")
    assert create["preview"] is True
    env = recorder_env(tmp_path / "not", RECORDER_SUPPORTS_PREVIEW="0")
    (tmp_path / "not").mkdir()
    assert run_things("preview", program, env).ok
    assert calls(env, "Create") == []


def test_deletes_run_in_antichains_in_parallel_and_a_failure_stops_the_next_ones(tmp_path):
    # step_generator.go ScheduleDeletes; deployment_executor.go performPostSteps; cancelDueToError
    things = [_thing("base"), {**_thing("left", delete_gate=2), "depends_on": ["base"]},
              {**_thing("right", delete_gate=2, fail_delete="no"), "depends_on": ["base"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    result = run_things("destroy", program, env, skip_preview=True)
    assert not result.ok and "recorder:index:Thing (right): no" in result.errors, result.errors
    deletes = [c["urn"].rsplit("::", 1)[-1] for c in calls(env, "Delete")]
    assert sorted(deletes) == ["left", "right"]  # both at once (each waited for the other), never "base"
    assert set(by_name(state_of(program))) == {"default", "base", "right"}


def test_schedule_deletes_orders_dependents_first_and_components_stand_for_their_children():
    def res(name, deps=(), parent="", custom=True):
        return ResourceState(urn=f"u::{name}", type="t", dependencies=[f"u::{d}" for d in deps],
                             parent=f"u::{parent}" if parent else "", custom=custom)
    comp, child = res("comp", custom=False), res("child", parent="comp")
    user = res("user", deps=["comp"])  # depending on a component: on its children saved before it
    lone = res("lone")
    saved = [comp, child, user, lone]
    chains = [[r.urn.split("::")[1] for r in chain] for chain in schedule_deletes(saved, saved)]
    assert chains == [["user"], ["child"], ["comp", "lone"]]


def test_property_paths_reset_as_the_engine_resets_them():
    assert parse('a.b[0]["c.d"]') == ["a", "b", 0, "c.d"] and parse("x[*]") == ["x", "*"]
    assert reset_ignored({"a": 2, "b": 1}, {"a": 1}, ["a"]) == ({"a": 1, "b": 1}, [])
    assert reset_ignored({"a": 2}, {}, ["a"]) == ({}, [])  # absent in old: removed from new
    assert reset_ignored({"l": [1, 2, 3]}, {"l": [1, 2]}, ["l[2]"]) == ({"l": [1, 2, 3]}, ["l[2]"])
    assert reset_ignored({"m": {"x": 2, "y": 2}}, {"m": {"x": 1, "y": 1}}, ["m.*"]) == ({"m": {"x": 1, "y": 1}}, [])
    assert reset_ignored({"s": "new"}, {"s": secret("old")}, ["s"]) == ({"s": secret("old")}, [])


def test_replace_on_changes_replaces_on_the_changed_keys_the_provider_names(tmp_path):
    # step_generator.go applyReplaceOnChanges: the provider's ChangedKeys under a replaceOnChanges path
    things = [{**_thing("a", label="one"), "replace_on_changes": ["label"]},
              {**_thing("b", label="one", unnamed_diffs=True), "replace_on_changes": ["label"]}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    for thing in things:
        thing["props"]["label"] = "two"
    set_things(program, things)
    result = run_things("up", program, env, skip_preview=True)
    # b's Diff says DIFF_SOME but names no key (as the SDK's dynamic host does): the engine updates it
    assert result.ok and result.counts == {"replace": 1, "update": 1}, result.text
    assert ("replace", "urn:pulumi:dev::offline-things::recorder:index:Thing::a") in result.steps


def test_a_protected_resource_is_not_replaced(tmp_path):
    # step_generator.go continueStepsFromDiff: "unable to replace resource"
    things = [{**_thing("a", trigger=1), "protect": True}]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    urn = by_name(state_of(program))["a"]["urn"]
    things[0]["props"]["trigger"] = 2
    set_things(program, things)
    result = run_things("up", program, env)
    assert not result.ok and result.errors[-1] == "preview failed", result.errors
    assert result.errors[0] == (f'recorder:index:Thing (a): unable to replace resource "{urn}"\nas it is currently '
                                "marked for protection. To unprotect the resource, remove the `protect` flag from the "
                                "resource in your Pulumi program and run `pulumi up`")
    assert len(calls(env, "Create")) == 1


def test_a_replaced_default_provider_replaces_its_resources(tmp_path):
    # registry.go Diff: DiffConfig says replace -> a new provider id; step_generator.go providerChanged
    program = things_program(tmp_path, [_thing("a")], config={"recorder:replace_key": "1"})
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    first = by_name(state_of(program))["default"]["id"]
    set_things(program, [_thing("a")], **{"recorder:replace_key": "2"})
    result = run_things("up", program, env, skip_preview=True)
    assert result.ok and result.counts == {"replace": 1}, result.text
    saved = by_name(state_of(program))
    assert saved["default"]["id"] != first and saved["a"]["provider_ref"].endswith(saved["default"]["id"])
    assert len(calls(env, "Create")) == 2 and len(calls(env, "Delete")) == 1
