"""The calls the offline engine makes on a provider plugin, in order and as sent, as the engine makes them.

Each test runs ``recorder:index:Thing`` resources on the recording test
plugin (tests/offline/plugins/recorder) and reads its log; the pulumi/pulumi
file and function each assertion follows is in docs/offline-engine.md's table.
"""

from __future__ import annotations

import os
import sys

import pytest
import yaml

from pulumi_offline.engine import default_parallel, run
from pulumi_offline.program import ProjectError
from recorder_support import (binary_plugin, calls, recorder_env, run_things, sequence, set_plugin_path, set_things,
                              source_plugin, things_program)
from support.programs import by_name, most_at_once, state_of


def test_any_package_not_emulated_goes_to_its_plugin(tmp_path):
    # registry.go loadProvider: every package has a plugin, not only dicom-jobs
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}])
    env = recorder_env(tmp_path)
    result = run_things("up", program, env)
    assert result.ok, result.text
    assert [c["properties"]["label"] for c in calls(env, "Create")] == ["x"]


def test_up_previews_then_updates_each_with_its_plugin_process_cancelled_and_interrupted_at_the_end(tmp_path):
    # apply.go PreviewThenPromptThenExecute; registry.go Check/Create (CheckConfig, Configure);
    # host.go Close: Cancel, then plugin.go Close: SIGINT to the plugin's process group
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}], config={"recorder:flavour": "x"})
    env = recorder_env(tmp_path)
    assert run_things("up", program, env).ok
    assert sequence(env) == ["CheckConfig", "Configure", "Check a", "Cancel", "SIGINT",  # the preview
                             "CheckConfig", "Configure", "Check a", "Create a", "Cancel", "SIGINT"]
    [preview_start, update_start] = calls(env, "start")
    assert preview_start["pid"] != update_start["pid"]  # each run starts its own plugin
    for start in (preview_start, update_start):
        assert start["pgid"] == start["pid"] != os.getpgid(0)  # a process group of its own
        assert start["project"] == "offline-things" and start["config"] == '{"flavour": "x"}'
    assert [c["olds"] for c in calls(env, "CheckConfig")] == [{}, {}]
    [preview_cfg, update_cfg] = calls(env, "Configure")
    assert preview_cfg["id"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # unknown in a preview
    assert update_cfg["args"] == {"flavour": "x"} and update_cfg["variables"] == {"recorder:config:flavour": "x"}
    provider = by_name(state_of(program))["default"]
    assert provider["type"] == "pulumi:providers:recorder" and provider["id"] == update_cfg["id"]
    assert by_name(state_of(program))["a"]["provider_ref"] == f"{provider['urn']}::{provider['id']}"


def test_the_saved_provider_config_is_checked_and_diffed_from_the_second_run(tmp_path):
    # registry.go Check (CheckConfig with the old inputs), Diff (DiffConfig), Update/Same (Configure, same id)
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}], config={"recorder:flavour": "x"})
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    first_id = calls(env, "Configure")[-1]["id"]
    set_things(program, [{"name": "a", "props": {"label": "x"}}], **{"recorder:flavour": "y"})
    assert run_things("up", program, env, skip_preview=True).ok
    assert sequence(env)[6:] == ["CheckConfig", "DiffConfig", "Configure", "Check a", "Diff a", "Cancel", "SIGINT"]
    [diff] = calls(env, "DiffConfig")
    assert diff["old_inputs"] == {"flavour": "x"} and diff["news"] == {"flavour": "y"}
    assert calls(env, "CheckConfig")[-1]["olds"] == {"flavour": "x"}
    assert calls(env, "Configure")[-1]["id"] == first_id  # updated in place, not replaced
    assert by_name(state_of(program))["default"]["inputs"] == {"flavour": "y"}


def test_destroy_configures_the_provider_from_the_state_not_the_current_config(tmp_path):
    # registry.go Same: a provider loaded from the state is configured with its saved inputs
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}], config={"recorder:flavour": "x"})
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    set_things(program, [], **{"recorder:flavour": "changed"})
    result = run_things("destroy", program, env, skip_preview=True)
    assert result.ok, result.text
    configure = calls(env, "Configure")[-1]
    assert configure["args"] == {"flavour": "x"}
    assert [c["event"] for c in calls(env)][-4:] == ["Configure", "Delete", "Cancel", "SIGINT"]
    assert state_of(program)["resources"] == []  # the provider went with its last resource


def test_a_failed_check_stops_up_at_its_preview_before_anything_is_created(tmp_path):
    # apply.go PreviewThenPromptThenExecute: an error in the preview ends the command
    things = [{"name": f"ok{i}", "props": {"label": "x"}} for i in range(3)]
    things.append({"name": "bad", "props": {"label": "x", "fail_check": True}})
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    result = run_things("up", program, env)
    assert not result.ok and result.errors[-1] == "preview failed", result.errors
    assert calls(env, "Create") == []
    assert not (program / ".pulumi-offline" / "dev.json").exists()
    assert "Updating (" not in result.text
    assert ("recorder:index:Thing resource 'bad': property fail_check value {true} has a problem: must be false"
            in result.text)


def test_checks_run_one_at_a_time(tmp_path):
    # deployment_executor.go Execute: the step generator handles one event at a time
    things = [{"name": f"t{i}", "props": {"label": "x", "check_sleep": 0.2}} for i in range(4)]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    starts = [c["t"] for c in calls(env, "Check")]
    ends = [c["t"] for c in calls(env, "Check-end")]
    assert len(starts) == 4 and most_at_once(starts, ends) == 1


