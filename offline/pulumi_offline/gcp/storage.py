"""Cloud Storage: ``gcp.storage.Bucket`` and ``BucketObject`` on the storage emulator.

Why here: a bucket's delete must refuse to drop objects unless
``force_destroy`` is set, as pulumi-gcp does, and an object's content comes
from ``content`` or an asset; both rules live next to the calls they guard.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..messages import counted
from ..state import ResourceState
from .applier import AUTONAME_MAX, BUCKET_AUTONAME_MAX, Applier
from .cloud import CloudError


class Bucket(Applier):
    type = "gcp:storage/bucket:Bucket"
    replace_keys = frozenset({"name", "location", "project"})
    autoname_max = BUCKET_AUTONAME_MAX

    def validate(self, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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
        bucket = inputs["name"]
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

    def read(self, old: ResourceState) -> dict[str, Any] | None:
        return self._exists("storage", f"/storage/v1/b/{quote(old.id, safe='')}", old)

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
        return f"{counted(len(items), 'object')} deleted with it" if items else None


class BucketObject(Applier):
    type = "gcp:storage/bucketObject:BucketObject"
    replace_keys = None
    autoname_max = AUTONAME_MAX

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
