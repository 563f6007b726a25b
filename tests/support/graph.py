"""Record the resource graph a Pulumi program registers, with pulumi-gcp and the jobs mocked.

``run_program(path, config=...)`` runs a ``__main__.py`` (``run_callable``: a
function) through the offline engine's program runner
(:mod:`pulumi_offline.program`, the same SDK entry points the engine uses),
but with :class:`GcpMocks` instead of the engine (nothing is applied: no
emulator, no provider host) and a :class:`RecordingMonitor` that keeps, for
every registered resource, its type, name, URN, parent, inputs and the URNs
it depends on (``request.dependencies``: explicit ``depends_on`` plus the
resources its input Outputs came from). The
``gcp:organizations/getProject:getProject`` invoke answers a fixed project
number, so the Healthcare service agent is known:
``serviceAccount:service-123456789012@gcp-sa-healthcare.iam.gserviceaccount.com``.

Each run happens in a fresh thread with its own event loop (the runner's
doing), so the root stack and the config of one run never leak into the next.

pulumi-gcp resources get plausible ids and outputs (a DICOM store's id is
``projects/P/locations/L/datasets/D/dicomStores/S`` as in the real provider);
dynamic resources (``pulumi-python:dynamic...``) are first put through their
real provider's ``check`` (unpickled from ``__provider``, as the engine's
dynamic host would), then get their inputs back plus the job outputs
(operation name, counters, logs URL, times).

Besides the runner's SDK entry points this leans on two internal names:
``pulumi.runtime.mocks.MockMonitor`` (subclassed) and ``rpc``'s secret
signature (to record secret inputs in plain form).
"""

from __future__ import annotations

import base64
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import dill
import pulumi
from pulumi.runtime import mocks as _mocks
from pulumi.runtime import rpc, settings

from pulumi_offline.program import Project, config_strings, run_function
from pulumi_offline.program import run_program as run_program_file

PROJECT_NUMBER = "123456789012"
AGENT_MEMBER = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-healthcare.iam.gserviceaccount.com"
GET_PROJECT = "gcp:organizations/getProject:getProject"
DYNAMIC_PREFIX = "pulumi-python:dynamic"
PROVIDER_KEY = "__provider"


