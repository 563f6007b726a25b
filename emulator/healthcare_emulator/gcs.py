"""A small Cloud Storage JSON-API client for the jobs, over ``requests``.

The data plane reads and writes buckets exactly the way the real Healthcare
service does, over the public JSON API, so the GCS emulator (or any server
speaking that API) sees ordinary traffic and tests can check the result with
the real ``google-cloud-storage`` client. No Google library is used here: the
emulator package may only depend on stdlib, requests, pydicom, Pillow, numpy.

Errors surface as :class:`GcsError` subclasses with the HTTP status, so the
job functions can turn them into the right operation error code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Optional
from urllib.parse import quote

import requests

from .restclient import RestClient

_TIMEOUT_S = 60.0
#: ``gs://bucket[/object]``; the object part may be empty.
_GS_URI = re.compile(r"^gs://([^/]*)(?:/(.*))?$", re.DOTALL)


class GcsError(Exception):
    """A Cloud Storage call failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class BucketNotFound(GcsError):
    """The bucket does not exist."""


class ObjectNotFound(GcsError):
    """The object does not exist."""


@dataclass(frozen=True)
class GcsObject:
    """One listed object: its name and size in bytes."""

    name: str
    size: int


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/some/object`` → ``("bucket", "some/object")``.

    Raises ValueError when ``uri`` is not a ``gs://`` URI with a bucket.
    """
    match = _GS_URI.match(uri or "")
    if not match or not match.group(1):
        raise ValueError(f"not a Cloud Storage URI of the form gs://BUCKET/OBJECT: {uri!r}")
    return match.group(1), match.group(2) or ""


class GcsClient(RestClient):
    """The Cloud Storage JSON-API calls the jobs need (one session per thread)."""

    # -- plumbing ---------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=_TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            raise GcsError(f"Cloud Storage request {method} {url} failed: {exc}") from exc

    @staticmethod
    def _fail(response: requests.Response, what: str) -> GcsError:
        detail = response.text.strip()[:300]
        return GcsError(f"{what}: HTTP {response.status_code}{(' ' + detail) if detail else ''}",
                        response.status_code)

    # -- buckets ----------------------------------------------------------
    def bucket_exists(self, bucket: str) -> bool:
        response = self._request("GET", f"{self.base_url}/storage/v1/b/{quote(bucket, safe='')}")
        if response.status_code == 404:
            return False
        if not response.ok:
            raise self._fail(response, f"cannot read bucket gs://{bucket}")
        return True

    def require_bucket(self, bucket: str) -> None:
        """Raise :class:`BucketNotFound` unless the bucket exists."""
        if not self.bucket_exists(bucket):
            raise BucketNotFound(f"Cloud Storage bucket gs://{bucket} does not exist", 404)

    # -- objects ----------------------------------------------------------
    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[GcsObject]:
        """Every object whose name starts with ``prefix``, following ``nextPageToken``."""
        url = f"{self.base_url}/storage/v1/b/{quote(bucket, safe='')}/o"
        page_token: Optional[str] = None
        seen_tokens: set[str] = set()
        while True:
            params = {"prefix": prefix} if prefix else {}
            if page_token:
                params["pageToken"] = page_token
            response = self._request("GET", url, params=params)
            if response.status_code == 404:
                raise BucketNotFound(f"Cloud Storage bucket gs://{bucket} does not exist", 404)
            if not response.ok:
                raise self._fail(response, f"cannot list gs://{bucket}/{prefix}")
            body = response.json()
            for item in body.get("items", []):
                yield GcsObject(item["name"], int(item.get("size", 0) or 0))
            page_token = body.get("nextPageToken")
            # A server that repeats a token would loop forever: stop instead.
            if not page_token or page_token in seen_tokens:
                return
            seen_tokens.add(page_token)

    def read_object(self, bucket: str, name: str) -> bytes:
        """The object's content; :class:`ObjectNotFound` or :class:`BucketNotFound` if absent."""
        url = f"{self.base_url}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
        response = self._request("GET", url, params={"alt": "media"})
        if response.status_code == 404:
            if not self.bucket_exists(bucket):
                raise BucketNotFound(f"Cloud Storage bucket gs://{bucket} does not exist", 404)
            raise ObjectNotFound(f"Cloud Storage object gs://{bucket}/{name} does not exist", 404)
        if not response.ok:
            raise self._fail(response, f"cannot read gs://{bucket}/{name}")
        return response.content

    def write_object(self, bucket: str, name: str, data: bytes,
                     content_type: str = "application/octet-stream") -> None:
        """Create or overwrite the object with a simple media upload."""
        url = f"{self.base_url}/upload/storage/v1/b/{quote(bucket, safe='')}/o"
        response = self._request("POST", url, params={"uploadType": "media", "name": name},
                                 data=data, headers={"Content-Type": content_type})
        if response.status_code == 404:
            raise BucketNotFound(f"Cloud Storage bucket gs://{bucket} does not exist", 404)
        if not response.ok:
            raise self._fail(response, f"cannot write gs://{bucket}/{name}")
