"""DICOM parsing, export encodings and BigQuery rows, with pydicom alone.

Why one module: import, GCS export and BigQuery export all need the same
three views of a stored instance (its UIDs, its bytes in some other
encoding, its attributes as a table row), and all of them must fail the same
way: a :class:`DicomError` whose message is shown to the user as the
per-file / per-instance sample error. Nothing here does I/O.

Export encodings (``gcsDestination.mimeType``):

* unset, ``application/dicom``, ``application/dicom; transfer-syntax=*`` →
  the file exactly as stored, ``.dcm``;
* ``application/dicom; transfer-syntax=UID`` → transcoded, ``.dcm``, for
  implicit VR LE, explicit VR LE, deflated explicit VR LE, RLE lossless and
  JPEG baseline (8-bit sources only: baseline JPEG holds 8-bit samples and a
  silent rescale would change pixel values). Anything else (or a source we
  cannot decode) fails that instance: never a silent copy;
* ``application/octet-stream; transfer-syntax=*`` → the PixelData value as
  stored; ``...=1.2.840.10008.1.2.1`` → uncompressed native pixel bytes; no
  extension;
* ``image/jpeg`` (optionally ``; transfer-syntax=1.2.840.10008.1.2.4.50``) →
  ``.jpg``, ``image/png`` → ``.png``: each frame rendered to 8 bits (modality
  rescale, then the first VOI window if present, else the frame's min..max).

Single-frame instances give one file ``{instance}{ext}``; for pixel formats
(octet-stream and images) multi-frame instances give ``{instance}/{n}{ext}``
with ``n`` from 1, as the discovery document describes. DICOM output is one
file per instance whatever the frame count.

BigQuery rows (one per instance); the choice is ours, since the real schema
is richer (REPEATED fields, RECORDs for sequences):

* flattened (``schemaFlattened`` or neither schema field): one STRING column
  per top-level standard attribute named by its DICOM keyword
  (``StudyInstanceUID`` …). Always present: :data:`REQUIRED_COLUMNS`.
  Attributes of a VR BigQuery cannot hold (OB, OD, OF, OL, OV, OW, UN,
  PixelData among them) get no column: their keywords are listed in
  :data:`DROPPED_TAGS_COLUMN`, a REPEATED RECORD ``{TagName STRING}``, as
  the BigQuery export guide describes; the column exists when some exported
  instance has such an attribute, and an instance without one has an empty
  list. Skipped without a trace: sequences (SQ, a simplification of ours),
  private and unknown tags, the file meta group. Multiple values are joined
  with ``\\`` as in DICOM's own encoding.
* ``schemaJson``: the four UID columns (study, series, SOP instance, SOP
  class) plus ``DicomJson`` (JSON) holding the dataset's DICOM JSON model
  without binary attributes.
* ``includeSourceStore: true`` adds ``SourceDicomStore`` (STRING), the full
  store resource name.
"""

from __future__ import annotations

import copy
import io
import json
import re
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Optional

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    UID,
)

DICOM_MIME = "application/dicom"
OCTET_MIME = "application/octet-stream"
JPEG_MIME = "image/jpeg"
PNG_MIME = "image/png"

#: Transfer syntaxes we can write with pydicom (+ Pillow for JPEG baseline).
TRANSCODABLE = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian,
                          DeflatedExplicitVRLittleEndian, RLELossless, JPEGBaseline8Bit})
_UNCOMPRESSED = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian,
                           DeflatedExplicitVRLittleEndian, "1.2.840.10008.1.2.2"})
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW", "OB/OW"})
_UNDEFINED_LENGTH = 0xFFFFFFFF

#: Flattened-schema columns present in every table, in this order.
REQUIRED_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
                    "PatientID", "Modality", "StudyDate")
JSON_SCHEMA_UID_COLUMNS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
JSON_COLUMN = "DicomJson"
SOURCE_STORE_COLUMN = "SourceDicomStore"
#: Repeated RECORD naming the attributes whose VR BigQuery cannot hold (seed 004).
DROPPED_TAGS_COLUMN = "DroppedTags"


class DicomError(Exception):
    """This file or instance cannot be parsed or encoded; the message says why."""