@dataclass
class Registered:
    """One resource registration as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool = False
    retain_on_delete: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    @property
    def is_dynamic(self) -> bool:
        return self.type.startswith(DYNAMIC_PREFIX)


class GcpMocks(pulumi.runtime.Mocks):
    """Plausible pulumi-gcp outputs; dynamic jobs succeed with fixed counters."""

    def __init__(
        self,
        default_project: str,
        default_region: str = "us-central1",
        success_count: int = 3,
        check_jobs: bool = True,
    ) -> None:
        self.default_project = default_project
        self.default_region = default_region
        self.success_count = success_count
        self.calls: list[tuple[str, dict]] = []
        self.check_jobs = check_jobs
        self.checked: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._ops = 0

    def call(self, args: _mocks.MockCallArgs):
        with self._lock:
            self.calls.append((args.token, dict(args.args)))
        if args.token == GET_PROJECT:
            project = args.args.get("projectId") or self.default_project
            return {
                "projectId": project,
                "number": PROJECT_NUMBER,
                "name": project,
                "id": f"projects/{project}",
            }
        raise NotImplementedError(f"no mock for invoke {args.token}")

    def _check_job(self, name: str, serialized: Any, inputs: dict[str, Any]) -> None:
        """Run the real dynamic provider's ``check`` on the job's inputs, as the
        engine does before any create: a graph the provider would reject fails here."""
        if not self.check_jobs or serialized is None:
            return
        if isinstance(serialized, dict):  # secret-wrapped
            serialized = serialized.get("value")
        provider = dill.loads(base64.b64decode(serialized))
        result = provider.check({}, dict(inputs))
        failures = [(f.property, f.reason) for f in (result.failures or [])]
        if failures:
            raise ValueError(f"job {name!r} fails its provider's check: {failures}")
        with self._lock:
            self.checked.append((name, type(provider).__name__))

    def new_resource(self, args: _mocks.MockResourceArgs):
        inputs = {k: v for k, v in args.inputs.items() if k != PROVIDER_KEY}
        typ, name = args.typ, args.name
        out = dict(inputs)
        project = inputs.get("project") or self.default_project
        if typ == "gcp:storage/bucket:Bucket":
            bucket = inputs.get("name") or f"{name}-a1b2c3d"
            out.update(name=bucket, project=project, url=f"gs://{bucket}", selfLink=f"https://www.googleapis.com/storage/v1/b/{bucket}")
            return bucket, out
        if typ == "gcp:storage/bucketObject:BucketObject":
            obj = inputs.get("name") or name
            out.update(name=obj, outputName=obj, mediaLink=f"https://storage.googleapis.com/download/storage/v1/b/{inputs.get('bucket')}/o/{obj}")
            return f"{inputs.get('bucket')}-{obj}", out
        if typ == "gcp:healthcare/dataset:Dataset":
            location = inputs.get("location") or self.default_region
            ds = f"projects/{project}/locations/{location}/datasets/{inputs.get('name') or name}"
            out.update(project=project, location=location, selfLink=ds)
            return ds, out
        if typ == "gcp:healthcare/dicomStore:DicomStore":
            store = f"{inputs['dataset']}/dicomStores/{inputs.get('name') or name}"
            out.update(selfLink=store)
            return store, out
        if typ == "gcp:bigquery/dataset:Dataset":
            dataset_id = inputs.get("datasetId") or name.replace("-", "_")
            out.update(project=project, datasetId=dataset_id, selfLink=f"https://bigquery.googleapis.com/bigquery/v2/projects/{project}/datasets/{dataset_id}")
            return f"projects/{project}/datasets/{dataset_id}", out
        if typ in ("gcp:storage/bucketIAMMember:BucketIAMMember",):
            out.update(etag="CAE=")
            return f"b/{inputs.get('bucket')}/{inputs.get('role')}/{inputs.get('member')}", out
        if typ == "gcp:bigquery/datasetIamMember:DatasetIamMember":
            out.update(etag="CAE=", project=project)
            return f"projects/{project}/datasets/{inputs.get('datasetId')}/{inputs.get('role')}/{inputs.get('member')}", out
        if typ == "gcp:projects/iAMMember:IAMMember":
            out.update(etag="CAE=")
            return f"{inputs.get('project')}/{inputs.get('role')}/{inputs.get('member')}", out
        if typ.startswith(DYNAMIC_PREFIX):
            self._check_job(name, args.inputs.get(PROVIDER_KEY), inputs)
            with self._lock:
                self._ops += 1
                op = self._ops
            store = str(inputs.get("dicom_store") or inputs.get("dicomStore") or "")
            dataset = store.split("/dicomStores/")[0]
            kind = "ImportDicomData" if ("gcs_source" in inputs or "gcsSource" in inputs or "Import" in typ) else "ExportDicomData"
            operation = f"{dataset}/operations/{op:020d}"
            out.update(
                operation_name=operation,
                success_count=self.success_count,
                failure_count=0,
                logs_url=f"https://console.cloud.google.com/logs/query?op={op}",
                create_time="2024-01-01T00:00:00Z",
                end_time="2024-01-01T00:01:00Z",
                api_method_name=f"google.cloud.healthcare.v1.dicom.DicomService.{kind}",
            )
            return operation, out
        return f"{name}-id", out


def _unwrap_secrets(value: Any) -> Any:
    """Recorded inputs in plain form: secret wrappers (``{sig: secret, value: v}``) dropped."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _unwrap_secrets(value.get("value"))
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


