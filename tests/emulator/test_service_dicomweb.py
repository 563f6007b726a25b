"""DICOMweb read side after a real import: QIDO-RS search and WADO-RS retrieve."""

from __future__ import annotations

import email.parser
import email.policy

import pytest

from healthcare_emulator.sampledata import real_bytes, synthetic_study, uids_of
from support.data import new_bucket, storage_client
from support.emulator import HealthcareApi, error_of


@pytest.fixture
def imported(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    study = synthetic_study(series=2, per_series=2, patient_id="PAT-7")
    files = {f"s/{i}.dcm": data for i, data in enumerate(study)}
    files["ct.dcm"] = real_bytes("CT_small.dcm")
    bucket = new_bucket(storage_client(), files)
    emulator.grant_agent(buckets=[bucket.name])
    op = api.wait_done(api.start(store, "import", {"gcsSource": {"uri": f"gs://{bucket.name}/**.dcm"}}))
    assert "response" in op, op
    return api, store, study, files


def value(item: dict, tag: str):
    return item[tag]["Value"][0]


def qido(api: HealthcareApi, path: str, **params) -> list[dict]:
    response = api.get(path, **params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/dicom+json")
    return response.json()


def test_qido_search_levels_and_matching(imported):
    api, store, study, files = imported
    web = f"{store}/dicomWeb"
    uids = [uids_of(d) for d in study]
    ct = uids_of(files["ct.dcm"])
    studies = qido(api, f"{web}/studies")
    assert sorted(value(s, "0020000D") for s in studies) == sorted({uids[0].study, ct.study})
    [mine] = qido(api, f"{web}/studies", StudyInstanceUID=uids[0].study)
    assert mine["0020000D"] == {"vr": "UI", "Value": [uids[0].study]}
    assert value(mine, "00201206") == 2 and value(mine, "00201208") == 4
    assert value(mine, "00100020") == "PAT-7"
    assert qido(api, f"{web}/studies", PatientID="PAT-7") == [mine]
    assert qido(api, f"{web}/studies", StudyInstanceUID="1.2.3.404") == []

    series = qido(api, f"{web}/studies/{uids[0].study}/series")
    assert sorted(value(s, "0020000E") for s in series) == sorted({u.series for u in uids})
    assert all(value(s, "00201209") == 2 and value(s, "00080060") == "CT" for s in series)
    [one] = qido(api, f"{web}/studies/{uids[0].study}/series", SeriesInstanceUID=uids[0].series)
    assert value(one, "0020000E") == uids[0].series

    instances = qido(api, f"{web}/studies/{uids[0].study}/series/{uids[0].series}/instances")
    assert sorted(value(i, "00080018") for i in instances) == sorted(
        u.sop for u in uids if u.series == uids[0].series)
    [single] = qido(api, f"{web}/studies/{uids[0].study}/series/{uids[0].series}/instances",
                    SOPInstanceUID=uids[0].sop)
    assert value(single, "00080016") == "1.2.840.10008.5.1.4.1.1.2"
    assert value(single, "00280010") == 8  # Rows, from the header via pydicom
    assert len(qido(api, f"{web}/instances")) == 5
    assert len(qido(api, f"{web}/instances", limit=2)) == 2
    bad = api.get(f"{web}/studies", NotAnAttribute="x")
    assert bad.status_code == 400 and "NotAnAttribute" in error_of(bad)["message"]


def test_wado_retrieve_returns_the_imported_bytes(imported):
    api, store, study, files = imported
    u = uids_of(files["ct.dcm"])
    response = api.get(f"{store}/dicomWeb/studies/{u.study}/series/{u.series}/instances/{u.sop}")
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/related") and 'type="application/dicom"' in content_type
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + response.content)
    parts = list(message.iter_parts())
    assert len(parts) == 1
    assert parts[0].get_content_type() == "application/dicom"
    assert parts[0].get_payload(decode=True) == files["ct.dcm"]

    whole_study = api.get(f"{store}/dicomWeb/studies/{uids_of(study[0]).study}")
    assert whole_study.status_code == 200 and whole_study.content.count(b"Content-Type: application/dicom") == 4
    missing = api.get(f"{store}/dicomWeb/studies/{u.study}/series/{u.series}/instances/1.2.3")
    assert missing.status_code == 404 and error_of(missing)["status"] == "NOT_FOUND"


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_dicomweb_on_both_versions_and_missing_store(stack, imported, version):
    api, store, _, files = imported
    other = HealthcareApi(stack.healthcare_url, version)
    assert len(qido(other, f"{store}/dicomWeb/studies")) == 2
    assert other.get(f"{store}x/dicomWeb/studies").status_code == 404
