"""README.md's example, run as printed through pulumi-offline, IAM enforced (issue 24).

The block under "## Example" is copied verbatim into a project's
``__main__.py``; only the stack config (``gcp:project``) and the data it
reads (``gs://my-scans/ct/*.dcm``) are the test's. On an emulator where the
service agent exists only once created and reads or writes a bucket only
after its grant, a first ``up`` must enable the API, create the agent, grant
exactly the two roles and run both jobs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from healthcare_emulator.sampledata import REAL_MULTI_FRAME, REAL_SINGLE_FRAME, broken_file, real_bytes
from support.programs import (PROJECT, ROLE_OBJECT_ADMIN, ROLE_OBJECT_VIEWER, ROOT, Program, bucket_grant,
                              counts_by_type)

pytestmark = pytest.mark.slow


def readme_example() -> str:
    """The Python block of README.md's "## Example" section, as printed."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Example\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, re.S)
    return block


def test_the_readme_example_runs_as_printed_on_a_fresh_project(tmp_path: Path, cloud) -> None:
    directory = tmp_path / "readme-example"
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: readme-example\nruntime: python\n")
    (directory / "__main__.py").write_text(readme_example())
    scans = {f"ct/{name}": real_bytes(name) for name in (*REAL_SINGLE_FRAME, REAL_MULTI_FRAME)}
    cloud.create_bucket("my-scans")
    cloud.upload("my-scans", {**scans, "ct/not-dicom.dcm": broken_file()})  # one of the 3 failures allowed
    assert cloud.service_agent()["exists"] is False  # a fresh project: the program must create it
    program = Program(directory, cloud.stack)
    program.write_config({"gcp:project": PROJECT})

    result = program.up()

    assert result.ok, result.text
    assert counts_by_type(result)["gcp:projects/service:Service"] == 1
    assert counts_by_type(result)["gcp:projects/serviceIdentity:ServiceIdentity"] == 1
    agent = cloud.service_agent()
    assert agent["exists"] is True
    assert cloud.grants() == {bucket_grant("my-scans", ROLE_OBJECT_VIEWER, agent["member"]),
                              bucket_grant("my-renders", ROLE_OBJECT_ADMIN, agent["member"])}
    assert result.outputs["imported"] == len(scans)
    assert result.outputs["logs"].startswith("http")
    rendered = cloud.objects("my-renders", "png/")
    assert rendered and all(name.endswith(".png") for name in rendered)