class RecordingMonitor(_mocks.MockMonitor):
    """A MockMonitor that also keeps every registration with its dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks, project: str, stack: str) -> None:
        super().__init__(mocks)
        # The run's own names: older SDKs call the monitor from executor
        # threads without the program's context, where get_stack() is a default.
        self.project, self.stack = project, stack
        self.registered: dict[str, Registered] = {}
        self.order: list[str] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine forms them: the parent's full qualified type chain,
        and no ``pulumi:pulumi:Stack$`` for resources directly under the stack
        (the SDK's mock keeps only the last parent type and includes the stack)."""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != "pulumi:pulumi:Stack":
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([self.stack, self.project, type_, name])

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object)
        inputs.pop(PROVIDER_KEY, None)
        registration = self.resources.get(response.urn)
        record = Registered(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            inputs=_unwrap_secrets(dict(inputs)),
            dependencies=list(request.dependencies),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            outputs=dict(registration.state) if registration else {},
            id=registration.id if registration else "",
        )
        with self._lock:
            self.registered[response.urn] = record
            self.order.append(response.urn)
        return response


@dataclass
class Graph:
    """The recorded resources of one program run, with query helpers."""

    resources: dict[str, Registered]
    outputs: dict[str, Any]
    calls: list[tuple[str, dict]]
    project: str
    stack: str
    checked: list[tuple[str, str]] = field(default_factory=list)

    def of_type(self, *types: str) -> list[Registered]:
        return [r for r in self.resources.values() if r.type in types]

    def by_name(self, name: str, type: Optional[str] = None) -> Registered:
        found = [r for r in self.resources.values() if r.name == name and (type is None or r.type == type)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r} (type {type}); have {sorted(self.names())}")
        return found[0]

    def names(self, type: Optional[str] = None) -> list[str]:
        return [r.name for r in self.resources.values() if type is None or r.type == type]

    @property
    def jobs(self) -> list[Registered]:
        return [r for r in self.resources.values() if r.is_dynamic]

    @property
    def types(self) -> set[str]:
        return {r.type for r in self.resources.values()}

    def depends_on(self, resource: Registered, other: Registered) -> bool:
        """Whether ``resource`` depends on ``other``: directly, through ``other``'s
        component ancestors, or transitively through the recorded dependencies."""
        seen: set[str] = set()
        todo = list(resource.dependencies)
        while todo:
            urn = todo.pop()
            if urn in seen:
                continue
            seen.add(urn)
            if urn == other.urn:
                return True
            dep = self.resources.get(urn)
            if dep is not None:
                todo.extend(dep.dependencies)
        return False

    def directly_depends_on(self, resource: Registered, other: Registered) -> bool:
        return other.urn in resource.dependencies

    def children(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources.values() if r.parent == parent.urn]

    def urn(self, type_chain: str, name: str) -> str:
        """The URN a resource has in this run: ``type_chain`` is ``Parent$Child`` types."""
        return f"urn:pulumi:{self.stack}::{self.project}::{type_chain}::{name}"


def run_program(
    program: str | os.PathLike[str],
    config: Mapping[str, Any] | None = None,
    *,
    stack: str = "test",
    preview: bool = False,
    default_project: str | None = None,
    mocks: GcpMocks | None = None,
) -> Graph:
    """Run ``program`` (the ``__main__.py`` of a project) under mocks; return the recorded graph.

    The project's name is the ``name:`` of the ``Pulumi.yaml`` beside it.
    ``config`` keys without a namespace get the project's (``bucket`` ->
    ``<project>:bucket``); non-string values are JSON-encoded like structured
    stack config. Program errors propagate.
    """
    project = Project.load(Path(program).resolve().parent)
    if project.main != Path(program).resolve():
        raise ValueError(f"{program} is not the program of {project.directory} ({project.main} is)")
    return _record(lambda mocks, monitor, strings: run_program_file(
        project, stack, strings, mocks=mocks, monitor=monitor, preview=preview),
        project.name, stack, config, default_project, mocks)


