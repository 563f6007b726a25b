"""Re-encoding a stored instance in another transfer syntax, for a DICOM export.

Why apart from the other export encodings
(:mod:`healthcare_emulator.export_encoding`): this one writes DICOM again,
and it must never hand back the original bytes under a syntax it did not
write, so every syntax it cannot produce (or source it cannot decode) is a
:class:`~healthcare_emulator.dicom_file.DicomError` for that instance. Which
syntaxes it writes: docs/emulator.md#dicom-data.
"""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    UID,
)

from .dicom_file import DicomError, decompressed, pixel_frames, read_dataset, require_pixels

#: Transfer syntaxes we can write with pydicom (+ Pillow for JPEG baseline).
TRANSCODABLE = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian,
                          DeflatedExplicitVRLittleEndian, RLELossless, JPEGBaseline8Bit})
_UNCOMPRESSED = frozenset({ImplicitVRLittleEndian, ExplicitVRLittleEndian,
                           DeflatedExplicitVRLittleEndian, "1.2.840.10008.1.2.2"})


def _save(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _to_jpeg_baseline(ds: Dataset) -> Dataset:
    from PIL import Image
    from pydicom.encaps import encapsulate

    native = decompressed(ds)
    if int(native.get("BitsAllocated", 0)) != 8 or int(native.get("PixelRepresentation", 0)) != 0:
        raise DicomError(
            "cannot transcode to JPEG Baseline (1.2.840.10008.1.2.4.50): it holds 8-bit unsigned "
            f"samples and this instance has BitsAllocated={native.get('BitsAllocated')}, "
            f"PixelRepresentation={native.get('PixelRepresentation')}")
    samples = int(native.get("SamplesPerPixel", 1))
    frames = pixel_frames(native)
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
    ds = read_dataset(data)
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
        require_pixels(ds, "JPEG Baseline")
        return _save(_to_jpeg_baseline(ds))
    native = decompressed(ds)
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