@pytest.mark.parametrize("env_extra, parallel, expected", [
    ({"GOMAXPROCS": "1"}, None, 4),  # up.go defaultParallel: 4 x GOMAXPROCS
    ({"PULUMI_PARALLEL": "2", "GOMAXPROCS": "1"}, None, 2),  # PULUMI_PARALLEL wins
    ({"PULUMI_PARALLEL": "2"}, 3, 3),  # --parallel wins
])
def test_parallel_caps_running_creates_as_the_cli_does(tmp_path, env_extra, parallel, expected):
    # step_executor.go newStepExecutor: one worker per degree of parallelism; a waiting Create holds its worker.
    # "gate": that many Creates wait for each other, so that many overlap by construction (at least).
    things = [{"name": f"t{i}", "props": {"label": "x", "gate": expected, "sleep": 0.3}} for i in range(6)]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path, **env_extra)
    assert run_things("up", program, env, parallel=parallel, skip_preview=True).ok
    starts = [c["t"] for c in calls(env, "create-start")]
    ends = [c["t"] for c in calls(env, "Create")]
    assert len(starts) == 6 and most_at_once(starts, ends) == expected


def test_default_parallel_reads_the_environment_as_the_cli_does():
    assert default_parallel({"PULUMI_PARALLEL": "7"}) == 7
    assert default_parallel({"PULUMI_PARALLEL": "0", "GOMAXPROCS": "3"}) == 12
    assert default_parallel({"GOMAXPROCS": "x"}) == 4 * len(os.sched_getaffinity(0))


# --------------------------------------------------------------------------- discovery
@pytest.mark.parametrize("command", ["up", "destroy"])
def test_a_plugin_folder_that_does_not_exist_fails_every_command(tmp_path, command):
    # host.go parsePluginOpts / resolvePluginPath, when the project's plugins are read
    program = things_program(tmp_path, [{"name": "a"}])
    set_plugin_path(program, "recorder", "no-such-folder")
    with pytest.raises(ProjectError) as missing:
        run(command, program, env=recorder_env(tmp_path))
    assert str(missing.value) == f"parsing plugin options for 'recorder': no folder at path '{program / 'no-such-folder'}'"
    wrapper = binary_plugin(tmp_path / "bin") / "pulumi-resource-recorder"
    set_plugin_path(program, "recorder", wrapper)
    with pytest.raises(ProjectError) as not_folder:
        run(command, program, env=recorder_env(tmp_path))
    assert str(not_folder.value) == f"parsing plugin options for 'recorder': provider folder '{wrapper}' is not a directory"


def test_a_plugin_taken_from_path_is_warned_about(tmp_path):
    # plugins.go getPluginInfoAndPath: found on $PATH, "using ... from $PATH at ..."
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}])
    (program / "Pulumi.yaml").write_text("name: offline-things\nruntime: python\n")
    folder = binary_plugin(tmp_path / "on-path")
    env = recorder_env(tmp_path, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")
    result = run_things("up", program, env, skip_preview=True)
    assert result.ok, result.text
    assert f"    warning: using pulumi-resource-recorder from $PATH at {folder / 'pulumi-resource-recorder'}" \
        in result.text.splitlines()
    # Not on PATH and not named: the engine's MissingError.
    result = run_things("up", program, {**recorder_env(tmp_path), "PATH": os.defpath}, skip_preview=True)
    assert "no resource plugin 'pulumi-resource-recorder' found in the workspace or on your $PATH" in result.text


def test_a_folder_without_the_binary_runs_its_pulumiplugin_yaml_from_its_virtualenv(tmp_path):
    # plugin.go ExecPlugin: no binary -> PulumiPlugin.yaml through the language host; Python RunPlugin:
    # `python DIR ARGS` (DIR/__main__.py) with the plugin's virtualenv (toolchain/pip.go Command)
    folder = source_plugin(tmp_path / "source-plugin")
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}], plugin=folder)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    [start] = calls(env, "start")
    assert start["argv"][0] == str(folder) and start["virtual_env"] == sys.prefix
    assert [c["properties"]["label"] for c in calls(env, "Create")] == ["x"]
    (folder / "PulumiPlugin.yaml").unlink()
    result = run_things("up", program, env, skip_preview=True)
    assert f"loading PulumiPlugin.yaml: open {folder / 'PulumiPlugin.yaml'}: no such file or directory" in result.text



def test_a_relative_virtualenv_is_joined_to_the_folder_as_written_and_must_exist(tmp_path):
    # toolchain/pip.go resolveVirtualEnvironmentPath (filepath.Join: lexical) and ValidateVenv: a folder
    # reached through a link finds "../venv" beside the link; a missing one names the option and the fix.
    real = source_plugin(tmp_path / "real" / "plugin")
    (real / "PulumiPlugin.yaml").write_text(yaml.safe_dump(
        {"runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "../venv"}}}))
    (tmp_path / "real" / "venv").symlink_to(sys.prefix, target_is_directory=True)
    linked = tmp_path / "copy" / "plugin"
    linked.parent.mkdir()
    linked.symlink_to(real, target_is_directory=True)
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}], plugin=linked)
    env = recorder_env(tmp_path)
    result = run_things("up", program, env, skip_preview=True)
    expected = tmp_path / "copy" / "venv"
    assert (f"the 'virtualenv' option in {linked / 'PulumiPlugin.yaml'} is set to '../venv', but {expected} "
            f"is not a virtual environment; create it with `python3 -m venv {expected}`") in result.text
    (tmp_path / "copy" / "venv").symlink_to(sys.prefix, target_is_directory=True)
    assert run_things("up", program, env, skip_preview=True).ok