def run_callable(
    body: Callable[[], None],
    config: Mapping[str, Any] | None = None,
    *,
    project: str = "test-project",
    stack: str = "test",
    preview: bool = False,
    default_project: str | None = None,
    mocks: GcpMocks | None = None,
) -> Graph:
    """Run ``body`` as the program of project ``project`` under mocks; return the recorded graph."""
    return _record(lambda mocks, monitor, strings: run_function(
        body, project, stack, strings, mocks=mocks, monitor=monitor, preview=preview),
        project, stack, config, default_project, mocks)


def _record(run: Callable[[GcpMocks, RecordingMonitor, dict[str, str]], dict[str, Any]], project: str,
            stack: str, config: Mapping[str, Any] | None, default_project: str | None,
            mocks: GcpMocks | None) -> Graph:
    """Run through the offline engine's program runner with recording mocks; the graph they saw."""
    config = dict(config or {})
    mocks = mocks or GcpMocks(default_project or str(config.get("gcp:project") or "default-project"))
    monitor = RecordingMonitor(mocks, project, stack)
    outputs = run(mocks, monitor, config_strings(project, config))
    return Graph(
        resources=dict(monitor.registered),
        outputs=outputs,
        calls=list(mocks.calls),
        project=project,
        stack=stack,
        checked=list(mocks.checked),
    )


def assert_least_privilege(graph: Graph, *, member: str = AGENT_MEMBER) -> None:
    """The IAM invariants every program here must keep.

    * no ``*IAMBinding`` / ``*IAMPolicy`` (authoritative) resource of any kind;
    * every IAM member resource grants the Healthcare service agent;
    * the only project-level role is ``roles/bigquery.jobUser``;
    * storage roles only on buckets, BigQuery data roles only on datasets.
    """
    for r in graph.resources.values():
        lowered = r.type.lower()
        assert "iambinding" not in lowered and "iampolicy" not in lowered, f"authoritative IAM resource {r.urn}"
    members = [r for r in graph.resources.values() if r.type.lower().endswith("member")]
    assert members, "no IAM grants at all"
    for r in members:
        assert r.inputs.get("member") == member, f"{r.urn} grants {r.inputs.get('member')!r}"
        assert "condition" not in r.inputs or not r.inputs["condition"], f"{r.urn} has an IAM condition"
    for r in graph.of_type("gcp:projects/iAMMember:IAMMember"):
        assert r.inputs["role"] == "roles/bigquery.jobUser", f"project-level {r.inputs['role']} in {r.urn}"
    for r in graph.of_type("gcp:storage/bucketIAMMember:BucketIAMMember"):
        assert r.inputs["role"] in ("roles/storage.objectViewer", "roles/storage.objectAdmin"), r.urn
    for r in graph.of_type("gcp:bigquery/datasetIamMember:DatasetIamMember"):
        assert r.inputs["role"] == "roles/bigquery.dataEditor", r.urn
    allowed = {
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "gcp:bigquery/datasetIamMember:DatasetIamMember",
        "gcp:projects/iAMMember:IAMMember",
    }
    assert {r.type for r in members} <= allowed, {r.type for r in members} - allowed


def grants_of(graph: Graph) -> list[tuple[str, str, str, str]]:
    """Every grant as ``(type short name, role, member, target)``, sorted."""
    rows = []
    for r in graph.resources.values():
        if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember":
            rows.append(("bucket", r.inputs["role"], r.inputs["member"], r.inputs["bucket"]))
        elif r.type == "gcp:bigquery/datasetIamMember:DatasetIamMember":
            rows.append(("dataset", r.inputs["role"], r.inputs["member"], f"{r.inputs.get('project')}.{r.inputs['datasetId']}"))
        elif r.type == "gcp:projects/iAMMember:IAMMember":
            rows.append(("project", r.inputs["role"], r.inputs["member"], r.inputs["project"]))
    return sorted(rows)


def is_grant(r: Registered) -> bool:
    return r.type in (
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "gcp:bigquery/datasetIamMember:DatasetIamMember",
        "gcp:projects/iAMMember:IAMMember",
    )
