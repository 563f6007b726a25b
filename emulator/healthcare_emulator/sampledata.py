"""Sample DICOM data: real files shipped in the pydicom wheel, and synthetic ones.

Used by the tests, the demo and the benchmarks (one generator for all).
Never calls ``pydicom.data.get_testdata_file`` for a name outside the wheel
(that would try a download): files are read straight from the wheel's folder.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

#: Real single-frame images, uncompressed, renderable.
REAL_SINGLE_FRAME = ("CT_small.dcm", "MR_small.dcm")
#: Real multi-frame image (RTDOSE, uncompressed).
REAL_MULTI_FRAME = "rtdose.dcm"
#: Real instance without pixel data (cannot be rendered as an image).
REAL_NO_PIXELS = "rtplan.dcm"
#: Real instance with RLE-compressed pixel data (pydicom decodes RLE itself).
REAL_RLE = "MR_small_RLE.dcm"

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def real_file(name: str) -> Path:
    path = TEST_FILES / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not shipped in this pydicom wheel")
    return path


def real_bytes(name: str) -> bytes:
    return real_file(name).read_bytes()


@dataclass(frozen=True)
class InstanceUids:
    study: str
    series: str
    sop: str


def uids_of(data: bytes) -> InstanceUids:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return InstanceUids(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))


def synthetic_instance(study_uid: str | None = None, series_uid: str | None = None,
                       sop_uid: str | None = None, *, rows: int = 8, columns: int = 8,
                       frames: int = 1, patient_id: str = "SYN-001", modality: str = "CT",
                       study_date: str = "20240102", seed: int = 0) -> bytes:
    """A small, valid Part 10 file (explicit VR little endian, 16-bit monochrome)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT_IMAGE_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientID = patient_id
    ds.PatientName = "Synthetic^Patient"
    ds.Modality = modality
    ds.StudyDate = study_date
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    pixels = np.random.default_rng(seed).integers(0, 4096, size=(frames, rows, columns), dtype=np.uint16)
    ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def synthetic_study(series: int = 2, per_series: int = 3, **kwargs) -> list[bytes]:
    """One study with ``series`` series of ``per_series`` instances each."""
    study_uid = generate_uid()
    out = []
    for s in range(series):
        series_uid = generate_uid()
        for i in range(per_series):
            out.append(synthetic_instance(study_uid, series_uid, seed=s * 1000 + i, **kwargs))
    return out


def synthetic_instances(count: int, per_study: int = 50) -> Iterator[bytes]:
    """``count`` instances spread over studies of ``per_study`` (one series each)."""
    study_uid = series_uid = ""
    for index in range(count):
        if index % per_study == 0:
            study_uid, series_uid = generate_uid(), generate_uid()
        yield synthetic_instance(study_uid, series_uid, rows=4, columns=4, seed=index)


def broken_file() -> bytes:
    """Bytes that are not a DICOM file at all."""
    return b"this is not a DICOM file\n" * 4


def truncated_file() -> bytes:
    """A real DICOM header cut short: parses as DICOM, then fails."""
    return real_bytes("CT_small.dcm")[:700]
