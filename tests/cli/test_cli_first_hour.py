"""What a newcomer reads from ``dicom-jobs`` in the first hour, in the CLI's own words (issue 24).

Each test runs the command in a subprocess, as a user does, and asserts on
the lines printed: the command summaries of ``--help`` are whole, a message
names the CLI's flags (``--timeout``, ``--write-disposition``, ``--force``,
``--max-failed-instances``), not the resources' input names, and says what
to do next.
"""

from __future__ import annotations

import re

import click
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from healthcare_emulator import sampledata
from support.cli import OUTLASTING_PACE_S, run_cli
from pulumi_dicom_jobs.cli.main import cli
from pulumi_dicom_jobs.cli.options import cli_words


def _command_summaries(help_text: str) -> dict[str, str]:
    """The ``Commands:`` section of a ``--help`` as {command: summary}, wrapped lines joined."""
    section = help_text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0]
    summaries: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        match = re.match(r"^  (\S+)\s+(.*)$", line)
        if match:
            name = match.group(1)
            summaries[name] = match.group(2).strip()
        else:
            summaries[name] += " " + line.strip()
    return summaries


@pytest.mark.parametrize("columns", ["80", "60"])
@pytest.mark.parametrize("group", [[], ["export"]], ids=["dicom-jobs", "export"])
def test_help_shows_each_commands_summary_whole(columns: str, group: list[str]) -> None:
    proc = run_cli(*group, "--help", COLUMNS=columns)
    assert proc.returncode == 0, proc.stderr
    command: click.Group = cli if not group else cli.commands[group[0]]  # type: ignore[assignment]
    expected = {name: sub.short_help for name, sub in command.commands.items()}
    assert all(expected.values()), "every command needs a summary written for the listing"
    assert _command_summaries(proc.stdout) == expected, proc.stdout
    assert "..." not in proc.stdout.split("\nCommands:\n", 1)[1]


# -- cancel of an operation that has finished ----------------------------------------------
def test_cancel_of_a_finished_operation_says_so_sends_no_cancel_and_exits_7(setup) -> None:
    setup.upload_synthetic("in", 2)
    name = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async").stdout.strip()
    setup.wait_done(name)
    setup.admin.clear_requests()
    for args in ([], ["--wait"]):
        proc = run_cli("cancel", name, *args)
        assert proc.returncode == 7, proc.stdout + proc.stderr
        assert proc.stdout.splitlines() == [
            f"Operation {name} had already finished (state: SUCCEEDED): no cancel was sent.",
            f"Details: dicom-jobs status {name}"]
        assert "Cancellation requested" not in proc.stdout + proc.stderr
    assert not [r for r in setup.admin.requests_log() if r["path"].endswith(":cancel")]


# -- an operation name the API does not know ------------------------------------------------
@pytest.mark.parametrize("command", ["status", "wait", "cancel"])
def test_an_unknown_operation_suggests_a_typo_first(setup, command: str) -> None:
    name = f"{setup.dataset}/operations/1234567890123456789"
    proc = run_cli(command, name)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == [
        f"Error: operation {name} was not found (the API answered 404). Check the name for a typo: import and "
        f"export print it (\"Started import operation NAME\"), and `gcloud healthcare operations list "
        f"--project={setup.project} --location=us-central1 --dataset={setup.dataset_id}` lists the dataset's "
        "operations. If the name is right, the operation has expired or was deleted."]


# -- the CLI's flags, not the resources' input names -----------------------------------------
def test_a_timeout_names_the_timeout_flag(setup) -> None:
    setup.upload_synthetic("in", 10)
    setup.slow(1.0)
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--timeout", "1")
    assert proc.returncode == 4, proc.stderr
    name = setup.operations()[0]["name"]
    assert f"Error: the DICOM job did not finish within --timeout 1; operation {name} cancelled\n" in proc.stderr
    assert "timeout_seconds" not in proc.stderr


def test_a_wait_that_times_out_says_which_flag_would_cancel(setup) -> None:
    setup.upload_synthetic("in", 10)
    setup.slow(OUTLASTING_PACE_S)
    name = run_cli("import", setup.store, setup.gs("in/*.dcm"), "--async").stdout.strip()
    proc = run_cli("wait", name, "--timeout", "0.5")
    assert proc.returncode == 4, proc.stderr
    assert (f"Error: the DICOM job did not finish within --timeout 0.5; operation {name} left running "
            f"(without --cancel-on-timeout)\n") in proc.stderr
    assert "cancel_on_timeout" not in proc.stderr and "timeout_seconds" not in proc.stderr


def test_too_many_failed_instances_names_the_flag(setup) -> None:
    setup.upload_synthetic("in", 1)
    setup.upload("in/broken.dcm", sampledata.broken_file())
    proc = run_cli("import", setup.store, setup.gs("in/*.dcm"))
    assert proc.returncode == 3, proc.stderr
    name = setup.operations()[0]["name"]
    assert proc.stderr.startswith(f"Error: the DICOM import job finished with 1 failed instance(s), more than "
                                  f"--max-failed-instances 0 (operation {name})\n"), proc.stderr
    assert "max_failed_instances" not in proc.stderr


@pytest.mark.parametrize("name, value, words", [
    ("timeout_seconds", 1, "--timeout 1"),
    ("timeout_seconds", 0.5, "--timeout 0.5"),
    ("max_failed_instances", 3, "--max-failed-instances 3"),
    ("cancel_on_timeout", False, "without --cancel-on-timeout"),
    ("bigquery_destination.force", True, "--force"),
    ("dicom_store", "x", "dicom_store=x"),  # an argument, not a flag: the input's own name
])
def test_the_clis_words_for_an_input(name: str, value: object, words: str) -> None:
    assert cli_words(name, value) == words


def test_a_bigquery_export_run_again_says_which_flags_let_it(setup, stack, project, unique) -> None:
    setup.upload_synthetic("in", 2)
    assert run_cli("import", setup.store, setup.gs("in/*.dcm")).returncode == 0
    bigquery.Client(project=project, credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": stack.bigquery_url}).create_dataset(f"again_{unique}")
    setup.admin.grant_agent(project, bq_datasets=[f"{project}.again_{unique}"])  # IAM is enforced
    table = f"bq://{project}.again_{unique}.instances"
    assert run_cli("export", "bq", setup.store, table).returncode == 0
    again = run_cli("export", "bq", setup.store, table)
    assert again.returncode == 3, again.stderr
    assert again.stderr.splitlines()[-1] == (
        "Hint: the table exists, and without --write-disposition or --force an export only creates a new table: "
        "run again with --write-disposition WRITE_TRUNCATE (replace its rows), WRITE_APPEND (add to them) or "
        "WRITE_EMPTY (only if it is empty), or with --force (overwrite it).")
    # what the hint says works
    assert run_cli("export", "bq", setup.store, table, "--write-disposition", "WRITE_TRUNCATE").returncode == 0
    assert run_cli("export", "bq", setup.store, table, "--force").returncode == 0
