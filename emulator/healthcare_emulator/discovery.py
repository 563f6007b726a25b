"""Google's discovery documents of the Healthcare API, loaded once per process.

Why one module: the request-body validation
(:mod:`healthcare_emulator.body_validation`), the job request checks
(:mod:`healthcare_emulator.job_requests`, MIME types and storage classes)
and the system parameters (:mod:`healthcare_emulator.sysparams`) all take
their facts from the discovery documents shipped inside
``google-api-python-client`` (``healthcare.v1.json``, ``healthcare.v1beta1.json``),
so the emulator follows the documents instead of a hand-written copy. Only
the documents are read: the client library itself is never imported.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Optional

VERSIONS = ("v1", "v1beta1")

_documents: dict[str, dict] = {}
_lock = threading.Lock()


def document(version: str) -> dict:
    """The parsed discovery document of ``version``; read from disk once per process."""
    if version not in VERSIONS:
        raise ValueError(f"unknown API version {version!r}")
    with _lock:
        loaded = _documents.get(version)
        if loaded is None:
            import googleapiclient.discovery_cache as cache  # the documents only, not the client

            path = Path(cache.__file__).parent / "documents" / f"healthcare.{version}.json"
            loaded = json.loads(path.read_text(encoding="utf-8"))
            _documents[version] = loaded
        return loaded


def schemas(version: str) -> dict:
    """The ``schemas`` section: message name → discovery schema."""
    return document(version)["schemas"]


def method(version: str, method_id: str) -> dict:
    """A method's description; ``method_id`` is the dotted path below ``projects.locations``.

    For example ``datasets.dicomStores.import``.
    """
    node: dict = document(version)["resources"]["projects"]["resources"]["locations"]
    *resources, name = method_id.split(".")
    for resource in resources:
        node = node["resources"][resource]
    return node["methods"][name]


def request_schema_name(version: str, method_id: str) -> Optional[str]:
    """The ``$ref`` of a method's request body (``ImportDicomDataRequest``), None without a body."""
    request = method(version, method_id).get("request")
    return request["$ref"] if request else None


def system_parameters(version: str = "v1") -> dict:
    """The query parameters every method takes (``alt``, ``fields``, ``key``, ...), by name."""
    return document(version)["parameters"]
