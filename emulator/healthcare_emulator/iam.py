"""The Cloud Healthcare Service Agent's permissions on buckets and BigQuery.

Why: the real service reads and writes Cloud Storage and BigQuery as its
service agent, ``service-{N}@gcp-sa-healthcare.iam.gserviceaccount.com``, and
a job fails with PERMISSION_DENIED when that identity lacks a role. The
product grants those roles (least privilege), so the emulator must model
them: which role allows what, grants that take effect only after a
propagation delay, and explicit denials that win over any grant.

Model (ARCHITECTURE.md, "IAM model"): read a bucket ⇐ objectViewer,
objectAdmin or storage.admin *on the bucket*; write a bucket ⇐ objectAdmin or
storage.admin; write BigQuery ⇐ (dataEditor, dataOwner or bigquery.admin on
the dataset) and (jobUser, bigquery.user or bigquery.admin on the project).
Project-level storage grants are deliberately ignored. With ``enforceIam``
off only explicit denials apply. Every project has an agent of its own,
named by its project number (:mod:`healthcare_emulator.projects`): a job
runs as the agent of its store's project, and a grant to any other agent
gives it nothing.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Optional

from .errors import invalid
from .jobcontext import PermissionDenied

STORAGE_READ = ("roles/storage.objectViewer", "roles/storage.objectAdmin", "roles/storage.admin")
STORAGE_WRITE = ("roles/storage.objectAdmin", "roles/storage.admin")
BQ_READ = ("roles/bigquery.dataViewer", "roles/bigquery.dataEditor", "roles/bigquery.dataOwner",
           "roles/bigquery.admin")
BQ_DATASET_WRITE = ("roles/bigquery.dataEditor", "roles/bigquery.dataOwner", "roles/bigquery.admin")
BQ_PROJECT_JOBS = ("roles/bigquery.jobUser", "roles/bigquery.user", "roles/bigquery.admin")

_BUCKET_RESOURCE = re.compile(r"^//storage\.googleapis\.com/projects/_/buckets/([^/]+)$")
_BQ_DATASET_RESOURCE = re.compile(r"^//bigquery\.googleapis\.com/projects/([^/]+)/datasets/([^/]+)$")
_PROJECT_RESOURCE = re.compile(r"^//cloudresourcemanager\.googleapis\.com/projects/([^/]+)$")
_GS = re.compile(r"^gs://([^/]+)/?$")
_BQ = re.compile(r"^bq://([^.]+(?::[^.]+)?)\.([^.]+)$")  # project may be "domain:project"
_AGENT_MEMBER = re.compile(r"^serviceAccount:service-(\d+)@gcp-sa-healthcare\.iam\.gserviceaccount\.com$")


def not_enforced_warning(how: str) -> str:
    """The warning printed whenever IAM enforcement is turned off (``how`` says by what)."""
    return (f"warning: IAM is not enforced ({how}): jobs run without the Healthcare service agent's "
            "grants, so a program that passes here can fail on Google Cloud with PERMISSION_DENIED")


def service_agent_email(project_number: str) -> str:
    return f"service-{project_number}@gcp-sa-healthcare.iam.gserviceaccount.com"


def bucket_resource(bucket: str) -> str:
    return f"//storage.googleapis.com/projects/_/buckets/{bucket}"


def bq_dataset_resource(project: str, dataset: str) -> str:
    return f"//bigquery.googleapis.com/projects/{project}/datasets/{dataset}"


def project_resource(project: str) -> str:
    return f"//cloudresourcemanager.googleapis.com/projects/{project}"


@dataclass
class Grant:
    resource: str
    role: str
    member: str
    granted_at: float  # wall-clock seconds, so it survives a restart with --data-dir

    def key(self) -> tuple[str, str, str]:
        return (self.resource, self.role, self.member)


def parse_grant(body: dict) -> tuple[str, str, str]:
    """Validate an admin ``iam`` body; return (resource, role, member)."""
    resource, role, member = body.get("resource"), body.get("role"), body.get("member")
    if not isinstance(resource, str) or not any(p.match(resource) for p in
                                                (_BUCKET_RESOURCE, _BQ_DATASET_RESOURCE, _PROJECT_RESOURCE)):
        raise invalid("resource must be //storage.googleapis.com/projects/_/buckets/B, "
                      "//bigquery.googleapis.com/projects/P/datasets/D or "
                      f"//cloudresourcemanager.googleapis.com/projects/P, got {resource!r}")
    if not isinstance(role, str) or not role.startswith("roles/"):
        raise invalid(f"role must look like roles/..., got {role!r}")
    if not isinstance(member, str) or ":" not in member:
        raise invalid(f"member must look like serviceAccount:EMAIL, got {member!r}")
    return resource, role, member


def parse_denial(body: dict) -> tuple[str, set[str]]:
    """Validate an admin ``permissions`` body; return (resource, accesses)."""
    resource = body.get("resource")
    if not isinstance(resource, str) or not (_GS.match(resource) or _BQ.match(resource)):
        raise invalid(f"resource must be gs://BUCKET or bq://PROJECT.DATASET, got {resource!r}")
    deny = body.get("deny", ["read", "write"])
    if not isinstance(deny, list) or not deny or not set(deny) <= {"read", "write"}:
        raise invalid(f"deny must be a non-empty list of 'read'/'write', got {deny!r}")
    return resource.rstrip("/"), set(deny)


class IamPolicy:
    """Grants and denials for the service agent. Not thread-safe: the caller holds the state lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.grants: list[Grant] = []
        self.denials: dict[str, set[str]] = {}
        #: Project numbers whose service agent exists. On Google Cloud an agent is created
        #: when the Healthcare API is enabled or by ``generateServiceIdentity``
        #: (``gcp.projects.ServiceIdentity``); until then a grant naming it is refused.
        self.agents: set[str] = set()

    def create_agent(self, project_number: str) -> None:
        """Make a project's service agent exist (idempotent, as ``generateServiceIdentity`` is)."""
        self.agents.add(project_number)

    def agent_exists(self, project_number: str) -> bool:
        return project_number in self.agents

    def check_member_exists(self, member: str) -> None:
        """400 like IAM's when ``member`` is a Healthcare service agent that does not exist yet."""
        found = _AGENT_MEMBER.match(member)
        if found and found.group(1) not in self.agents:
            raise invalid(f"Service account {service_agent_email(found.group(1))} does not exist.")

    # -- admin -------------------------------------------------------------
    def grant(self, resource: str, role: str, member: str) -> Grant:
        """Add a grant; granting again keeps the original time (IAM is additive)."""
        for existing in self.grants:
            if existing.key() == (resource, role, member):
                return existing
        grant = Grant(resource, role, member, self.clock())
        self.grants.append(grant)
        return grant

    def revoke(self, resource: str, role: str, member: str) -> bool:
        before = len(self.grants)
        self.grants = [g for g in self.grants if g.key() != (resource, role, member)]
        return len(self.grants) != before

    def deny(self, resource: str, accesses: Iterable[str]) -> None:
        self.denials.setdefault(resource, set()).update(accesses)

    def undeny(self, resource: Optional[str], accesses: Optional[Iterable[str]] = None) -> None:
        if resource is None:
            self.denials.clear()
            return
        remaining = self.denials.get(resource, set()) - set(accesses or {"read", "write"})
        if remaining:
            self.denials[resource] = remaining
        else:
            self.denials.pop(resource, None)

    def describe(self, propagation_s: float) -> list[dict]:
        now = self.clock()
        return [{"resource": g.resource, "role": g.role, "member": g.member,
                 "effective": now - g.granted_at >= propagation_s,
                 "effectiveInSeconds": max(0.0, round(g.granted_at + propagation_s - now, 3))}
                for g in self.grants]

    # -- persistence -------------------------------------------------------
    def to_json(self) -> dict:
        return {"grants": [asdict(g) for g in self.grants],
                "denials": {r: sorted(a) for r, a in self.denials.items()},
                "agents": sorted(self.agents)}

    def load_json(self, data: dict) -> None:
        self.grants = [Grant(**g) for g in data.get("grants", [])]
        self.denials = {r: set(a) for r, a in data.get("denials", {}).items()}
        self.agents = {str(n) for n in data.get("agents", [])}

    # -- the check ---------------------------------------------------------
    def _has(self, resource: str, roles: tuple[str, ...], member: str, propagation_s: float
             ) -> tuple[bool, bool]:
        """(has an effective grant, has a grant that is still propagating)."""
        now = self.clock()
        pending = False
        for g in self.grants:
            if g.resource == resource and g.role in roles and g.member == member:
                if now - g.granted_at >= propagation_s:
                    return True, False
                pending = True
        return False, pending

    def check(self, resource: str, access: str, *, project_number: str, enforce: bool,
              propagation_s: float) -> None:
        """Raise :class:`PermissionDenied` unless the service agent may ``access`` ``resource``.

        ``resource`` is ``gs://BUCKET`` or ``bq://PROJECT.DATASET``; ``access`` is
        ``read`` (list a bucket's objects, read a dataset), ``get`` (read one
        object, e.g. a filter file) or ``write``. The message is worded as
        Cloud Storage and BigQuery word theirs: it names the missing
        *permission*, never the role (finding the role is the client's job),
        and says nothing about propagation or explicit denials.
        """
        email = service_agent_email(project_number)
        member = f"serviceAccount:{email}"
        resource = resource.rstrip("/")
        gs, bq = _GS.match(resource), _BQ.match(resource)
        if not gs and not bq:
            raise PermissionDenied(f"{email} cannot access {resource!r} (not a bucket or BigQuery dataset)")
        if access not in ("read", "get", "write"):
            raise ValueError(f"access must be 'read', 'get' or 'write', not {access!r}")
        kind = "write" if access == "write" else "read"

        if gs:
            bucket = gs.group(1)
            permission = {"read": "storage.objects.list", "get": "storage.objects.get",
                          "write": "storage.objects.create"}[access]
            denied = PermissionDenied(f"{email} does not have {permission} access to the Google Cloud "
                                      f"Storage bucket {bucket}.")
            if kind in self.denials.get(resource, set()):
                raise denied
            if not enforce:
                return
            needed = STORAGE_READ if kind == "read" else STORAGE_WRITE
            if not self._has(bucket_resource(bucket), needed, member, propagation_s)[0]:
                raise denied
            return
        project, dataset = bq.group(1), bq.group(2)
        if kind == "read":
            denied = PermissionDenied(_bq_dataset_denial(email, project, dataset, "bigquery.tables.getData"))
            if "read" in self.denials.get(resource, set()):
                raise denied
            if enforce and not self._has(bq_dataset_resource(project, dataset), BQ_READ, member,
                                         propagation_s)[0]:
                raise denied
            return
        dataset_denial = PermissionDenied(_bq_dataset_denial(email, project, dataset, "bigquery.tables.create"))
        if "write" in self.denials.get(resource, set()):
            raise dataset_denial
        if not enforce:
            return
        missing = []
        if not self._has(bq_dataset_resource(project, dataset), BQ_DATASET_WRITE, member, propagation_s)[0]:
            missing.append(str(dataset_denial))
        if not self._has(project_resource(project), BQ_PROJECT_JOBS, member, propagation_s)[0]:
            missing.append(f"{email}: Access Denied: Project {project}: User does not have "
                           f"bigquery.jobs.create permission in project {project}.")
        if missing:
            raise PermissionDenied(" ".join(missing))


def _bq_dataset_denial(email: str, project: str, dataset: str, permission: str) -> str:
    """BigQuery's wording, prefixed with the identity it refused (the service agent)."""
    return (f"{email}: Access Denied: Dataset {project}:{dataset}: Permission {permission} denied on "
            f"dataset {project}:{dataset} (or it may not exist).")
