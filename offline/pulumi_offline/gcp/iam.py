"""IAM member resources as grants in the Healthcare emulator's permission model (``/_emulator/iam``).

Why here: the three ``*IAMMember`` types the product uses are additive grants
on one bucket, dataset or project; the emulator enforces them (unless started
with ``--no-enforce-iam``), so a program that forgets one fails offline as it
would on Google Cloud. A grant can be replaced with the new one made first: two
grants side by side are harmless.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..state import ResourceState
from .applier import Applier
from .cloud import CloudError


class Grant(Applier):
    """One additive grant; a subclass names the resource it is on and the id pulumi-gcp gives it."""

    replace_keys = None
    delete_before_replace = False  # additive grants: a new one beside the old one is fine

    def resource(self, inputs: dict[str, Any]) -> str:
        raise NotImplementedError

    def ident(self, inputs: dict[str, Any]) -> str:
        raise NotImplementedError

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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


class BucketIAMMember(Grant):
    type = "gcp:storage/bucketIAMMember:BucketIAMMember"

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = super().validate(name, inputs)
        if not inputs.get("bucket"):
            raise CloudError("bucket: required for a bucket IAM member")
        return {**inputs, "bucket": str(inputs["bucket"]).removeprefix("b/")}

    def resource(self, inputs: dict[str, Any]) -> str:
        return f"//storage.googleapis.com/projects/_/buckets/{inputs['bucket']}"

    def ident(self, inputs: dict[str, Any]) -> str:
        return f"b/{inputs['bucket']}/{inputs['role']}/{inputs['member']}"


class DatasetIamMember(Grant):
    type = "gcp:bigquery/datasetIamMember:DatasetIamMember"

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        inputs = self._project(super().validate(name, inputs))
        if not inputs.get("datasetId"):
            raise CloudError("datasetId: required for a BigQuery dataset IAM member")
        return inputs

    def resource(self, inputs: dict[str, Any]) -> str:
        return f"//bigquery.googleapis.com/projects/{inputs['project']}/datasets/{inputs['datasetId']}"

    def ident(self, inputs: dict[str, Any]) -> str:
        return f"projects/{inputs['project']}/datasets/{inputs['datasetId']}/{inputs['role']}/{inputs['member']}"


class ProjectIAMMember(Grant):
    type = "gcp:projects/iAMMember:IAMMember"

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        return self._project(super().validate(name, inputs))

    def resource(self, inputs: dict[str, Any]) -> str:
        return f"//cloudresourcemanager.googleapis.com/projects/{inputs['project']}"

    def ident(self, inputs: dict[str, Any]) -> str:
        return f"{inputs['project']}/{inputs['role']}/{inputs['member']}"
