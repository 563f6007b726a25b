"""What a provider process writes, shown as the real engine shows it.

pulumi/pulumi ``sdk/go/common/resource/plugin/plugin.go``: ``newPlugin``'s
``runtrace`` shows each non-blank line the dynamic provider host writes as a
diagnostic about no resource (stdout ``info``, stderr ``info#err``, one stream
each), and hides any other plugin's output; ``Plugin.Close`` dumps that hidden
output in one error when the plugin did not acknowledge its ``Cancel`` (it
exited by itself). ``pkg/backend/display/progress.go`` ``printDiagnostics``
prints a stream's messages as one block, under the stack when they name no
resource; ``pkg/engine/eventsink.go`` ``StringifyDiag`` gives the two info
severities no prefix.
"""

from __future__ import annotations

import io
from pathlib import Path

from recorder_support import run_things, things_program, recorder_env
from support.programs import make_program, read_log
from pulumi_offline.display import Display
from pulumi_offline.engine import run

STACK_HEADER = "  pulumi:pulumi:Stack ({}-dev):"


def _diagnostics(text: str) -> list[str]:
    """The lines of the last ``Diagnostics:`` section (empty when there is none)."""
    lines = text.splitlines()
    if "Diagnostics:" not in lines:
        return []
    at = len(lines) - 1 - lines[::-1].index("Diagnostics:")
    end = next(i for i in range(at, len(lines)) if lines[i] in ("Outputs:", "Resources:"))
    return lines[at + 1:end]


def _blocks(lines: list[str], header: str) -> list[list[str]]:
    """The blocks (separated by a blank line) listed under ``header`` in a Diagnostics section."""
    start = lines.index(header) + 1
    blocks: list[list[str]] = [[]]
    for line in lines[start:]:
        if line.startswith("  ") and not line.startswith("    "):
            break  # the next resource's header
        if line == "":
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [b for b in blocks if b]


def _up_parallel(tmp_path: Path, config: dict) -> tuple[object, str]:
    program = make_program(tmp_path, "parallel", {"count": 1, **config})
    out = io.StringIO()
    result = run("up", program, env={"OFFLINE_RECORD_LOG": str(tmp_path / "calls.jsonl")}, display=Display(out))
    return result, out.getvalue()


def test_a_dynamic_providers_stdout_and_stderr_are_shown_under_the_stack_a_block_per_stream(tmp_path):
    say = {"stdout": "made it\nsecond line, 100% plain", "stderr": "careful: this went to stderr"}
    result, text = _up_parallel(tmp_path, {"say": say})
    assert result.ok, text
    assert len([e for e in read_log(tmp_path / "calls.jsonl") if e["event"] == "create"]) == 1
    lines = _diagnostics(text)
    # Each stream's lines are one block, with no prefix (info and info#err carry none). Which
    # stream's block comes first varies in the real CLI too (printDiagnostics walks a Go map).
    blocks = _blocks(lines, STACK_HEADER.format("offline-parallel"))
    assert sorted(blocks) == sorted([["    made it", "    second line, 100% plain"],
                                     ["    careful: this went to stderr"]]), text
    assert lines == [STACK_HEADER.format("offline-parallel"), *blocks[0], "", *blocks[1], ""], text
    # the preview runs no Create: its section has nothing to show
    preview = text.split("\nUpdating (")[0]
    assert "Diagnostics:" not in preview and "made it" not in preview


def test_a_dynamic_provider_that_writes_nothing_shows_nothing(tmp_path):
    result, text = _up_parallel(tmp_path, {})
    assert result.ok, text
    assert "Diagnostics:" not in text, text


def test_a_plugin_that_exits_by_itself_fails_its_step_and_has_its_output_dumped_at_close(tmp_path):
    program = things_program(tmp_path, [
        {"name": "first", "props": {"label": "x"}},
        {"name": "boom", "props": {"say": {"stdout": "about to go", "stderr": "panic: asked to crash"},
                                   "crash": True}, "depends_on": ["first"]},
    ])
    env = recorder_env(tmp_path)
    result = run_things("up", program, env)
    text = result.text
    assert not result.ok and result.errors[-1] == "update failed", text
    assert any(kind == "create" and urn.endswith("::first") for kind, urn in result.steps), result.steps
    # the failed step: its row and its error under the resource, as any failed call
    assert any(line.startswith("  ** recorder:index:Thing") and " boom " in line and line.endswith("failed")
               for line in text.splitlines()), text
    lines = _diagnostics(text)
    assert "  recorder:index:Thing (boom):" in lines, text
    # Plugin.Close: no Cancel acknowledged, so the hidden output is dumped, in one error under the stack
    # (the first line it wrote right after the colon, as the engine appends it)
    binary = program.parent / "recorder-plugin" / "pulumi-resource-recorder"
    blocks = _blocks(lines, STACK_HEADER.format("offline-things"))
    assert blocks[0] == ["    error: update failed"], text
    [dump] = blocks[1:]
    assert dump[:2] == [
        f"    error: Detected that {binary} exited prematurely.",
        "           This is *always* a bug in the provider. Please report the issue to the provider author as "
        "appropriate."], text
    head = "           To assist with debugging we have dumped the STDOUT and STDERR streams of the plugin:"
    assert dump[2].startswith(head) and len(dump) == 4, text
    # stdout and stderr are read by two readers (two goroutines in the engine): either may come first
    assert sorted([dump[2][len(head):], dump[3].strip()]) == ["about to go", "panic: asked to crash"], text
    # the preview's plugin was shut down normally: nothing dumped there
    assert "exited prematurely" not in text.split("\nUpdating (")[0]


def test_a_plugin_shut_down_normally_dumps_nothing_and_its_output_stays_hidden(tmp_path):
    program = things_program(tmp_path, [
        {"name": "quiet", "props": {"say": {"stdout": "plugin chatter", "stderr": "plugin warning text"}}}])
    env = recorder_env(tmp_path)
    result = run_things("up", program, env)
    assert result.ok, result.text
    assert [e["event"] for e in read_log(Path(env["RECORDER_LOG"])) if e["event"] == "Cancel"] == ["Cancel"] * 2
    # a plugin that is not the dynamic host: what it writes is debug output the CLI does not show
    assert "plugin chatter" not in result.text and "plugin warning text" not in result.text, result.text
    assert "exited prematurely" not in result.text and "Diagnostics:" not in result.text, result.text


def test_display_joins_a_streams_messages_and_prefixes_only_errors_and_warnings():
    out = io.StringIO()
    display = Display(out, interactive=False)
    display.header("Updating", "p", "dev")
    display.diagnostic("", "info", "line one\n", 7)
    display.diagnostic("", "error", "update failed")
    display.diagnostic("", "info", "line two\n", 7)
    display.diagnostic("", "info#err", "on stderr\n", 8)
    display.diagnostic("", "error", "two\n\n  indented\n\n\n", 9)
    display.summary({}, preview=False, seconds=0.0, outputs={})
    assert _diagnostics(out.getvalue()) == [
        "  pulumi:pulumi:Stack (p-dev):", "    error: update failed", "",
        "    line one", "    line two", "", "    on stderr", "",
        "    error: two", "    ", "      indented", ""]
