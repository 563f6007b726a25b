"""The calls the offline engine makes on a provider plugin, in order and as sent, as the engine makes them.

Each test runs ``recorder:index:Thing`` resources on the recording test
plugin (tests/offline/plugins/recorder) and reads its log; the pulumi/pulumi
file and function each assertion follows is in docs/offline-engine.md's table.
"""

from __future__ import annotations

from recorder_support import calls, recorder_env, run_things, sequence, things_program


def test_any_package_not_emulated_goes_to_its_plugin(tmp_path):
    # registry.go loadProvider: every package has a plugin, not only dicom-jobs
    program = things_program(tmp_path, [{"name": "a", "props": {"label": "x"}}])
    env = recorder_env(tmp_path)
    result = run_things("up", program, env)
    assert result.ok, result.text
    assert [c["properties"]["label"] for c in calls(env, "Create")] == ["x"]
