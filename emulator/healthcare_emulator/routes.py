"""Request routing and handlers: the public REST surface and the admin surface.

Why separate from :mod:`healthcare_emulator.server`: handlers here see a
parsed :class:`Request` and return a :class:`Response` (or raise
:class:`~healthcare_emulator.errors.ApiError`); they never touch sockets, so
the socket-level concerns (auth, faults, dropping connections, the request
log) stay in the server, and every handler is a short translation between
JSON and :class:`~healthcare_emulator.state.EmulatorState`.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import dicomweb, iam, operations, schema
from .errors import ApiError, invalid, not_found
from .faults import FaultInjector, parse_fault
from .state import EmulatorState, OperationRecord, merge_config, now_utc


@dataclass
class Request:
    method: str
    path: str  # URL path, percent-decoded, without the query
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON (None when empty); 400 when it does not parse."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise invalid("Invalid JSON payload received. The body is not valid JSON.") from None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> "Response":
        return cls(status, json.dumps(value).encode(),
                   {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})

    @classmethod
    def error(cls, error: ApiError, headers: Optional[dict[str, str]] = None) -> "Response":
        return cls.json(error.body(), error.http_status, headers)


Handler = Callable[[Request, dict[str, str]], Response]

_LOCATION = r"^/(?P<v>v1|v1beta1)/(?P<parent>projects/[^/:]+/locations/[^/:]+)"
_DATASET = _LOCATION + r"/datasets/(?P<d>[^/:]+)"
_STORE = _DATASET + r"/dicomStores/(?P<s>[^/:]+)"
_OPERATION = _DATASET + r"/operations/(?P<o>[^/:]+)"


class RequestLog:
    """Every non-admin request received (for "zero requests" assertions)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict] = []

    def add(self, method: str, path: str, query: str, status: int, fault: Optional[str] = None) -> None:
        entry: dict[str, Any] = {"method": method, "path": path, "query": query, "status": status}
        if fault:
            entry["fault"] = fault
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> dict:
        with self._lock:
            return {"count": len(self._entries), "requests": list(self._entries)}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Service:
    """The emulator's behaviour behind HTTP: public API and admin handlers."""

    def __init__(self, state: EmulatorState, storage_url: str, bigquery_url: Optional[str]) -> None:
        self.state = state
        self.faults = FaultInjector()
        self.requests = RequestLog()
        self.storage_url = storage_url.rstrip("/")
        self.bigquery_url = bigquery_url.rstrip("/") if bigquery_url else None
        self.base_url = ""  # set by the server once bound
        self._api: list[tuple[str, re.Pattern, Handler]] = [
            ("POST", re.compile(_LOCATION + r"/datasets$"), self.create_dataset),
            ("GET", re.compile(_LOCATION + r"/datasets$"), self.list_datasets),
            ("GET", re.compile(_DATASET + r"$"), self.get_dataset),
            ("DELETE", re.compile(_DATASET + r"$"), self.delete_dataset),
            ("POST", re.compile(_DATASET + r"/dicomStores$"), self.create_store),
            ("GET", re.compile(_DATASET + r"/dicomStores$"), self.list_stores),
            ("GET", re.compile(_STORE + r"$"), self.get_store),
            ("DELETE", re.compile(_STORE + r"$"), self.delete_store),
            ("POST", re.compile(_STORE + r":import$"), self.import_data),
            ("POST", re.compile(_STORE + r":export$"), self.export_data),
            ("GET", re.compile(_STORE + r"/dicomWeb/(?P<rest>.+)$"), self.dicomweb),
            ("GET", re.compile(_DATASET + r"/operations$"), self.list_operations),
            ("GET", re.compile(_OPERATION + r"$"), self.get_operation),
            ("POST", re.compile(_OPERATION + r":cancel$"), self.cancel_operation),
        ]
        self._admin: list[tuple[str, re.Pattern, Handler]] = [
            ("GET", re.compile(r"^health$"), lambda r, m: Response.json({"status": "ok"})),
            ("POST", re.compile(r"^reset$"), self.admin_reset),
            ("GET", re.compile(r"^config$"), self.admin_get_config),
            ("POST", re.compile(r"^config$"), self.admin_set_config),
            ("GET", re.compile(r"^service-agent$"), self.admin_service_agent),
            ("GET", re.compile(r"^iam$"), self.admin_get_iam),
            ("POST", re.compile(r"^iam$"), self.admin_grant),
            ("DELETE", re.compile(r"^iam$"), self.admin_revoke),
            ("GET", re.compile(r"^permissions$"), self.admin_get_permissions),
            ("POST", re.compile(r"^permissions$"), self.admin_deny),
            ("DELETE", re.compile(r"^permissions$"), self.admin_undeny),
            ("GET", re.compile(r"^faults$"), lambda r, m: Response.json({"faults": self.faults.list()})),
            ("POST", re.compile(r"^faults$"), self.admin_add_fault),
            ("DELETE", re.compile(r"^faults$"), self.admin_clear_faults),
            ("GET", re.compile(r"^requests$"), lambda r, m: Response.json(self.requests.snapshot())),
            ("POST", re.compile(r"^requests/clear$"), self.admin_clear_requests),
            ("GET", re.compile(r"^operations$"), self.admin_operations),
            ("POST", re.compile(r"^operations/forget$"), self.admin_forget_operation),
            ("GET", re.compile(r"^logs/(?P<name>.+)$"), self.admin_logs),
        ]

    # -- dispatch --------------------------------------------------------------
    @staticmethod
    def _route(table: list[tuple[str, re.Pattern, Handler]], request: Request, path: str) -> Response:
        path_matched = False
        for method, pattern, handler in table:
            match = pattern.match(path)
            if match:
                path_matched = True
                if method == request.method:
                    return handler(request, {k: v for k, v in match.groupdict().items() if v is not None})
        if path_matched:
            raise ApiError(404, f"Method {request.method} is not supported on {request.path}")
        raise not_found(f"The requested URL {request.path} was not found on this server.")

    def handle_api(self, request: Request) -> Response:
        try:
            return self._route(self._api, request, request.path)
        except ApiError as error:
            return Response.error(error)

    def handle_admin(self, request: Request) -> Response:
        try:
            return self._route(self._admin, request, request.path[len("/_emulator/"):])
        except ApiError as error:
            return Response.error(error)

    # -- helpers ---------------------------------------------------------------
    @staticmethod
    def _body(request: Request, version: str, method_id: str) -> dict:
        return schema.validate_request(version, method_id, request.json())

    @staticmethod
    def _names(m: dict[str, str]) -> tuple[str, str, Optional[str]]:
        dataset = f"{m['parent']}/datasets/{m['d']}" if "d" in m else ""
        store = f"{dataset}/dicomStores/{m['s']}" if "s" in m else None
        return m["parent"], dataset, store

    def _list(self, key: str, items: list[dict], request: Request) -> Response:
        chunk, token = operations.page(items, request.query.get("pageSize"), request.query.get("pageToken"))
        out: dict[str, Any] = {}
        if chunk:
            out[key] = chunk
        if token:
            out["nextPageToken"] = token
        return Response.json(out)

    # -- datasets ----------------------------------------------------------------
    def create_dataset(self, request: Request, m: dict[str, str]) -> Response:
        version, parent = m["v"], m["parent"]
        body = self._body(request, version, "datasets.create")
        dataset = self.state.create_dataset(parent, request.query.get("datasetId"), body)
        moment = now_utc()
        record = OperationRecord(
            name=operations.new_operation_name(dataset.name), api_version=version,
            method=operations.CREATE_DATASET, request={"datasetId": request.query.get("datasetId"), **body},
            store=None, create_time=moment, end_time=moment, done=True,
            response={"@type": f"type.googleapis.com/google.cloud.healthcare.{version}.Dataset",
                      **dataset.to_json()})
        self.state.add_operation(record)
        return Response.json(operations.render(record, self.base_url))

    def list_datasets(self, request: Request, m: dict[str, str]) -> Response:
        return self._list("datasets", [d.to_json() for d in self.state.list_datasets(m["parent"])], request)

    def get_dataset(self, request: Request, m: dict[str, str]) -> Response:
        return Response.json(self.state.get_dataset(self._names(m)[1]).to_json())

    def delete_dataset(self, request: Request, m: dict[str, str]) -> Response:
        self.state.delete_dataset(self._names(m)[1])
        return Response.json({})

    # -- stores --------------------------------------------------------------------
    def create_store(self, request: Request, m: dict[str, str]) -> Response:
        body = self._body(request, m["v"], "datasets.dicomStores.create")
        store = self.state.create_store(self._names(m)[1], request.query.get("dicomStoreId"), body)
        return Response.json(store.to_json())

    def list_stores(self, request: Request, m: dict[str, str]) -> Response:
        stores = self.state.list_stores(self._names(m)[1])
        return self._list("dicomStores", [s.to_json() for s in stores], request)

    def get_store(self, request: Request, m: dict[str, str]) -> Response:
        return Response.json(self.state.get_store(self._names(m)[2]).to_json())

    def delete_store(self, request: Request, m: dict[str, str]) -> Response:
        self.state.delete_store(self._names(m)[2])
        return Response.json({})

    # -- import / export -------------------------------------------------------------
    def import_data(self, request: Request, m: dict[str, str]) -> Response:
        from . import jobs  # the data plane

        return self._start(request, m, "datasets.dicomStores.import", jobs.validate_import_request,
                           jobs.run_import, operations.IMPORT, "dicom.ImportDicomDataResponse",
                           "dicom.ImportDicomDataErrorDetails")

    def export_data(self, request: Request, m: dict[str, str]) -> Response:
        from . import jobs

        return self._start(request, m, "datasets.dicomStores.export", jobs.validate_export_request,
                           jobs.run_export, operations.EXPORT, "dicom.ExportDicomDataResponse",
                           "dicom.ExportDicomDataErrorDetails", jobs.export_method_suffix)

    def _start(self, request: Request, m: dict[str, str], method_id: str,
               validate: Callable[[dict], None], run: operations.JobFunction, method: str,
               response_type: str, details_type: str,
               suffix: Optional[Callable[[dict], str]] = None) -> Response:
        version = m["v"]
        _, dataset, store_name = self._names(m)
        store = self.state.get_store(store_name)
        body = self._body(request, version, method_id)
        try:
            validate(body)
        except ValueError as exc:
            raise invalid(str(exc)) from None
        record = OperationRecord(name=operations.new_operation_name(dataset), api_version=version,
                                 method=method + (suffix(body) if suffix else ""), request=body,
                                 store=store.name, create_time=now_utc())
        operations.start_job(self.state, record, store, run, body, self.storage_url, self.bigquery_url,
                             response_type, details_type)
        return Response.json({"name": record.name})

    # -- DICOMweb ----------------------------------------------------------------------
    def dicomweb(self, request: Request, m: dict[str, str]) -> Response:
        store = self.state.get_store(self._names(m)[2])
        instances = self.state.instances(store)
        status, headers, body = dicomweb.handle(instances, [p for p in m["rest"].split("/") if p],
                                                request.query)
        return Response(status, body, headers)

    # -- operations ----------------------------------------------------------------------
    def list_operations(self, request: Request, m: dict[str, str]) -> Response:
        dataset = self._names(m)[1]
        matches = operations.parse_filter(request.query.get("filter"))
        with self.state.lock:
            self.state.get_dataset(dataset)
            records = sorted((r for r in self.state.operations.values() if r.dataset == dataset),
                             key=lambda r: (r.create_time, r.name))
            rendered = [operations.render(r, self.base_url) for r in records if matches(r)]
        return self._list("operations", rendered, request)

    def get_operation(self, request: Request, m: dict[str, str]) -> Response:
        name = f"{self._names(m)[1]}/operations/{m['o']}"
        with self.state.lock:
            return Response.json(operations.render(self.state.get_operation(name), self.base_url))

    def cancel_operation(self, request: Request, m: dict[str, str]) -> Response:
        self._body(request, m["v"], "datasets.operations.cancel")
        name = f"{self._names(m)[1]}/operations/{m['o']}"
        operations.request_cancel(self.state, self.state.get_operation(name))
        return Response.json({})

    # -- admin -------------------------------------------------------------------------------
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
            self.state.config = merge_config(self.state.config, request.json() or {})
            return Response.json(dict(self.state.config))

    def admin_service_agent(self, request: Request, m: dict[str, str]) -> Response:
        email = iam.service_agent_email(self.state.project_number)
        return Response.json({"projectNumber": self.state.project_number, "email": email,
                              "member": f"serviceAccount:{email}"})

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

    def admin_logs(self, request: Request, m: dict[str, str]) -> Response:
        with self.state.lock:
            record = self.state.operations.get(m["name"])
            if record is None:
                raise not_found(f"Operation {m['name']} not found")
            return Response.json({"entries": [dict(e) for e in record.logs]})
