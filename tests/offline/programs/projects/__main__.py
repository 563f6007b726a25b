"""pulumi-offline test program: two projects' numbers as pulumi-gcp reads them, and one project's agent.

Config ``other`` names the second project; its Healthcare service agent is created with
``gcp.projects.ServiceIdentity``.
"""

import pulumi
import pulumi_gcp as gcp

other = pulumi.Config().require("other")
agent = gcp.projects.ServiceIdentity("other-agent", project=other, service="healthcare.googleapis.com")

pulumi.export("default_number", gcp.organizations.get_project_output().number)
pulumi.export("other_number", gcp.organizations.get_project_output(project_id=other).number)
pulumi.export("other_agent", agent.member)
