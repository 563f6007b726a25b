"""run_export to Cloud Storage, checked with google-cloud-storage, Pillow and pydicom."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image

from healthcare_emulator import sampledata
from support.data import download, object_names, upload
from support.jobcontext import STORE
from healthcare_emulator.jobcontext import OperationFailed, PermissionDenied
from healthcare_emulator.jobs import run_export
from healthcare_emulator.rpc import INVALID_ARGUMENT, NOT_FOUND

TS_IMPLICIT = "1.2.840.10008.1.2"
TS_EXPLICIT = "1.2.840.10008.1.2.1"
TS_DEFLATED = "1.2.840.10008.1.2.1.99"
TS_RLE = "1.2.840.10008.1.2.5"
TS_JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
TS_J2K = "1.2.840.10008.1.2.4.90"


def eight_bit_instance(frames: int = 1) -> bytes:
    """A synthetic 8-bit monochrome instance (JPEG Baseline can hold it)."""
    ds = pydicom.dcmread(io.BytesIO(sampledata.synthetic_instance(rows=16, columns=16, frames=frames)))
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    pixels = (np.arange(frames * 256, dtype=np.uint32) % 256).astype(np.uint8).reshape(frames, 16, 16)
    ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OB"
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _export(ctx, bucket, prefix: str = "out", mime: str | None = None, **extra):
    destination = {"uriPrefix": f"gs://{bucket.name}/{prefix}"}
    if mime is not None:
        destination["mimeType"] = mime
    return run_export(ctx, {"gcsDestination": destination, **extra})


def _path(prefix: str, data: bytes) -> str:
    uids = sampledata.uids_of(data)
    return f"{prefix}/{uids.study}/{uids.series}/{uids.sop}"


@pytest.mark.parametrize("mime", [None, "application/dicom", "application/dicom; transfer-syntax=*"])
def test_original_dicom_is_copied_byte_for_byte(ctx, bucket, mime):
    files = [sampledata.real_bytes(n) for n in ("CT_small.dcm", "rtdose.dcm", "rtplan.dcm", "MR_small_RLE.dcm")]
    for data in files:
        ctx.add(data)
    result = _export(ctx, bucket, "orig", mime)
    assert (result.success, result.failure) == (4, 0)
    assert ctx.required[0] == (f"gs://{bucket.name}", "write")
    assert ctx.last == (4, 0, 0)
    assert object_names(bucket) == sorted(_path("orig", d) + ".dcm" for d in files)
    for data in files:
        assert download(bucket, _path("orig", data) + ".dcm") == data


def test_trailing_slash_is_added_once(ctx, bucket):
    data = sampledata.synthetic_instance()
    ctx.add(data)
    _export(ctx, bucket, "a/b")
    _export(ctx, bucket, "c/")
    _export(ctx, bucket, "")
    uids = sampledata.uids_of(data)
    tail = f"{uids.study}/{uids.series}/{uids.sop}.dcm"
    assert object_names(bucket) == sorted([f"a/b/{tail}", f"c/{tail}", tail])


@pytest.mark.parametrize("syntax", [TS_IMPLICIT, TS_EXPLICIT, TS_DEFLATED, TS_RLE])
def test_transcodes_to_uncompressed_and_rle(ctx, bucket, syntax):
    sources = [sampledata.real_bytes("CT_small.dcm"), sampledata.real_bytes("MR_small_RLE.dcm")]
    for data in sources:
        ctx.add(data)
    result = _export(ctx, bucket, "t", f"application/dicom; transfer-syntax={syntax}")
    assert (result.success, result.failure) == (2, 0)
    for data in sources:
        original = pydicom.dcmread(io.BytesIO(data))
        written = pydicom.dcmread(io.BytesIO(download(bucket, _path("t", data) + ".dcm")))
        assert str(written.file_meta.TransferSyntaxUID) == syntax
        assert written.SOPInstanceUID == original.SOPInstanceUID
        assert np.array_equal(written.pixel_array, original.pixel_array)  # lossless


def test_transcode_to_jpeg_baseline_for_8_bit_and_failure_for_16_bit(ctx, bucket):
    eight = eight_bit_instance()
    sixteen = sampledata.real_bytes("CT_small.dcm")
    ctx.add(eight)
    ctx.add(sixteen)
    result = _export(ctx, bucket, "j", f"application/dicom; transfer-syntax={TS_JPEG_BASELINE}")
    assert (result.success, result.failure) == (1, 1)
    written = pydicom.dcmread(io.BytesIO(download(bucket, _path("j", eight) + ".dcm")))
    assert str(written.file_meta.TransferSyntaxUID) == TS_JPEG_BASELINE
    original = pydicom.dcmread(io.BytesIO(eight)).pixel_array.astype(int)
    assert np.abs(written.pixel_array.astype(int) - original).max() <= 16  # lossy but close
    assert object_names(bucket) == [_path("j", eight) + ".dcm"]
    [error] = ctx.errors
    uids = sampledata.uids_of(sixteen)
    assert error.resource == (f"{STORE}/dicomWeb/studies/{uids.study}/series/{uids.series}"
                              f"/instances/{uids.sop}")
    assert error.code == INVALID_ARGUMENT and "8-bit" in error.message


def test_unsupported_transcode_fails_each_instance_never_copies(ctx, bucket):
    for data in (sampledata.synthetic_instance(), sampledata.real_bytes("MR_small.dcm")):
        ctx.add(data)
    result = _export(ctx, bucket, "u", f"application/dicom; transfer-syntax={TS_J2K}")
    assert (result.success, result.failure) == (0, 2)
    assert ctx.last == (0, 2, 0)
    assert object_names(bucket) == []
    assert all("not supported" in e.message and TS_J2K in e.message for e in ctx.errors)


def test_octet_stream_is_raw_pixel_data_without_extension(ctx, bucket):
    ct, dose, rle = (sampledata.real_bytes(n) for n in ("CT_small.dcm", "rtdose.dcm", "MR_small_RLE.dcm"))
    for data in (ct, dose, rle):
        ctx.add(data)
    result = _export(ctx, bucket, "raw", f"application/octet-stream; transfer-syntax={TS_EXPLICIT}")
    assert (result.success, result.failure) == (3, 0)
    ct_ds = pydicom.dcmread(io.BytesIO(ct))
    assert download(bucket, _path("raw", ct)) == ct_ds.PixelData
    rle_raw = download(bucket, _path("raw", rle))
    assert rle_raw == pydicom.dcmread(io.BytesIO(sampledata.real_bytes("MR_small.dcm"))).PixelData
    dose_ds = pydicom.dcmread(io.BytesIO(dose))
    frames = [download(bucket, f"{_path('raw', dose)}/{n}") for n in range(1, 16)]
    assert b"".join(frames) == dose_ds.PixelData
    assert len(object_names(bucket, "raw/")) == 2 + 15


def test_octet_stream_star_keeps_compressed_frames(ctx, bucket):
    rle = sampledata.real_bytes("MR_small_RLE.dcm")
    ctx.add(rle)
    _export(ctx, bucket, "raw", "application/octet-stream; transfer-syntax=*")
    from pydicom.encaps import generate_frames
    expected = next(generate_frames(pydicom.dcmread(io.BytesIO(rle)).PixelData, number_of_frames=1))
    assert download(bucket, _path("raw", rle)) == expected


@pytest.mark.parametrize("mime,ext,fmt", [
    ("image/jpeg", ".jpg", "JPEG"),
    (f"image/jpeg; transfer-syntax={TS_JPEG_BASELINE}", ".jpg", "JPEG"),
    ("image/png", ".png", "PNG"),
])
def test_images_single_and_multi_frame(ctx, bucket, mime, ext, fmt):
    ct, dose, rle, plan = (sampledata.real_bytes(n) for n in
                           ("CT_small.dcm", "rtdose.dcm", "MR_small_RLE.dcm", "rtplan.dcm"))
    for data in (ct, dose, rle, plan):
        ctx.add(data)
    result = _export(ctx, bucket, "img", mime)
    assert (result.success, result.failure) == (3, 1)
    expected = [_path("img", ct) + ext, _path("img", rle) + ext]
    expected += [f"{_path('img', dose)}/{n}{ext}" for n in range(1, 16)]
    assert object_names(bucket) == sorted(expected)
    for name in expected:
        image = Image.open(io.BytesIO(download(bucket, name)))
        image.load()
        assert image.format == fmt and image.mode == "L"
    ct_image = Image.open(io.BytesIO(download(bucket, expected[0])))
    assert ct_image.size == (128, 128)
    assert np.asarray(ct_image).std() > 5  # an actual picture, not a flat field
    dose_image = Image.open(io.BytesIO(download(bucket, f"{_path('img', dose)}/1{ext}")))
    assert dose_image.size == (10, 10)
    [error] = ctx.errors
    assert sampledata.uids_of(plan).sop in error.resource and "no pixel data" in error.message


def test_png_is_lossless_rendering_of_8_bit_pixels(ctx, bucket):
    eight = eight_bit_instance(frames=3)
    ctx.add(eight)
    _export(ctx, bucket, "p", "image/png")
    original = pydicom.dcmread(io.BytesIO(eight)).pixel_array
    for n in (1, 2, 3):
        image = np.asarray(Image.open(io.BytesIO(download(bucket, f"{_path('p', eight)}/{n}.png"))))
        low, high = original[n - 1].min(), original[n - 1].max()
        expected = np.rint((original[n - 1].astype(float) - low) * 255 / (high - low)).astype(np.uint8)
        assert np.array_equal(image, expected)


def test_missing_bucket_fails_not_found(ctx):
    ctx.add(sampledata.synthetic_instance())
    with pytest.raises(OperationFailed) as failure:
        run_export(ctx, {"gcsDestination": {"uriPrefix": "gs://no-such-bucket-export/x"}})
    assert failure.value.code == NOT_FOUND and "does not exist" in failure.value.message


def test_write_permission_is_required(ctx, bucket):
    ctx.add(sampledata.synthetic_instance())
    ctx.denied.add((f"gs://{bucket.name}", "write"))
    with pytest.raises(PermissionDenied):
        _export(ctx, bucket)
    assert object_names(bucket) == []


def test_empty_store_exports_nothing_successfully(ctx, bucket):
    result = _export(ctx, bucket)
    assert (result.success, result.failure) == (0, 0) and ctx.last == (0, 0, 0)


def test_existing_objects_are_overwritten(ctx, bucket):
    data = sampledata.synthetic_instance()
    ctx.add(data)
    upload(bucket, _path("o", data) + ".dcm", b"stale")
    _export(ctx, bucket, "o")
    assert download(bucket, _path("o", data) + ".dcm") == data
