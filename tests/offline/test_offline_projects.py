"""``gcp.organizations.get_project`` and ``ServiceIdentity`` offline: each project its own number.

pulumi-gcp reads a project's number from the getProject invoke
(``GetProjectResult.number``, a string); the service agent's email follows
from it. Offline, the number is the one the Healthcare emulator gives that
project, so a program that grants the agent of the wrong project is caught
as on Google Cloud.
"""

from __future__ import annotations

import io

from pulumi_offline.display import Display
from pulumi_offline.engine import run
from pulumi_offline.gcp import LocalCloud
from pulumi_offline.gcp.projects import ServiceIdentity, get_project
from support.programs import make_program

OTHER_PROJECT = "other-project"


def test_get_project_answers_each_projects_own_number(stack, emulator):
    cloud = LocalCloud(stack.env())
    default = get_project(cloud, {})
    other = get_project(cloud, {"projectId": OTHER_PROJECT})
    assert default["projectId"] == stack.project and default["number"] == "123456789012"
    assert other["projectId"] == OTHER_PROJECT
    assert other["number"] == emulator.service_agent(OTHER_PROJECT)["projectNumber"] != default["number"]


def test_service_identity_creates_the_agent_of_its_own_project(stack, emulator):
    cloud = LocalCloud(stack.env())
    _, outputs = ServiceIdentity(cloud).create("agent", {"project": OTHER_PROJECT,
                                                         "service": "healthcare.googleapis.com"})
    assert outputs["member"] == emulator.service_agent(OTHER_PROJECT)["member"]
    assert emulator.service_agent(OTHER_PROJECT)["exists"] is True
    assert emulator.service_agent("untouched-project")["exists"] is False


def test_a_program_reads_each_projects_number_through_the_engine(tmp_path, stack, emulator):
    """What a program sees: ``get_project(project_id=...)`` through the engine's invoke, and the
    agent ``ServiceIdentity`` creates for that project carrying that project's number."""
    program = make_program(tmp_path, "projects", {"gcp:project": stack.project, "offline-projects:other": OTHER_PROJECT})
    out = io.StringIO()
    result = run("up", program, display=Display(out))
    assert result.ok, out.getvalue()
    outputs = result.outputs
    assert outputs["default_number"] == emulator.service_agent(stack.project)["projectNumber"] == "123456789012"
    assert outputs["other_number"] == emulator.service_agent(OTHER_PROJECT)["projectNumber"] != outputs["default_number"]
    assert outputs["other_agent"] == f"serviceAccount:service-{outputs['other_number']}@gcp-sa-healthcare.iam.gserviceaccount.com"
    assert emulator.service_agent(OTHER_PROJECT)["exists"] is True
