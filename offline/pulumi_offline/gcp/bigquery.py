"""BigQuery: ``gcp.bigquery.Dataset`` on the BigQuery emulator.

Why here: a dataset that still holds tables is deleted only with
``delete_contents_on_destroy``, as pulumi-gcp does, and a BigQuery export
writes tables into it, so that refusal is met in practice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..messages import counted
from ..state import ResourceState
from .applier import DerivedOutputs
from .cloud import CloudError


class BigQueryDataset(DerivedOutputs):
    type = "gcp:bigquery/dataset:Dataset"
    replace_keys = frozenset({"datasetId", "project", "location"})

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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

    def read(self, old: ResourceState) -> dict[str, Any] | None:
        project, dataset = old.outputs.get("project"), old.outputs.get("datasetId")
        return self._exists("bigquery", f"/bigquery/v2/projects/{quote(project)}/datasets/{quote(dataset)}", old)

    def delete(self, old: ResourceState) -> str | None:
        project, dataset = old.outputs.get("project"), old.outputs.get("datasetId")
        base = f"/bigquery/v2/projects/{quote(project)}/datasets/{quote(dataset)}"
        contents = bool(old.outputs.get("deleteContentsOnDestroy", old.inputs.get("deleteContentsOnDestroy")))
        if not contents:
            tables = self.cloud.http("bigquery", "GET", base + "/tables", ok_missing=True).get("tables") or []
            if tables:
                raise CloudError(f"BigQuery dataset {project}.{dataset} still holds "
                                 f"{counted(len(tables), 'table')} and delete_contents_on_destroy is false: "
                                 "not deleted (set delete_contents_on_destroy=True or delete its tables first)")
        self.cloud.http("bigquery", "DELETE", base + ("?deleteContents=true" if contents else ""), ok_missing=True)
        return None
