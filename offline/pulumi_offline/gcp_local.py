"""Apply the pulumi-gcp resources the programs use to the local stack (not echo them).

Each supported type token has an :class:`Applier` that creates, updates and
deletes the real thing in the local emulators, found through the usual
environment variables (``STORAGE_EMULATOR_HOST``, ``BIGQUERY_EMULATOR_HOST``,
``HEALTHCARE_EMULATOR_HOST``), and returns outputs shaped like pulumi-gcp's
(``id``, ``name``, ``selfLink``, ``url``, ``project``...; camelCase on the
wire, as the SDK expects). IAM member resources become grants in the
Healthcare emulator's IAM model (``/_emulator/iam``). Properties the emulators
do not model (labels, time zones...) are recorded, not enforced.

Inputs and outputs use the wire (camelCase) property names. A type or invoke
not listed here fails the run with a message naming it: never a silent echo.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

import requests

from .messages import UnsupportedError
from .state import ResourceState

_TIMEOUT_S = 60.0
_BEARER = {"Authorization": "Bearer pulumi-offline"}
DEFAULT_PROJECT = "local-project"


class CloudError(Exception):
    """An emulator answered with an error."""


class LocalCloud:
    """The emulator endpoints plus the default project (``gcp:project`` config)."""

    def __init__(self, env: Mapping[str, str] | None = None, project: str | None = None) -> None:
        env = {**os.environ, **(env or {})}
        self.storage_url = (env.get("STORAGE_EMULATOR_HOST") or "").rstrip("/")
        self.bigquery_url = (env.get("BIGQUERY_EMULATOR_HOST") or "").rstrip("/")
        host = env.get("HEALTHCARE_EMULATOR_HOST") or ""
        self.healthcare_url = (host if host.startswith("http") else f"http://{host}").rstrip("/") if host else ""
        self.project = project or env.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT
        self._local = threading.local()
        self._agent: dict[str, Any] | None = None
        #: (project, service) pairs enabled through ``gcp.projects.Service``.
        self.enabled_services: set[tuple[str, str]] = set()
        self.appliers: dict[str, Applier] = {cls.type: cls(self) for cls in _APPLIERS}

    # -- HTTP ------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _base(self, which: str) -> str:
        url = {"storage": self.storage_url, "bigquery": self.bigquery_url, "healthcare": self.healthcare_url}[which]
        if not url:
            var = {"storage": "STORAGE_EMULATOR_HOST", "bigquery": "BIGQUERY_EMULATOR_HOST",
                   "healthcare": "HEALTHCARE_EMULATOR_HOST"}[which]
            raise CloudError(f"{var} is not set: start the local stack (python -m healthcare_emulator.stack)")
        return url

    def http(self, which: str, method: str, path: str, *, ok_missing: bool = False, **kwargs: Any) -> dict:
        """Call an emulator; raise :class:`CloudError` with its message on failure.

        ``ok_missing``: a 404 answers ``{}`` (deleting what is already gone).
        """
        url = self._base(which) + path
        headers = dict(kwargs.pop("headers", {}) or {})
        if which == "healthcare" and not path.startswith("/_emulator/"):
            headers.update(_BEARER)
        try:
            response = self.session.request(method, url, headers=headers, timeout=_TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            raise CloudError(f"{method} {url}: {exc}") from None
        if response.status_code == 404 and ok_missing:
            return {}
        if response.status_code >= 400:
            message = response.text[:500]
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise CloudError(f"{method} {path}: HTTP {response.status_code}: {message}")
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    def service_agent(self) -> dict[str, Any]:
        if self._agent is None:
            self._agent = self.http("healthcare", "GET", "/_emulator/service-agent")
        return self._agent

    # -- dispatch --------------------------------------------------------
    def applier(self, type_: str) -> "Applier":
        try:
            return self.appliers[type_]
        except KeyError:
            raise UnsupportedError(
                f"resource type {type_} is not supported by pulumi-offline "
                f"(supported: {', '.join(sorted(self.appliers))})") from None

    def call(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        if token == "gcp:organizations/getProject:getProject":
            project = args.get("projectId") or self.project
            number = str(self.service_agent()["projectNumber"])
            return {"id": f"projects/{project}", "projectId": project, "number": number, "name": project,
                    "orgId": "", "folderId": "", "labels": {}, "effectiveLabels": {}, "autoCreateNetwork": True}
        raise UnsupportedError(f"invoke {token} is not supported by pulumi-offline "
                               "(supported: gcp:organizations/getProject:getProject)")


class Applier:
    """How one pulumi-gcp type is applied. ``replace_keys=None``: every change replaces."""

    type = ""
    replace_keys: frozenset[str] | None = None
    delete_before_replace = True  # names are fixed: the new one cannot exist beside the old one

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return inputs

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def update(self, old: ResourceState, inputs: dict[str, Any]) -> dict[str, Any]:
        """Default: the changed fields are recorded only (the emulators do not model them)."""
        return {**old.outputs, **inputs}

    def delete(self, old: ResourceState) -> str | None:
        """Delete; may return a note for the display."""
        raise NotImplementedError

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(inputs)

    def _project(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not inputs.get("project"):
            inputs = {**inputs, "project": self.cloud.project}
        return inputs


class _DerivedOutputs(Applier):
    """An applier whose outputs follow from its inputs alone (ids, links)."""

    def _outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, old: ResourceState, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(inputs)

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(inputs)


def _autoname(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)[:7]}".lower()


# --------------------------------------------------------------------------- Cloud Storage
class Bucket(Applier):
    type = "gcp:storage/bucket:Bucket"
    replace_keys = frozenset({"name", "location", "project"})

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        if not inputs.get("location"):
            raise CloudError("location: required for a bucket")
        return inputs

    def _outputs(self, bucket: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "id": bucket, "name": bucket, "url": f"gs://{bucket}",
                "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}",
                "location": str(inputs.get("location", "")).upper(),
                "storageClass": inputs.get("storageClass") or "STANDARD",
                "forceDestroy": bool(inputs.get("forceDestroy", False))}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bucket = inputs.get("name") or _autoname(name)
        body = {"name": bucket, "location": inputs["location"],
                "storageClass": inputs.get("storageClass") or "STANDARD"}
        if inputs.get("labels"):
            body["labels"] = inputs["labels"]
        self.cloud.http("storage", "POST", f"/storage/v1/b?project={quote(inputs['project'])}", json=body)
        return bucket, self._outputs(bucket, inputs)

    def update(self, old: ResourceState, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(old.id, inputs)

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(inputs["name"], inputs) if inputs.get("name") else dict(inputs)

    def delete(self, old: ResourceState) -> str | None:
        bucket = old.id
        listing = self.cloud.http("storage", "GET", f"/storage/v1/b/{quote(bucket, safe='')}/o", ok_missing=True)
        items = listing.get("items") or []
        if items and not old.outputs.get("forceDestroy", old.inputs.get("forceDestroy")):
            raise CloudError(f"bucket {bucket} is not empty ({len(items)}+ objects) and force_destroy is false: "
                             "not deleted (set force_destroy=True or empty it first)")
        for item in items:
            self.cloud.http("storage", "DELETE",
                            f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(item['name'], safe='')}",
                            ok_missing=True)
        self.cloud.http("storage", "DELETE", f"/storage/v1/b/{quote(bucket, safe='')}", ok_missing=True)
        return f"{len(items)} objects deleted with it" if items else None


class BucketObject(Applier):
    type = "gcp:storage/bucketObject:BucketObject"
    replace_keys = None

    @staticmethod
    def _content(inputs: dict[str, Any]) -> bytes:
        if inputs.get("content") is not None:
            return str(inputs["content"]).encode()
        source = inputs.get("source")
        if isinstance(source, dict) and source.get("__asset") == "string":
            return source["text"].encode()
        if isinstance(source, dict) and source.get("__asset") == "file":
            return Path(source["path"]).read_bytes()
        text = getattr(source, "text", None)
        if text is not None:
            return text.encode()
        path = getattr(source, "path", None)
        if path is not None:
            return Path(path).read_bytes()
        raise CloudError("content or source (a StringAsset or FileAsset) is required for a bucket object")

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bucket, object_name = inputs.get("bucket"), inputs.get("name")
        if not bucket or not object_name:
            raise CloudError("bucket and name are required for a bucket object")
        data = self._content(inputs)
        content_type = inputs.get("contentType") or "application/octet-stream"
        self.cloud.http("storage", "POST",
                        f"/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=media&name={quote(object_name, safe='')}",
                        data=data, headers={"Content-Type": content_type})
        quoted = quote(object_name, safe="")
        outputs = {**inputs, "id": f"{bucket}-{object_name}", "bucket": bucket, "name": object_name,
                   "outputName": object_name, "contentType": content_type,
                   "md5hash": hashlib.md5(data).hexdigest(),  # noqa: S324 a checksum, as GCS reports
                   "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{quoted}",
                   "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{quoted}?alt=media"}
        outputs.pop("source", None)
        outputs.pop("content", None)
        return outputs["id"], outputs

    def delete(self, old: ResourceState) -> str | None:
        bucket, object_name = old.outputs.get("bucket"), old.outputs.get("name")
        self.cloud.http("storage", "DELETE",
                        f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(object_name, safe='')}", ok_missing=True)
        return None


# --------------------------------------------------------------------------- BigQuery
class BigQueryDataset(_DerivedOutputs):
    type = "gcp:bigquery/dataset:Dataset"
    replace_keys = frozenset({"datasetId", "project", "location"})

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        if not inputs.get("datasetId"):
            raise CloudError("datasetId: required for a BigQuery dataset")
        return inputs

    def _outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        project, dataset = inputs["project"], inputs["datasetId"]
        return {**inputs, "id": f"projects/{project}/datasets/{dataset}",
                "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/projects/{project}/datasets/{dataset}",
                "location": inputs.get("location") or "US"}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        project, dataset = inputs["project"], inputs["datasetId"]
        body: dict[str, Any] = {"datasetReference": {"projectId": project, "datasetId": dataset},
                                "location": inputs.get("location") or "US"}
        for key in ("friendlyName", "description", "labels"):
            if inputs.get(key):
                body[key] = inputs[key]
        self.cloud.http("bigquery", "POST", f"/bigquery/v2/projects/{quote(project)}/datasets", json=body)
        outputs = self._outputs(inputs)
        return outputs["id"], outputs

    def delete(self, old: ResourceState) -> str | None:
        project, dataset = old.outputs.get("project"), old.outputs.get("datasetId")
        base = f"/bigquery/v2/projects/{quote(project)}/datasets/{quote(dataset)}"
        contents = bool(old.outputs.get("deleteContentsOnDestroy", old.inputs.get("deleteContentsOnDestroy")))
        if not contents:
            tables = self.cloud.http("bigquery", "GET", base + "/tables", ok_missing=True).get("tables") or []
            if tables:
                raise CloudError(f"BigQuery dataset {project}.{dataset} still holds {len(tables)} tables and "
                                 "delete_contents_on_destroy is false: not deleted")
        self.cloud.http("bigquery", "DELETE", base + ("?deleteContents=true" if contents else ""), ok_missing=True)
        return None


# --------------------------------------------------------------------------- Cloud Healthcare
class HealthcareDataset(_DerivedOutputs):
    type = "gcp:healthcare/dataset:Dataset"
    replace_keys = frozenset({"name", "location", "project"})

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        for key in ("name", "location"):
            if not inputs.get(key):
                raise CloudError(f"{key}: required for a Healthcare dataset")
        return inputs

    def _outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        full = f"projects/{inputs['project']}/locations/{inputs['location']}/datasets/{inputs['name']}"
        return {**inputs, "id": full, "selfLink": full, "timeZone": inputs.get("timeZone") or "UTC"}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        parent = f"projects/{inputs['project']}/locations/{inputs['location']}"
        body = {"timeZone": inputs["timeZone"]} if inputs.get("timeZone") else {}
        self.cloud.http("healthcare", "POST", f"/v1/{parent}/datasets?datasetId={quote(inputs['name'])}", json=body)
        outputs = self._outputs(inputs)
        return outputs["id"], outputs

    def delete(self, old: ResourceState) -> str | None:
        self.cloud.http("healthcare", "DELETE", f"/v1/{old.id}", ok_missing=True)
        return None


class DicomStore(_DerivedOutputs):
    type = "gcp:healthcare/dicomStore:DicomStore"
    replace_keys = frozenset({"name", "dataset"})

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        for key in ("name", "dataset"):
            if not inputs.get(key):
                raise CloudError(f"{key}: required for a DICOM store")
        return inputs

    def _outputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        full = f"{inputs['dataset']}/dicomStores/{inputs['name']}"
        return {**inputs, "id": full, "selfLink": full}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        body = {"labels": inputs["labels"]} if inputs.get("labels") else {}
        self.cloud.http("healthcare", "POST",
                        f"/v1/{inputs['dataset']}/dicomStores?dicomStoreId={quote(inputs['name'])}", json=body)
        outputs = self._outputs(inputs)
        return outputs["id"], outputs

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(inputs) if isinstance(inputs.get("dataset"), str) else dict(inputs)

    def delete(self, old: ResourceState) -> str | None:
        self.cloud.http("healthcare", "DELETE", f"/v1/{old.id}", ok_missing=True)
        return None


class ProjectService(Applier):
    """``gcp.projects.Service``: enabling an API only flips a flag here (the emulators serve
    every API anyway); like Google Cloud, enabling twice is fine."""

    type = "gcp:projects/service:Service"
    replace_keys = None

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(inputs)
        if inputs.get("service") != "healthcare.googleapis.com":
            raise CloudError(f"service: only healthcare.googleapis.com is modelled offline, got {inputs.get('service')!r}")
        return inputs

    def _outputs(self, inputs: dict[str, Any], agent: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ident = f"projects/{inputs['project']}/services/{inputs['service']}"
        return ident, {**inputs, "id": ident, "email": agent["email"], "member": agent["member"]}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        agent = self.cloud.http("healthcare", "POST", "/_emulator/service-agent")
        return self._outputs(inputs, agent)

    def preview_outputs(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._outputs(self._project(inputs), self.cloud.service_agent())[1]

    def delete(self, old: ResourceState) -> str | None:
        return None  # removing it from the stack does not remove the agent


# --------------------------------------------------------------------------- IAM (emulator grants)
class _Grant(Applier):
    replace_keys = None
    delete_before_replace = False  # additive grants: a new one beside the old one is fine

    def resource(self, inputs: dict[str, Any]) -> str:
        raise NotImplementedError

    def ident(self, inputs: dict[str, Any]) -> str:
        raise NotImplementedError

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        for key in ("role", "member"):
            if not inputs.get(key):
                raise CloudError(f"{key}: required for an IAM member")
        return inputs

    def _grant(self, inputs: dict[str, Any]) -> dict[str, str]:
        return {"resource": self.resource(inputs), "role": inputs["role"], "member": inputs["member"]}

    def create(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.cloud.http("healthcare", "POST", "/_emulator/iam", json=self._grant(inputs))
        ident = self.ident(inputs)
        return ident, {**inputs, "id": ident, "etag": hashlib.sha1(ident.encode()).hexdigest()[:16]}  # noqa: S324

    def delete(self, old: ResourceState) -> str | None:
        self.cloud.http("healthcare", "DELETE", "/_emulator/iam", json=self._grant(old.inputs), ok_missing=True)
        return None


class BucketIAMMember(_Grant):
    type = "gcp:storage/bucketIAMMember:BucketIAMMember"

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = super().check(name, inputs)
        if not inputs.get("bucket"):
            raise CloudError("bucket: required for a bucket IAM member")
        return {**inputs, "bucket": str(inputs["bucket"]).removeprefix("b/")}

    def resource(self, inputs: dict[str, Any]) -> str:
        return f"//storage.googleapis.com/projects/_/buckets/{inputs['bucket']}"

    def ident(self, inputs: dict[str, Any]) -> str:
        return f"b/{inputs['bucket']}/{inputs['role']}/{inputs['member']}"


class DatasetIamMember(_Grant):
    type = "gcp:bigquery/datasetIamMember:DatasetIamMember"

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(super().check(name, inputs))
        if not inputs.get("datasetId"):
            raise CloudError("datasetId: required for a BigQuery dataset IAM member")
        return inputs

    def resource(self, inputs: dict[str, Any]) -> str:
        return f"//bigquery.googleapis.com/projects/{inputs['project']}/datasets/{inputs['datasetId']}"

    def ident(self, inputs: dict[str, Any]) -> str:
        return f"projects/{inputs['project']}/datasets/{inputs['datasetId']}/{inputs['role']}/{inputs['member']}"


class ProjectIAMMember(_Grant):
    type = "gcp:projects/iAMMember:IAMMember"

    def check(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._project(super().check(name, inputs))

    def resource(self, inputs: dict[str, Any]) -> str:
        return f"//cloudresourcemanager.googleapis.com/projects/{inputs['project']}"

    def ident(self, inputs: dict[str, Any]) -> str:
        return f"{inputs['project']}/{inputs['role']}/{inputs['member']}"


_APPLIERS = (Bucket, BucketObject, BigQueryDataset, HealthcareDataset, DicomStore, ProjectService, ServiceIdentity,
             BucketIAMMember, DatasetIamMember, ProjectIAMMember)
