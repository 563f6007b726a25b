"""Cloud Healthcare: ``gcp.healthcare.Dataset`` and ``DicomStore`` on the Healthcare emulator.

Why here: the stores the DICOM jobs read and write are created through the
emulator's public API, exactly as pulumi-gcp would create them, so a job
finds them where the real API would put them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..state import ResourceState
from .applier import AUTONAME_MAX, DerivedOutputs
from .cloud import CloudError


class HealthcareDataset(DerivedOutputs):
    type = "gcp:healthcare/dataset:Dataset"
    replace_keys = frozenset({"name", "location", "project"})
    autoname_max = AUTONAME_MAX

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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

    def read(self, old: ResourceState) -> dict[str, Any] | None:
        return self._exists("healthcare", f"/v1/{old.id}", old)

    def delete(self, old: ResourceState) -> str | None:
        self.cloud.http("healthcare", "DELETE", f"/v1/{old.id}", ok_missing=True)
        return None


class DicomStore(DerivedOutputs):
    type = "gcp:healthcare/dicomStore:DicomStore"
    replace_keys = frozenset({"name", "dataset"})
    autoname_max = AUTONAME_MAX

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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

    def read(self, old: ResourceState) -> dict[str, Any] | None:
        return self._exists("healthcare", f"/v1/{old.id}", old)

    def delete(self, old: ResourceState) -> str | None:
        self.cloud.http("healthcare", "DELETE", f"/v1/{old.id}", ok_missing=True)
        return None
