"""Reading a DICOM Part 10 file: its dataset, its UIDs, its pixel frames.

Why one module under the three users (import, the export encodings, the
BigQuery rows): each reads stored bytes with pydicom and each must fail the
same way, with a :class:`DicomError` whose message the operation shows as
that file's or instance's sample error. Nothing here does I/O. What an
import accepts and an export writes: docs/emulator.md#dicom-data.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

_UNDEFINED_LENGTH = 0xFFFFFFFF


class DicomError(Exception):
    """This file or instance cannot be parsed or encoded; the message says why."""


@dataclass(frozen=True)
class ParsedInstance:
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    transfer_syntax: str


def read_dataset(data: bytes, stop_before_pixels: bool = False) -> Dataset:
    """``data`` parsed by pydicom; DicomError (never pydicom's own exceptions) on garbage."""
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
    ds = read_dataset(data)
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


# -- pixel data ---------------------------------------------------------------
def frame_count(ds: Dataset) -> int:
    """``NumberOfFrames``, 1 when absent or unreadable."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def require_pixels(ds: Dataset, what: str) -> None:
    """DicomError unless the instance has pixel data to export as ``what``."""
    if "PixelData" not in ds:
        raise DicomError(f"instance has no pixel data, so it cannot be exported as {what}")


def decompressed(ds: Dataset) -> Dataset:
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


def pixel_frames(ds: Dataset) -> list[np.ndarray]:
    """The decoded pixel data, one array per frame; DicomError if undecodable."""
    try:
        array = ds.pixel_array
    except Exception as exc:
        syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
        raise DicomError(f"cannot decode pixel data (transfer syntax {syntax}): {exc}") from None
    frames = frame_count(ds)
    samples = int(ds.get("SamplesPerPixel", 1))
    if frames == 1:
        return [array]
    if array.ndim == (3 if samples == 1 else 4):
        return [array[i] for i in range(array.shape[0])]
    return [array]
