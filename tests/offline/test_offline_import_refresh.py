"""Import and refresh as the engine does them: ``Read`` with the id alone or with the saved state.

The recording plugin (tests/offline/plugins/recorder) answers ``Read`` from
its world file (``RECORDER_WORLD``), which a test seeds (a resource to
import) or edits (drift, a resource deleted behind Pulumi's back).
"""

from __future__ import annotations

import os
import subprocess
import sys

from recorder_support import calls, recorder_env, run_things, sequence, set_world, things_program, world
from support.programs import by_name, state_of

SEEDED = {"abc": {"inputs": {"label": "read"}, "outputs": {"label": "read", "created": "abc"}}}


def test_the_import_option_reads_the_id_then_checks_and_diffs_the_programs_inputs(tmp_path):
    # step.go ImportStep.Apply (Read with the id, no inputs, no state), then continueStepsFromImport
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "read"}, "import_id": "abc"}])
    env = recorder_env(tmp_path)
    set_world(env, SEEDED)
    result = run_things("up", program, env, skip_preview=True)
    assert result.ok and result.counts == {"import": 1}, result.text
    assert sequence(env) == ["CheckConfig", "Configure", "Read a", "Check a", "Diff a", "Cancel", "SIGINT"]
    [read] = calls(env, "Read")
    assert read["id"] == "abc" and read["properties"] == {} and read["inputs"] is None
    [check] = calls(env, "Check")
    assert check["olds"] == {"label": "read"} and check["news"] == {"label": "read"}
    saved = by_name(state_of(program))["a"]
    assert (saved["id"], saved["import_id"], saved["inputs"]) == ("abc", "abc", {"label": "read"})
    assert "  =  recorder:index:Thing" in result.text and "imported" in result.text
    # Later runs do not import again (the saved import id is the program's).
    assert run_things("up", program, env, skip_preview=True).counts == {"same": 1}
    assert len(calls(env, "Read")) == 1


def test_an_imported_resource_whose_inputs_differ_is_updated_after_the_import(tmp_path):
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "mine"}, "import_id": "abc"}])
    env = recorder_env(tmp_path)
    set_world(env, SEEDED)
    result = run_things("up", program, env, skip_preview=True)
    assert result.ok and result.counts == {"import": 1, "update": 1}, result.text
    assert [c["news"]["label"] for c in calls(env, "Update")] == ["mine"]


def test_importing_an_id_that_does_not_exist_fails_in_the_engines_words(tmp_path):
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}, "import_id": "nope"}])
    env = recorder_env(tmp_path)
    result = run_things("up", program, env)  # the preview reads too, and fails
    assert not result.ok and "recorder:index:Thing (a): resource 'nope' does not exist" in result.errors
    assert result.errors[-1] == "preview failed" and calls(env, "Create") == []


def test_the_import_command_reads_checks_and_protects(tmp_path):
    # import.go importResources, step.go ImportStep.Apply (planned), import.go --protect
    program = things_program(tmp_path, [])
    env = recorder_env(tmp_path)
    set_world(env, SEEDED)
    result = run_things("import", program, env, resource=("recorder:index:Thing", "adopted", "abc"))
    assert result.ok and result.counts == {"import": 1}, result.text
    update = sequence(env)[sequence(env).index("SIGINT") + 1:]  # after the preview's process
    assert update == ["CheckConfig", "Configure", "Read adopted", "Check adopted", "Cancel", "SIGINT"]
    check = calls(env, "Check")[-1]
    assert check["olds"] == check["news"] == {"label": "read"}
    saved = by_name(state_of(program))["adopted"]
    assert saved["protect"] is True and saved["id"] == "abc" and saved["import_id"] == ""
    assert saved["urn"] == "urn:pulumi:dev::offline-things::recorder:index:Thing::adopted"
    # The same id again: nothing to do; another id under that URN: the engine's refusal.
    assert run_things("import", program, env, resource=("recorder:index:Thing", "adopted", "abc")).counts == {}
    again = run_things("import", program, env, resource=("recorder:index:Thing", "adopted", "other"))
    assert not again.ok and any(f"resource '{saved['urn']}' already exists" in e for e in again.errors)


def test_import_check_failures_are_warnings_that_blame_the_provider(tmp_path):
    program = things_program(tmp_path, [])
    env = recorder_env(tmp_path)
    set_world(env, {"abc": {"inputs": {"label": "x", "fail_check": True}, "outputs": {"label": "x"}}})
    result = run_things("import", program, env, resource=("recorder:index:Thing", "odd", "abc"), protect=False)
    assert result.ok, result.text
    assert ("warning: One or more imported inputs failed to validate. This is almost certainly a bug in the "
            "`recorder` provider.") in result.text
    assert "warning: recorder:index:Thing resource 'odd': property fail_check value {true} has a problem" \
        in result.text
    assert by_name(state_of(program))["odd"]["protect"] is False


def test_refresh_reads_each_resource_with_its_saved_state(tmp_path):
    # step.go RefreshStep.Apply; ResultOp: deleted, updated (the inverted diff) or unchanged
    things = [{"name": n, "props": {"label": n}} for n in ("kept", "drifted", "gone")]
    program = things_program(tmp_path, things)
    env = recorder_env(tmp_path)
    assert run_things("up", program, env, skip_preview=True).ok
    saved = by_name(state_of(program))
    current = world(env)
    current[saved["drifted"]["id"]]["inputs"]["label"] = "changed outside"
    current[saved["drifted"]["id"]]["outputs"]["label"] = "changed outside"
    del current[saved["gone"]["id"]]
    set_world(env, current)
    result = run_things("refresh", program, env, skip_preview=True)
    assert result.ok and result.counts == {"same": 1, "update": 1, "delete": 1}, result.text
    reads = {c["urn"].rsplit("::", 1)[-1]: c for c in calls(env, "Read")}
    assert reads["kept"]["id"] == saved["kept"]["id"] and reads["kept"]["inputs"] == {"label": "kept"}
    assert reads["kept"]["properties"]["created"] == saved["kept"]["id"]
    after = by_name(state_of(program))
    assert "gone" not in after and after["drifted"]["inputs"]["label"] == "changed outside"
    diff = [c for c in calls(env, "Diff") if c["urn"].endswith("::drifted")][-1]
    # diffResource with the new state as the old and the saved inputs as the new (inverted)
    assert diff["news"] == {"label": "drifted"} and diff["old_inputs"] == {"label": "changed outside"}
    assert len(calls(env, "Create")) == 3  # the up's: a refresh creates nothing


def test_the_cli_has_refresh_and_import(tmp_path):
    program = things_program(tmp_path, [])
    env = recorder_env(tmp_path)
    set_world(env, SEEDED)
    done = subprocess.run([sys.executable, "-m", "pulumi_offline", "import", "recorder:index:Thing", "x", "abc",
                           str(program), "--protect=false"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Importing (offline-things/dev):" in done.stdout and by_name(state_of(program))["x"]["protect"] is False
    done = subprocess.run([sys.executable, "-m", "pulumi_offline", "refresh", str(program)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})
    assert done.returncode == 0 and "Refreshing (offline-things/dev):" in done.stdout, done.stdout + done.stderr

