"""``python -m healthcare_emulator.stack --seed``: the sandbox a newcomer starts from.

Run as a user runs it (a child process, its printed environment and
commands pasted into a shell, stopped with a signal):

* the commands it prints work against what it seeded, and end as
  docs/cli.md says they end, so the printed commands cannot drift from the
  CLI or from the page;
* ``kill PID`` stops the three emulators as Ctrl-C does: no child left
  running, no port left taken;
* ``make demo`` ends by pointing at the sandbox as the docs start it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from healthcare_emulator.sandbox import BROKEN_FILE, SAMPLE_FILES
from healthcare_emulator.waiting import poll
from pulumi_offline.demo import SANDBOX_COMMAND
from support.sandbox import SandboxProcess, shell_env

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "cli.md"
BEARER = {"Authorization": "Bearer sandbox-test"}
#: One PNG per frame: rtdose.dcm has 15 frames, the other samples one each.
PNG_OBJECTS = len(SAMPLE_FILES) - 1 + 15


def documented_status(command: str) -> int:
    """The exit status docs/cli.md shows for ``command`` (the ``echo $?`` after it)."""
    lines = CLI_PAGE.read_text().splitlines()
    start = lines.index(f"$ {command}")
    echo = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("$ "))
    assert lines[echo] == "$ echo $?", f"docs/cli.md shows no exit status right after {command!r}"
    return int(lines[echo + 1])


def child_pids(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        if int(text.rpartition(")")[2].split()[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def printed_ports(env: dict[str, str]) -> list[int]:
    keys = ("HEALTHCARE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "BIGQUERY_EMULATOR_HOST")
    return [int(re.search(r":(\d+)$", env[key]).group(1)) for key in keys]


def documented_sandbox_command() -> str:
    """The command docs/cli.md starts the sandbox with."""
    return next(line[2:] for line in CLI_PAGE.read_text().splitlines()
                if line.startswith("$ python -m healthcare_emulator.stack"))


@pytest.fixture
def sandbox():
    started = SandboxProcess.start(["--seed"])
    yield started
    started.stop()


def test_make_demo_points_at_the_sandbox_as_the_docs_start_it() -> None:
    assert SANDBOX_COMMAND == ".venv/bin/" + documented_sandbox_command()


@pytest.mark.slow
def test_the_printed_commands_end_as_the_docs_say(sandbox: SandboxProcess) -> None:
    env = shell_env(sandbox.env())
    commands = sandbox.commands()
    assert [c.split()[:3] for c in commands] == [
        ["dicom-jobs", "import", "$STORE"], ["dicom-jobs", "export", "gcs"], ["dicom-jobs", "export", "bq"]]
    results = [subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL) for command in commands]
    for command, result in zip(commands, results):
        assert result.returncode == documented_status(command), (command, result.stdout, result.stderr)
    imported = results[0].stdout
    assert f"{len(SAMPLE_FILES)} instance(s) succeeded, 1 failed." in imported
    assert f"samples/{BROKEN_FILE}: INVALID_ARGUMENT: not a DICOM Part 10 file" in imported

    store = f"http://{env['HEALTHCARE_EMULATOR_HOST']}/v1/{env['STORE']}"
    stored = requests.get(f"{store}/dicomWeb/instances", headers=BEARER, timeout=30).json()
    assert len(stored) == len(SAMPLE_FILES)
    export = re.search(r"gs://([^/\s]+)/(\S+) --mime-type image/png", commands[1])
    listing = requests.get(f"{env['STORAGE_EMULATOR_HOST']}/storage/v1/b/{export.group(1)}/o",
                           params={"prefix": export.group(2) + "/"}, timeout=30).json()
    assert len([item for item in listing["items"] if item["name"].endswith(".png")]) == PNG_OBJECTS
    table = re.search(r"bq://(\S+)", commands[2]).group(1)
    project = table.split(".")[0]
    answer = requests.post(f"{env['BIGQUERY_EMULATOR_HOST']}/bigquery/v2/projects/{project}/queries",
                           json={"query": f"SELECT COUNT(*) AS n FROM `{table}`", "useLegacySql": False},
                           timeout=60).json()
    assert int(answer["rows"][0]["f"][0]["v"]) == len(SAMPLE_FILES)


@pytest.mark.slow
def test_the_seed_creates_the_agent_and_prints_the_grants_it_made(sandbox: SandboxProcess) -> None:
    """IAM is enforced: the seed creates the service agent and grants what the printed commands
    need (the test above shows they are enough), and says so."""
    env = sandbox.env()
    admin = f"http://{env['HEALTHCARE_EMULATOR_HOST']}/_emulator"
    project = env["GOOGLE_CLOUD_PROJECT"]
    assert requests.get(f"{admin}/config", timeout=30).json()["enforceIam"] is True
    agent = requests.get(f"{admin}/service-agent", params={"project": project}, timeout=30).json()
    assert agent["exists"] is True
    grants = {(g["role"], g["resource"]) for g in requests.get(f"{admin}/iam", timeout=30).json()["grants"]
              if g["member"] == agent["member"]}
    bucket = "//storage.googleapis.com/projects/_/buckets/dicom-sandbox"
    assert grants == {("roles/storage.objectViewer", bucket), ("roles/storage.objectAdmin", bucket),
                      ("roles/bigquery.dataEditor", f"//bigquery.googleapis.com/projects/{project}/datasets/dicom_sandbox"),
                      ("roles/bigquery.jobUser", f"//cloudresourcemanager.googleapis.com/projects/{project}")}
    printed = sandbox.lines()
    assert f"# the Healthcare service agent {agent['email']} (created), granted:" in printed
    role_lines = [line.split()[1] for line in printed if line.startswith("#   roles/")]
    assert sorted(role_lines) == sorted(role for role, _ in grants)


@pytest.mark.slow
def test_no_enforce_iam_warns_at_start() -> None:
    started = SandboxProcess.start(["--no-enforce-iam"])
    try:
        config = requests.get(f"http://{started.env()['HEALTHCARE_EMULATOR_HOST']}/_emulator/config",
                              timeout=30).json()
        assert config["enforceIam"] is False
        assert any("warning: IAM is not enforced (--no-enforce-iam)" in line for line in started.lines())
    finally:
        assert started.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_the_emulators_and_frees_their_ports(signum: int) -> None:
    sandbox = SandboxProcess.start(["--seed"])
    children = child_pids(sandbox.process.pid)
    ports = printed_ports(sandbox.env())
    try:
        assert len(children) == 3, children
        assert not any(port_free(port) for port in ports)
    finally:
        status = sandbox.stop(signum)
    try:
        assert status == 0, sandbox.lines()
        poll(lambda: not any(running(pid) for pid in children) and all(port_free(port) for port in ports),
             deadline_s=30, what="the emulators to exit and free their ports")
    finally:  # never leave a stray emulator behind for the next test
        for pid in children:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