@dataclass(frozen=True)
class ParsedInstance:
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax: str


@dataclass(frozen=True)
class ExportFile:
    """One output object: ``suffix`` follows ``{prefix}{study}/{series}/{instance}``."""

    suffix: str  # e.g. ".dcm", "/3.png", ""
    data: bytes
    content_type: str


@dataclass(frozen=True)
class MimeChoice:
    """A parsed ``mimeType``: media type, requested transfer syntax (None, ``*`` or a UID)."""

    media_type: str
    transfer_syntax: Optional[str]

    @property
    def extension(self) -> str:
        return {DICOM_MIME: ".dcm", JPEG_MIME: ".jpg", PNG_MIME: ".png"}.get(self.media_type, "")


# -- parsing ---------------------------------------------------------------
def _read(data: bytes, stop_before_pixels: bool = False) -> Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise DicomError(f"not a DICOM Part 10 file: {exc}") from None
    except Exception as exc:  # pydicom raises many kinds on garbage
        raise DicomError(f"cannot parse DICOM data: {type(exc).__name__}: {exc}") from None


def _uid(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    text = str(value).strip() if value is not None else ""
    if not text:
        raise DicomError(f"DICOM instance has no {keyword}")
    if len(text) > 64 or not re.fullmatch(r"[0-9]+(\.[0-9]+)*", text):
        raise DicomError(f"DICOM instance has an invalid {keyword} {text!r}")
    return text


def parse_instance(data: bytes) -> ParsedInstance:
    """Check ``data`` is a complete DICOM file and return its UIDs; DicomError otherwise."""
    if not data:
        raise DicomError("empty file: not a DICOM instance")
    ds = _read(data)
    try:
        for element in ds.elements():  # raw elements: declared vs actual length
            length = getattr(element, "length", None)
            value = getattr(element, "value", None)
            if (isinstance(value, (bytes, bytearray)) and length not in (None, _UNDEFINED_LENGTH)
                    and len(value) < length):
                raise DicomError(f"DICOM file is truncated: element {element.tag} declares "
                                 f"{length} bytes but only {len(value)} are present")
    except DicomError:
        raise
    except Exception as exc:
        raise DicomError(f"cannot parse DICOM data: {type(exc).__name__}: {exc}") from None
    meta = getattr(ds, "file_meta", None)
    transfer_syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    sop_class = str(ds.get("SOPClassUID", "") or (meta.get("MediaStorageSOPClassUID", "") if meta else ""))
    return ParsedInstance(_uid(ds, "StudyInstanceUID"), _uid(ds, "SeriesInstanceUID"),
                          _uid(ds, "SOPInstanceUID"), sop_class, transfer_syntax)


# -- mime types -----------------------------------------------------------
def parse_mime_type(mime_type: Optional[str]) -> MimeChoice:
    """``"application/dicom; transfer-syntax=1.2.840.10008.1.2"`` → its parts (no validation)."""
    if not mime_type or not mime_type.strip():
        return MimeChoice(DICOM_MIME, None)
    parts = [p.strip() for p in mime_type.split(";")]
    media = parts[0].lower()
    syntax: Optional[str] = None
    for param in parts[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "transfer-syntax":
            syntax = value.strip().strip('"') or None
    return MimeChoice(media, syntax)


# -- export encodings -----------------------------------------------------
def _frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _require_pixels(ds: Dataset, what: str) -> None:
    if "PixelData" not in ds:
        raise DicomError(f"instance has no pixel data, so it cannot be exported as {what}")


def _decompressed(ds: Dataset) -> Dataset:
    """A copy whose PixelData is native (uncompressed); DicomError if undecodable."""
    out = copy.deepcopy(ds)
    syntax = str(out.file_meta.TransferSyntaxUID)
    if "PixelData" in out and UID(syntax).is_compressed:
        try:
            out.decompress(generate_instance_uid=False)
        except Exception as exc:
            raise DicomError(f"cannot decode pixel data in transfer syntax {syntax} "
                             f"({UID(syntax).name}): {exc}") from None
    return out


def _save(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _to_jpeg_baseline(ds: Dataset) -> Dataset:
    from PIL import Image
    from pydicom.encaps import encapsulate

    native = _decompressed(ds)
    if int(native.get("BitsAllocated", 0)) != 8 or int(native.get("PixelRepresentation", 0)) != 0:
        raise DicomError(
            "cannot transcode to JPEG Baseline (1.2.840.10008.1.2.4.50): it holds 8-bit unsigned "
            f"samples and this instance has BitsAllocated={native.get('BitsAllocated')}, "
            f"PixelRepresentation={native.get('PixelRepresentation')}")
    samples = int(native.get("SamplesPerPixel", 1))
    frames = _pixel_frames(native)
    encoded = []
    for frame in frames:
        if samples == 1:
            image = Image.fromarray(frame.astype(np.uint8), mode="L")
        elif samples == 3:
            image = Image.fromarray(frame.astype(np.uint8), mode="RGB")
        else:
            raise DicomError(f"cannot encode SamplesPerPixel={samples} as JPEG Baseline")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=95, subsampling=1 if samples == 3 else 0)
        encoded.append(buffer.getvalue())
    native.PixelData = encapsulate(encoded)
    native["PixelData"].VR = "OB"
    native["PixelData"].is_undefined_length = True
    if samples == 3:
        native.PhotometricInterpretation = "YBR_FULL_422"
        native.PlanarConfiguration = 0
    native.BitsStored, native.HighBit = 8, 7
    native.LossyImageCompression = "01"
    native.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return native


def transcode(data: bytes, transfer_syntax: str) -> bytes:
    """The instance re-encoded in ``transfer_syntax``; DicomError when we cannot."""
    ds = _read(data)
    current = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if current == transfer_syntax:
        return data
    if transfer_syntax not in TRANSCODABLE:
        name = UID(transfer_syntax).name if transfer_syntax else "?"
        raise DicomError(f"transcoding to transfer syntax {transfer_syntax} ({name}) is not "
                         "supported by this emulator")
    if "PixelData" in ds and not UID(current).is_compressed and current not in _UNCOMPRESSED:
        raise DicomError(f"cannot read pixel data in transfer syntax {current}")
    if transfer_syntax == JPEGBaseline8Bit:
        _require_pixels(ds, "JPEG Baseline")
        return _save(_to_jpeg_baseline(ds))
    native = _decompressed(ds)
    if transfer_syntax == RLELossless:
        if "PixelData" not in native:
            raise DicomError("instance has no pixel data to encode as RLE Lossless")
        try:
            native.compress(RLELossless, generate_instance_uid=False)
        except Exception as exc:
            raise DicomError(f"cannot encode RLE Lossless: {exc}") from None
        return _save(native)
    native.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    try:
        return _save(native)
    except Exception as exc:
        raise DicomError(f"cannot write transfer syntax {transfer_syntax}: {exc}") from None


def _pixel_frames(ds: Dataset) -> list[np.ndarray]:
    try:
        array = ds.pixel_array
    except Exception as exc:
        syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
        raise DicomError(f"cannot decode pixel data (transfer syntax {syntax}): {exc}") from None
    frames = _frame_count(ds)
    samples = int(ds.get("SamplesPerPixel", 1))
    if frames == 1:
        return [array]
    if array.ndim == (3 if samples == 1 else 4):
        return [array[i] for i in range(array.shape[0])]
    return [array]


def _first(value: Any) -> Optional[float]:
    if value is None:
        return None
    try:
        if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
            value = value[0]
        return float(value)
    except (TypeError, ValueError, IndexError):
        return None


def render_8bit(ds: Dataset, frame: np.ndarray) -> np.ndarray:
    """A frame as uint8 for display: modality rescale, VOI window or min..max, MONOCHROME1 inverted."""
    samples = int(ds.get("SamplesPerPixel", 1))
    if samples == 3:
        if frame.dtype == np.uint8:
            return frame
        top = float(frame.max()) or 1.0
        return np.clip(frame.astype(np.float64) * 255.0 / top, 0, 255).astype(np.uint8)
    values = frame.astype(np.float64)
    slope, intercept = _first(ds.get("RescaleSlope")), _first(ds.get("RescaleIntercept"))
    if "DoseGridScaling" in ds and slope is None:
        slope = _first(ds.get("DoseGridScaling"))
    values = values * (slope if slope is not None else 1.0) + (intercept or 0.0)
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and width > 0:
        low, high = center - width / 2.0, center + width / 2.0
    else:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        scaled = np.zeros_like(values)
    else:
        scaled = (np.clip(values, low, high) - low) * (255.0 / (high - low))
    out = np.rint(scaled).astype(np.uint8)
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = 255 - out
    return out


def _encode_image(ds: Dataset, frame: np.ndarray, media_type: str) -> bytes:
    from PIL import Image

    pixels = render_8bit(ds, frame)
    image = Image.fromarray(pixels, mode="RGB" if pixels.ndim == 3 else "L")
    buffer = io.BytesIO()
    if media_type == JPEG_MIME:
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _raw_frames(ds: Dataset, transfer_syntax: Optional[str]) -> list[bytes]:
    """PixelData bytes, one entry per frame."""
    from pydicom.encaps import generate_frames

    current = str(ds.file_meta.get("TransferSyntaxUID", ""))
    frames = _frame_count(ds)
    if transfer_syntax in (None, "*") and UID(current).is_compressed:
        try:
            return list(generate_frames(ds.PixelData, number_of_frames=frames))
        except Exception as exc:
            raise DicomError(f"cannot split encapsulated pixel data into frames: {exc}") from None
    if transfer_syntax not in (None, "*", ExplicitVRLittleEndian):
        raise DicomError(f"raw pixel data in transfer syntax {transfer_syntax} is not supported "
                         "by this emulator")
    native = _decompressed(ds) if UID(current).is_compressed else ds
    if current == "1.2.840.10008.1.2.2" and int(native.get("BitsAllocated", 8)) > 8:
        raise DicomError("raw pixel data from big endian instances is not supported by this emulator")
    data = bytes(native.PixelData)
    if frames == 1:
        return [data]
    size = len(data) // frames
    return [data[i * size:(i + 1) * size] for i in range(frames)]


def encode_for_export(data: bytes, mime_type: Optional[str]) -> list[ExportFile]:
    """The files one stored instance becomes under ``mime_type``; DicomError if it cannot."""
    choice = parse_mime_type(mime_type)
    if choice.media_type == DICOM_MIME:
        if choice.transfer_syntax in (None, "*"):
            return [ExportFile(".dcm", data, DICOM_MIME)]
        return [ExportFile(".dcm", transcode(data, choice.transfer_syntax), DICOM_MIME)]
    if choice.media_type == OCTET_MIME:
        ds = _read(data)
        _require_pixels(ds, OCTET_MIME)
        frames = _raw_frames(ds, choice.transfer_syntax)
        return _per_frame(frames, "", OCTET_MIME)
    if choice.media_type in (JPEG_MIME, PNG_MIME):
        if choice.media_type == JPEG_MIME and choice.transfer_syntax not in (None, "*", JPEGBaseline8Bit):
            raise DicomError(f"image/jpeg with transfer syntax {choice.transfer_syntax} is not supported")
        ds = _read(data)
        _require_pixels(ds, choice.media_type)
        images = [_encode_image(ds, frame, choice.media_type) for frame in _pixel_frames(ds)]
        return _per_frame(images, choice.extension, choice.media_type)
    raise DicomError(f"export to MIME type {mime_type!r} is not supported by this emulator")


def _per_frame(blobs: list[bytes], extension: str, content_type: str) -> list[ExportFile]:
    if len(blobs) == 1:
        return [ExportFile(extension, blobs[0], content_type)]
    return [ExportFile(f"/{n}{extension}", blob, content_type) for n, blob in enumerate(blobs, 1)]


# -- BigQuery rows ----------------------------------------------------------
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
        return _read(data)
    except DicomError:
        return _read(data, stop_before_pixels=True)


def flattened_row(data: bytes) -> dict[str, Any]:
    """Keyword → STRING for the top-level scalar attributes, plus the dropped tags (module docstring)."""
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
    ds = _read(data, stop_before_pixels=True)
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
