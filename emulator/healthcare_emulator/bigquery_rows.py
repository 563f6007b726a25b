"""The rows and the table schema a BigQuery export writes, one row per instance.

Why apart from the BigQuery client (:mod:`healthcare_emulator.bigquery`):
what a row holds is a DICOM question (which attributes, which VRs a column
can hold, the DICOM JSON model), how it is written is a BigQuery one. The
layout is ours where the real export is richer (REPEATED fields, RECORDs for
sequences); the columns of both schemas (flattened and ``schemaJson``) and
what is left out are in docs/emulator.md#dicom-data.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any, Iterable, Optional

import pydicom
from pydicom.dataset import Dataset

from .dicom_file import DicomError, read_dataset

_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW", "OB/OW"})

#: Flattened-schema columns present in every table, in this order.
REQUIRED_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
                    "PatientID", "Modality", "StudyDate")
JSON_SCHEMA_UID_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
JSON_COLUMN = "DicomJson"
SOURCE_STORE_COLUMN = "SourceDicomStore"
#: Repeated RECORD naming the attributes whose VR BigQuery cannot hold (seed 004).
DROPPED_TAGS_COLUMN = "DroppedTags"


def _string_value(element: pydicom.DataElement) -> Optional[str]:
    value = element.value
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        items = [str(v) for v in value]
        return "\\".join(items) if items else None
    return str(value)


def _read_all_attributes(data: bytes) -> Dataset:
    """The whole dataset, pixel data and trailing attributes included (their values are not decoded).

    An instance whose pixel data pydicom cannot even walk over is read up to
    its pixel data instead: the row is still written, only its list of
    dropped tags may then be short.
    """
    try:
        return read_dataset(data)
    except DicomError:
        return read_dataset(data, stop_before_pixels=True)


def flattened_row(data: bytes) -> dict[str, Any]:
    """Keyword → STRING for the top-level scalar attributes, plus :data:`DROPPED_TAGS_COLUMN`.

    Attributes of a VR BigQuery cannot hold (PixelData among them) are named
    in the dropped tags; sequences, private and unknown tags and the file
    meta group are skipped; multiple values are joined with ``\\``.
    """
    ds = _read_all_attributes(data)
    row: dict[str, Any] = {name: None for name in REQUIRED_COLUMNS}
    dropped: list[dict[str, str]] = []
    for element in ds:
        keyword = element.keyword
        if not keyword or element.tag.is_private or element.tag.group == 0x0002:
            continue
        if element.VR in _BINARY_VRS or keyword == "PixelData":
            dropped.append({"TagName": keyword})
            continue
        if element.VR == "SQ":
            continue
        try:
            row[keyword] = _string_value(element)
        except Exception:
            continue  # an undecodable value is dropped, not fatal
    if dropped:
        row[DROPPED_TAGS_COLUMN] = dropped
    return row


def _strip_binary(ds: Dataset) -> Dataset:
    out = Dataset()
    for element in ds:
        if element.VR in _BINARY_VRS or element.tag == 0x7FE00010:
            continue
        if element.VR == "SQ":
            element = copy.copy(element)
            element.value = [_strip_binary(item) for item in element.value]
        out.add(element)
    return out


def json_row(data: bytes) -> dict[str, Optional[str]]:
    """The UID columns plus :data:`JSON_COLUMN` (DICOM JSON model, no binary attributes)."""
    ds = read_dataset(data, stop_before_pixels=True)
    row: dict[str, Optional[str]] = {name: (str(ds.get(name)) if ds.get(name) is not None else None)
                                     for name in JSON_SCHEMA_UID_COLUMNS}
    try:
        with warnings.catch_warnings():  # non-conformant UIDs in real files are kept as they are
            warnings.simplefilter("ignore")
            model = _strip_binary(ds).to_json_dict()
    except Exception as exc:
        raise DicomError(f"cannot convert the instance to DICOM JSON: {exc}") from None
    row[JSON_COLUMN] = json.dumps(model, sort_keys=True)
    return row


def bigquery_row(data: bytes, schema_json: bool = False,
                 source_store: Optional[str] = None) -> dict[str, Any]:
    """One instance's row for the chosen schema; ``source_store`` adds :data:`SOURCE_STORE_COLUMN`."""
    row = json_row(data) if schema_json else flattened_row(data)
    if source_store is not None:
        row[SOURCE_STORE_COLUMN] = source_store
    return row


def bigquery_schema(rows: Iterable[dict[str, Any]], schema_json: bool = False,
                    include_source_store: bool = False) -> list[dict[str, Any]]:
    """BigQuery ``schema.fields`` covering ``rows``: fixed columns first, then sorted keywords.

    :data:`DROPPED_TAGS_COLUMN` follows the keyword columns when some row has it.
    """
    if schema_json:
        names = list(JSON_SCHEMA_UID_COLUMNS)
        fields = [{"name": n, "type": "STRING", "mode": "NULLABLE"} for n in names]
        fields.append({"name": JSON_COLUMN, "type": "JSON", "mode": "NULLABLE"})
    else:
        seen = set(REQUIRED_COLUMNS)
        special = {SOURCE_STORE_COLUMN, DROPPED_TAGS_COLUMN}
        extra: set[str] = set()
        any_dropped = False
        for row in rows:
            extra.update(k for k in row if k not in seen and k not in special)
            any_dropped = any_dropped or DROPPED_TAGS_COLUMN in row
        names = list(REQUIRED_COLUMNS) + sorted(extra)
        fields = [{"name": n, "type": "STRING", "mode": "NULLABLE"} for n in names]
        if any_dropped:
            fields.append({"name": DROPPED_TAGS_COLUMN, "type": "RECORD", "mode": "REPEATED",
                           "fields": [{"name": "TagName", "type": "STRING", "mode": "NULLABLE"}]})
    if include_source_store:
        fields.append({"name": SOURCE_STORE_COLUMN, "type": "STRING", "mode": "NULLABLE"})
    return fields
