"""The public REST surface: datasets, DICOM stores, import/export, operations, DICOMweb.

Why apart from the admin surface (:mod:`healthcare_emulator.admin_routes`):
these are the routes of the real API, with the real URLs, bodies and errors
(ARCHITECTURE.md lists them); each handler is a short translation between
JSON and :class:`~healthcare_emulator.state.EmulatorState`. The handlers see
only a method's own query parameters: Google's system parameters (``alt``,
``fields``, ...) are taken out by :mod:`healthcare_emulator.sysparams` first
and their effect on the answer is applied here, once, for every method.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from . import body_validation, dicomweb, operations, partial
from .errors import ApiError, invalid
from .routing import Request, Response, Route, find, route
from .state import EmulatorState, OperationRecord, now_utc
from .sysparams import check_alt

_LOCATION = r"^/(?P<v>v1|v1beta1)/(?P<parent>projects/[^/:]+/locations/[^/:]+)"
_DATASET = _LOCATION + r"/datasets/(?P<d>[^/:]+)"
_STORE = _DATASET + r"/dicomStores/(?P<s>[^/:]+)"
_OPERATION = _DATASET + r"/operations/(?P<o>[^/:]+)"


class ApiRoutes:
    """The Healthcare API's handlers over the shared state."""

    def __init__(self, state: EmulatorState, storage_url: str, bigquery_url: Optional[str]) -> None:
        self.state = state
        self.storage_url = storage_url.rstrip("/")
        self.bigquery_url = bigquery_url.rstrip("/") if bigquery_url else None
        self.base_url = ""  # set by the server once bound
        self.routes: list[Route] = [
            route("POST", _LOCATION + r"/datasets$", self.create_dataset),
            route("GET", _LOCATION + r"/datasets$", self.list_datasets),
            route("GET", _DATASET + r"$", self.get_dataset),
            route("DELETE", _DATASET + r"$", self.delete_dataset),
            route("POST", _DATASET + r"/dicomStores$", self.create_store),
            route("GET", _DATASET + r"/dicomStores$", self.list_stores),
            route("GET", _STORE + r"$", self.get_store),
            route("DELETE", _STORE + r"$", self.delete_store),
            route("POST", _STORE + r":import$", self.import_data),
            route("POST", _STORE + r":export$", self.export_data),
            route("GET", _STORE + r"/dicomWeb/(?P<rest>.+)$", self.dicomweb, byte_stream=True),
            route("GET", _DATASET + r"/operations$", self.list_operations),
            route("GET", _OPERATION + r"$", self.get_operation),
            route("POST", _OPERATION + r":cancel$", self.cancel_operation),
        ]

    def handle(self, request: Request) -> Response:
        """Answer an authenticated API request, with its system parameters applied."""
        try:
            found, groups = find(self.routes, request, request.path)
            check_alt(request.system.alt, found.byte_stream)
            response = found.handler(request, groups)
        except ApiError as error:
            return Response.error(error)
        if request.system.fields is not None and not found.byte_stream and response.status == 200:
            response = Response.json(partial.select(json.loads(response.body), request.system.fields),
                                     response.status)
        return response

    # -- helpers ---------------------------------------------------------------
    @staticmethod
    def _body(request: Request, version: str, method_id: str) -> dict:
        return body_validation.validate_request(version, method_id, request.json())

    @staticmethod
    def _names(m: dict[str, str]) -> tuple[str, str, Optional[str]]:
        dataset = f"{m['parent']}/datasets/{m['d']}" if "d" in m else ""
        store = f"{dataset}/dicomStores/{m['s']}" if "s" in m else None
        return m["parent"], dataset, store

    def _list(self, key: str, items: list, request: Request,
              render: Callable[[Any], dict] = lambda item: item) -> Response:
        """One page of ``items``, each rendered (only the page's: a dataset may hold thousands)."""
        chunk, token = operations.page(items, request.query.get("pageSize"), request.query.get("pageToken"))
        chunk = [render(item) for item in chunk]
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
        from . import job_requests, jobs  # the data plane

        return self._start(request, m, "datasets.dicomStores.import", job_requests.validate_import_request,
                           jobs.run_import, operations.IMPORT,
                           lambda _body, v: f"google.cloud.healthcare.{v}.dicom.ImportDicomDataResponse",
                           "dicom.ImportDicomDataErrorDetails")

    def export_data(self, request: Request, m: dict[str, str]) -> Response:
        from . import job_requests, jobs

        def validate(body: dict) -> None:
            job_requests.validate_export_request(body)
            job_requests.check_bigquery_project(body, m["v"], self._names(m)[2], self.state.projects)

        return self._start(request, m, "datasets.dicomStores.export", validate, jobs.run_export,
                           operations.EXPORT, job_requests.export_response_type,
                           "dicom.ExportDicomDataErrorDetails", job_requests.export_method_suffix)

    def _start(self, request: Request, m: dict[str, str], method_id: str,
               validate: Callable[[dict], None], run: operations.JobFunction, method: str,
               response_type: Callable[[dict, str], str], details_type: str,
               suffix: Optional[Callable[[dict], str]] = None) -> Response:
        """Validate, register and start a job; ``response_type(body, version)`` names its success message."""
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
                             response_type(body, version), details_type)
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
        operations.refuse_filter(request.query.get("filter"))
        with self.state.lock:
            self.state.get_dataset(dataset)
            records = sorted((r for r in self.state.operations.values() if r.dataset == dataset),
                             key=lambda r: (r.create_time, r.name))
            return self._list("operations", records, request,
                              lambda record: operations.render(record, self.base_url))

    def get_operation(self, request: Request, m: dict[str, str]) -> Response:
        name = f"{self._names(m)[1]}/operations/{m['o']}"
        with self.state.lock:
            return Response.json(operations.render(self.state.get_operation(name), self.base_url))

    def cancel_operation(self, request: Request, m: dict[str, str]) -> Response:
        self._body(request, m["v"], "datasets.operations.cancel")
        name = f"{self._names(m)[1]}/operations/{m['o']}"
        operations.request_cancel(self.state, self.state.get_operation(name))
        return Response.json({})

