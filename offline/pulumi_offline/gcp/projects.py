"""Project-level resources: ``gcp.projects.Service``, ``ServiceIdentity`` and the ``getProject`` invoke.

Why here: these three are what a program uses to make the Healthcare API and
its service agent exist before granting the agent anything; the emulators
serve every API anyway, so enabling one only records it, while the service
agent really is created in the Healthcare emulator (its IAM model refuses a
grant to an agent that does not exist yet).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..state import ResourceState
from .applier import Applier
from .cloud import CloudError, LocalCloud

GET_PROJECT = "gcp:organizations/getProject:getProject"


def get_project(cloud: LocalCloud, args: Mapping[str, Any]) -> dict[str, Any]:
    """``gcp.organizations.get_project()``: the project's number, as the emulator numbers it."""
    project = args.get("projectId") or cloud.project
    number = str(cloud.service_agent(project)["projectNumber"])
    return {"id": f"projects/{project}", "projectId": project, "number": number, "name": project,
            "orgId": "", "folderId": "", "labels": {}, "effectiveLabels": {}, "autoCreateNetwork": True}


class ProjectService(Applier):
    """``gcp.projects.Service``: enabling an API only flips a flag here (the emulators serve
    every API anyway); like Google Cloud, enabling twice is fine."""

    type = "gcp:projects/service:Service"
    replace_keys = None

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        if not inputs.get("service"):
            raise CloudError("service: required (e.g. healthcare.googleapis.com)")
        return inputs

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.cloud.enabled_services.add((inputs["project"], inputs["service"]))
        ident = f"{inputs['project']}/{inputs['service']}"
        return ident, {**inputs, "id": ident}

    def delete(self, old: ResourceState) -> str | None:
        if old.inputs.get("disableOnDestroy", True) is False:
            return "left enabled (disable_on_destroy=False)"
        self.cloud.enabled_services.discard((old.inputs.get("project"), old.inputs.get("service")))
        return None


class ServiceIdentity(Applier):
    """``gcp.projects.ServiceIdentity``: creates the Healthcare service agent in the
    emulator (admin ``POST service-agent``, idempotent like ``generateServiceIdentity``)."""

    type = "gcp:projects/serviceIdentity:ServiceIdentity"
    replace_keys = None

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        if inputs.get("service") != "healthcare.googleapis.com":
            raise CloudError(f"service: only healthcare.googleapis.com is modelled offline, got {inputs.get('service')!r}")
        return inputs

    def _outputs(self, inputs: dict[str, Any], agent: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ident = f"projects/{inputs['project']}/services/{inputs['service']}"
        return ident, {**inputs, "id": ident, "email": agent["email"], "member": agent["member"]}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        agent = self.cloud.http("healthcare", "POST", "/_emulator/service-agent",
                                json={"project": inputs["project"]})
        return self._outputs(inputs, agent)

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        return self._outputs(inputs, self.cloud.service_agent(inputs["project"]))[1]

    def delete(self, old: ResourceState) -> str | None:
        return None  # removing it from the stack does not remove the agent
