"""Facts about the Cloud Healthcare API that the provider needs at run time.

Why a module of constants: the machine-readable source of truth (the
discovery documents shipped by ``google-api-python-client``) is not a runtime
dependency of the provider, so the few facts the provider relies on are
written down here once. ``tests/beside/test_apischema.py`` compares
every one of them with the discovery documents, so a change in the API fails a
test instead of silently drifting.
"""

from __future__ import annotations

#: Where the real API lives; ``HEALTHCARE_EMULATOR_HOST`` overrides it.
DEFAULT_ENDPOINT = "https://healthcare.googleapis.com"
#: API versions the provider can talk to (both expose import/export).
API_VERSIONS: tuple[str, ...] = ("v1", "v1beta1")
DEFAULT_API_VERSION = "v1"

#: OAuth scope used with Application Default Credentials.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

#: Transfer syntaxes that ``application/dicom; transfer-syntax=...`` may name
#: (in the order the discovery document lists them), plus ``*``.
DICOM_TRANSFER_SYNTAXES: tuple[str, ...] = (
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.110",
    "1.2.840.10008.1.2.4.111",
    "1.2.840.10008.1.2.4.112",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.8.1",
    "*",
)

#: Every ``gcsDestination.mimeType`` value the discovery document lists,
#: written canonically (``type; transfer-syntax=X``).
LISTED_MIME_TYPES: tuple[str, ...] = (
    *(f"application/dicom; transfer-syntax={ts}" for ts in DICOM_TRANSFER_SYNTAXES),
    "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
    "application/octet-stream; transfer-syntax=*",
    "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50",
    "image/png",
)

#: Bare media types accepted without a ``transfer-syntax`` parameter. The
#: document's own prose says "application/dicom" (original syntax), and lists
#: the output extension for each family; bare ``image/jpeg`` is the consumer
#: JPEG the list names, and bare ``application/octet-stream`` is raw pixel data.
BARE_MIME_TYPES: tuple[str, ...] = (
    "application/dicom",
    "application/octet-stream",
    "image/jpeg",
    "image/png",
)

#: Output file extension per media type family (from the same description).
MIME_EXTENSIONS: dict[str, str] = {
    "application/dicom": ".dcm",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/octet-stream": "",
}

#: ``bigqueryDestination.writeDisposition`` values that choose a behaviour.
WRITE_DISPOSITIONS: tuple[str, ...] = ("WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND")
#: The proto default: accepted and treated exactly as an unset write disposition.
WRITE_DISPOSITION_UNSET = "WRITE_DISPOSITION_UNSPECIFIED"
#: ``blobStorageSettings.blobStorageClass`` values a user may set.
BLOB_STORAGE_CLASSES: tuple[str, ...] = ("STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE")
#: The provider's ``schema`` choice and the request field each one sets.
SCHEMA_FIELDS: dict[str, str] = {"FLATTENED": "schemaFlattened", "JSON": "schemaJson"}

#: The request bodies' field names (camelCase, as on the wire) are the inputs'
#: ``camel`` names in :mod:`pulumi_dicom_jobs.spec`, checked by the same test.
#: ``ProgressCounter`` fields (int64, so JSON strings on the wire).
COUNTER_FIELDS: tuple[str, ...] = ("success", "failure", "pending")
#: ``OperationMetadata`` fields the provider reads.
METADATA_FIELDS: tuple[str, ...] = (
    "apiMethodName", "createTime", "endTime", "logsUrl", "cancelRequested", "counter")

#: Longest ``bq://`` table URI the API accepts.
MAX_TABLE_URI_CHARS = 2000

#: The ``pageSize`` the operations listing asks for. ``operations.list``
#: documents no maximum ("The standard list page size."); every other list
#: method of the API that states one says "May not be larger than 1000", so
#: this is the largest page the API documents anywhere, and asking for it is
#: safe whether a server caps a larger size or refuses it (docs/lifecycle.md,
#: "Starting a job").
OPERATIONS_PAGE_SIZE = 1000

#: ``google.rpc.Code`` numbers the provider reacts to.
CODE_CANCELLED = 1
CODE_ALREADY_EXISTS = 6
CODE_PERMISSION_DENIED = 7
RPC_CODE_NAMES: dict[int, str] = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}


def canonical_mime_type(value: str) -> str:
    """``"application/dicom;transfer-syntax=*"`` -> ``"application/dicom; transfer-syntax=*"``.

    Media types are case-insensitive and parameters may carry spaces; the API
    documents them as ``type; param=value``. Parameter values (UIDs, ``*``)
    are kept verbatim.
    """
    parts = [part.strip() for part in value.split(";")]
    head = parts[0].lower()
    params = []
    for param in parts[1:]:
        key, sep, val = param.partition("=")
        params.append(f"{key.strip().lower()}{sep}{val.strip()}")
    return "; ".join([head, *params])


def supported_mime_types() -> frozenset[str]:
    """Every accepted ``mimeType`` in canonical form."""
    return frozenset(LISTED_MIME_TYPES) | frozenset(BARE_MIME_TYPES)
