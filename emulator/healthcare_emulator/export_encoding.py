"""What one stored instance becomes in a Cloud Storage export, by ``gcsDestination.mimeType``.

Why one module: the export writes objects and knows nothing of formats; this
turns an instance's bytes into the files to write (their name suffix, bytes
and content type): the original, a transcoded copy
(:mod:`healthcare_emulator.transcode`), raw pixel data or rendered JPEG/PNG
images, one per frame. An instance it cannot encode is a
:class:`~healthcare_emulator.dicom_file.DicomError`, never a silent copy.
The rules per MIME type and the object names: docs/emulator.md#dicom-data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit, UID

from .dicom_file import DicomError, decompressed, frame_count, pixel_frames, read_dataset, require_pixels
from .transcode import transcode

DICOM_MIME = "application/dicom"
OCTET_MIME = "application/octet-stream"
JPEG_MIME = "image/jpeg"
PNG_MIME = "image/png"


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


def encode_for_export(data: bytes, mime_type: Optional[str]) -> list[ExportFile]:
    """The files one stored instance becomes under ``mime_type``; DicomError if it cannot."""
    choice = parse_mime_type(mime_type)
    if choice.media_type == DICOM_MIME:
        if choice.transfer_syntax in (None, "*"):
            return [ExportFile(".dcm", data, DICOM_MIME)]
        return [ExportFile(".dcm", transcode(data, choice.transfer_syntax), DICOM_MIME)]
    if choice.media_type == OCTET_MIME:
        ds = read_dataset(data)
        require_pixels(ds, OCTET_MIME)
        frames = _raw_frames(ds, choice.transfer_syntax)
        return _per_frame(frames, "", OCTET_MIME)
    if choice.media_type in (JPEG_MIME, PNG_MIME):
        if choice.media_type == JPEG_MIME and choice.transfer_syntax not in (None, "*", JPEGBaseline8Bit):
            raise DicomError(f"image/jpeg with transfer syntax {choice.transfer_syntax} is not supported")
        ds = read_dataset(data)
        require_pixels(ds, choice.media_type)
        images = [_encode_image(ds, frame, choice.media_type) for frame in pixel_frames(ds)]
        return _per_frame(images, choice.extension, choice.media_type)
    raise DicomError(f"export to MIME type {mime_type!r} is not supported by this emulator")


def _per_frame(blobs: list[bytes], extension: str, content_type: str) -> list[ExportFile]:
    if len(blobs) == 1:
        return [ExportFile(extension, blobs[0], content_type)]
    return [ExportFile(f"/{n}{extension}", blob, content_type) for n, blob in enumerate(blobs, 1)]


# -- raw pixel data -------------------------------------------------------------
def _raw_frames(ds: Dataset, transfer_syntax: Optional[str]) -> list[bytes]:
    """PixelData bytes, one entry per frame."""
    from pydicom.encaps import generate_frames

    current = str(ds.file_meta.get("TransferSyntaxUID", ""))
    frames = frame_count(ds)
    if transfer_syntax in (None, "*") and UID(current).is_compressed:
        try:
            return list(generate_frames(ds.PixelData, number_of_frames=frames))
        except Exception as exc:
            raise DicomError(f"cannot split encapsulated pixel data into frames: {exc}") from None
    if transfer_syntax not in (None, "*", ExplicitVRLittleEndian):
        raise DicomError(f"raw pixel data in transfer syntax {transfer_syntax} is not supported "
                         "by this emulator")
    native = decompressed(ds) if UID(current).is_compressed else ds
    if current == "1.2.840.10008.1.2.2" and int(native.get("BitsAllocated", 8)) > 8:
        raise DicomError("raw pixel data from big endian instances is not supported by this emulator")
    data = bytes(native.PixelData)
    if frames == 1:
        return [data]
    size = len(data) // frames
    return [data[i * size:(i + 1) * size] for i in range(frames)]


# -- images -----------------------------------------------------------------------
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
