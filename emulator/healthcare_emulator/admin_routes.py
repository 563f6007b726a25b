"""The emulator's admin surface (``/_emulator/...``): what tests and the offline engine steer.

Why apart from the public API (:mod:`healthcare_emulator.api_routes`): these
routes exist only in the emulator (reset, config, IAM grants and denials,
fault injection, the request log, operations across datasets, operation
logs), take no credential and are never part of the REST contract the
product relies on. ARCHITECTURE.md lists each call and its answer.
"""

from __future__ import annotations

import sys

from . import iam, operations
from .errors import ApiError, invalid, not_found
from .faults import FaultInjector, parse_fault
from .requestlog import RequestLog
from .routing import Request, Response, Route, find, route
from .state import EmulatorState, merge_config, now_utc

PREFIX = "/_emulator/"
#: The most finished operations one ``operations/history`` call adds.
MAX_HISTORY = 100_000


class AdminRoutes:
    """The admin handlers over the shared state, fault injector and request log."""

    def __init__(self, state: EmulatorState, faults: FaultInjector, requests: RequestLog) -> None:
        self.state = state
        self.faults = faults
        self.requests = requests
        self.routes: list[Route] = [
            route("GET", r"^health$", lambda r, m: Response.json({"status": "ok"})),
            route("POST", r"^reset$", self.admin_reset),
            route("GET", r"^config$", self.admin_get_config),
            route("POST", r"^config$", self.admin_set_config),
            route("GET", r"^service-agent$", self.admin_service_agent),
            route("POST", r"^service-agent$", self.admin_create_service_agent),
            route("GET", r"^iam$", self.admin_get_iam),
            route("POST", r"^iam$", self.admin_grant),
            route("DELETE", r"^iam$", self.admin_revoke),
            route("GET", r"^permissions$", self.admin_get_permissions),
            route("POST", r"^permissions$", self.admin_deny),
            route("DELETE", r"^permissions$", self.admin_undeny),
            route("GET", r"^faults$", lambda r, m: Response.json({"faults": self.faults.list()})),
            route("POST", r"^faults$", self.admin_add_fault),
            route("DELETE", r"^faults$", self.admin_clear_faults),
            route("GET", r"^requests$", lambda r, m: Response.json(self.requests.snapshot())),
            route("POST", r"^requests/clear$", self.admin_clear_requests),
            route("GET", r"^operations$", self.admin_operations),
            route("POST", r"^operations/forget$", self.admin_forget_operation),
            route("POST", r"^operations/history$", self.admin_add_history),
            route("GET", r"^logs/(?P<name>.+)$", self.admin_logs),
        ]

    def handle(self, request: Request) -> Response:
        """Answer an admin request (its path starts with :data:`PREFIX`)."""
        try:
            found, groups = find(self.routes, request, request.path[len(PREFIX):])
            return found.handler(request, groups)
        except ApiError as error:
            return Response.error(error)

    def admin_reset(self, request: Request, m: dict[str, str]) -> Response:
        self.state.reset()
        self.faults.clear()
        self.requests.clear()
        return Response.json({})

    def admin_get_config(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            return Response.json(dict(self.state.config))

    def admin_set_config(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            enforced = self.state.config["enforceIam"]
            self.state.config = merge_config(self.state.config, request.json() or {})
            if enforced and not self.state.config["enforceIam"]:
                print(f"healthcare-emulator: {iam.not_enforced_warning('POST /_emulator/config')}",
                      file=sys.stderr, flush=True)
            return Response.json(dict(self.state.config))

    def _agent(self, project: object) -> dict:
        if not isinstance(project, str) or not project:
            raise invalid("project is required: the project id whose Healthcare service agent "
                          "is meant (GET service-agent?project=P, POST service-agent {\"project\": P})")
        number = self.state.projects.number(project)
        email = iam.service_agent_email(number)
        return {"project": project, "projectNumber": number, "email": email,
                "member": f"serviceAccount:{email}", "exists": self.state.agent_exists(number)}

    def admin_service_agent(self, request: Request, m: dict[str, str]) -> Response:
        return Response.json(self._agent(request.query.get("project")))

    def admin_create_service_agent(self, request: Request, m: dict[str, str]) -> Response:
        """Create a project's service agent (idempotent), as ``generateServiceIdentity`` does."""
        project = self._admin_body(request).get("project")
        self._agent(project)  # 400 without a project
        with self.state.lock:
            self.state.iam.create_agent(self.state.projects.number(project))
            self.state.save()
        return Response.json(self._agent(project))

    def _admin_body(self, request: Request) -> dict:
        body = request.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise invalid("the body must be a JSON object")
        return body

    def admin_get_iam(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            grants = self.state.iam.describe(self.state.config["grantPropagationSeconds"])
        return Response.json({"grants": grants})

    def admin_grant(self, request: Request, m: dict[str, str]) -> Response:
        resource, role, member = iam.parse_grant(self._admin_body(request))
        with self.state.lock:
            self.state.check_grant_member(member)
            self.state.iam.grant(resource, role, member)
            self.state.save()
        return Response.json({"resource": resource, "role": role, "member": member})

    def admin_revoke(self, request: Request, m: dict[str, str]) -> Response:
        resource, role, member = iam.parse_grant(self._admin_body(request))
        with self.state.lock:
            removed = self.state.iam.revoke(resource, role, member)
            self.state.save()
        return Response.json({"removed": removed})

    def admin_get_permissions(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            denials = self.state.iam.to_json()["denials"]
        return Response.json({"denials": [{"resource": r, "deny": a} for r, a in denials.items()]})

    def admin_deny(self, request: Request, m: dict[str, str]) -> Response:
        resource, accesses = iam.parse_denial(self._admin_body(request))
        with self.state.lock:
            self.state.iam.deny(resource, accesses)
            self.state.save()
        return Response.json({"resource": resource, "deny": sorted(accesses)})

    def admin_undeny(self, request: Request, m: dict[str, str]) -> Response:
        body = self._admin_body(request)
        with self.state.lock:
            if "resource" not in body:
                self.state.iam.undeny(None)
            else:
                resource, accesses = iam.parse_denial(body)
                self.state.iam.undeny(resource, accesses)
            self.state.save()
        return Response.json({})

    def admin_add_fault(self, request: Request, m: dict[str, str]) -> Response:
        fault = parse_fault(request.json())
        self.faults.add(fault)
        return Response.json(fault.to_json())

    def admin_clear_faults(self, request: Request, m: dict[str, str]) -> Response:
        self.faults.clear()
        return Response.json({})

    def admin_clear_requests(self, request: Request, m: dict[str, str]) -> Response:
        self.requests.clear()
        return Response.json({})

    def admin_operations(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            listed = [{"name": r.name, "done": r.done, "request": r.request, "store": r.store,
                       "apiMethodName": r.api_method_name}
                      for r in sorted(self.state.operations.values(),
                                      key=lambda r: (r.create_time, r.name))]
        return Response.json({"operations": listed})

    def admin_forget_operation(self, request: Request, m: dict[str, str]) -> Response:
        name = self._admin_body(request).get("name")
        if not isinstance(name, str):
            raise invalid("name is required")
        self.state.forget_operation(name)
        return Response.json({})

    def admin_add_history(self, request: Request, m: dict[str, str]) -> Response:
        """``count`` finished operations in ``dataset`` (a long history, in one call)."""
        body = self._admin_body(request)
        dataset, count = body.get("dataset"), body.get("count")
        if not isinstance(dataset, str):
            raise invalid("dataset is required: projects/P/locations/L/datasets/D")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_HISTORY:
            raise invalid(f"count must be an integer from 1 to {MAX_HISTORY}")
        self.state.get_dataset(dataset)  # 404 when there is no such dataset
        self.state.add_operations(operations.finished_history(dataset, count, now_utc()))
        return Response.json({"dataset": dataset, "added": count})

    def admin_logs(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            record = self.state.operations.get(m["name"])
            if record is None:
                raise not_found(f"Operation {m['name']} not found")
            return Response.json({"entries": [dict(e) for e in record.logs]})
