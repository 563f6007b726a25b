"""Google's own client drives the emulator: ``googleapiclient.discovery.build("healthcare", "v1")``.

Users point google-api-python-client at the emulator in their CI, so every
method the emulator implements is called here through the discovery client
(which adds ``alt=json`` to every URL), and Google's system parameters are
checked over plain HTTP: accepted on every method, refused where the real
service refuses them, and an unknown non-system query parameter still
refused by QIDO-RS.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any, Iterator

import pytest
import requests
from google.oauth2.credentials import Credentials
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from healthcare_emulator.sampledata import real_bytes, synthetic_study, uids_of
from healthcare_emulator.waiting import poll
from support.data import new_bucket, storage_client
from support.emulator import LOCATION, PROJECT, HealthcareApi, error_of

PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@pytest.fixture(scope="module")
def healthcare(stack) -> Iterator[Any]:
    """The discovery client (static document shipped in the package) on the emulator."""
    service = discovery.build("healthcare", "v1", credentials=Credentials(token="test"),
                              static_discovery=True,
                              client_options={"api_endpoint": stack.healthcare_url})
    yield service
    service.close()


def datasets(healthcare) -> Any:
    return healthcare.projects().locations().datasets()


def stores(healthcare) -> Any:
    return datasets(healthcare).dicomStores()


def operations(healthcare) -> Any:
    return datasets(healthcare).operations()


def wait_done(healthcare, name: str) -> dict:
    return poll(lambda: (lambda op: op if op.get("done") else None)(
        operations(healthcare).get(name=name).execute()), deadline_s=30, what=f"operation {name} done")


def raw(request) -> bytes:
    """Execute a request whose answer is not JSON (WADO-RS): the body as sent."""
    request.postproc = lambda response, content: content
    return request.execute()


def make_store(healthcare, dataset_id: str, store_id: str = "store") -> str:
    datasets(healthcare).create(parent=PARENT, datasetId=dataset_id, body={}).execute()
    return stores(healthcare).create(parent=f"{PARENT}/datasets/{dataset_id}", dicomStoreId=store_id,
                                     body={}).execute()["name"]


def test_datasets_create_get_list_delete(healthcare, emulator, unique):
    operation = datasets(healthcare).create(parent=PARENT, datasetId=f"ds-{unique}", body={}).execute()
    name = f"{PARENT}/datasets/ds-{unique}"
    assert operation["done"] is True and operation["response"]["name"] == name
    assert datasets(healthcare).get(name=name).execute()["name"] == name
    listed = datasets(healthcare).list(parent=PARENT, pageSize=10).execute()
    assert [d["name"] for d in listed["datasets"]] == [name]
    assert datasets(healthcare).get(name=name, fields="name").execute() == {"name": name}
    assert datasets(healthcare).delete(name=name).execute() == {}
    with pytest.raises(HttpError) as caught:
        datasets(healthcare).get(name=name).execute()
    assert caught.value.resp.status == 404


def test_dicom_stores_create_get_list_delete(healthcare, emulator, unique):
    store = make_store(healthcare, f"ds-{unique}")
    dataset = f"{PARENT}/datasets/ds-{unique}"
    assert store == f"{dataset}/dicomStores/store"
    assert stores(healthcare).get(name=store).execute()["name"] == store
    listed = stores(healthcare).list(parent=dataset).execute()
    assert [s["name"] for s in listed["dicomStores"]] == [store]
    assert stores(healthcare).list(parent=dataset, fields="dicomStores/name").execute() == {
        "dicomStores": [{"name": store}]}
    assert stores(healthcare).delete(name=store).execute() == {}
    with pytest.raises(HttpError) as caught:
        stores(healthcare).get(name=store).execute()
    assert caught.value.resp.status == 404


def test_import_export_and_operations_get_list(healthcare, emulator, unique):
    store = make_store(healthcare, f"ds-{unique}")
    study = synthetic_study(series=1, per_series=2)
    source = new_bucket(storage_client(), {f"in/{i}.dcm": data for i, data in enumerate(study)})
    destination = new_bucket(storage_client())
    emulator.grant_agent(buckets=[source.name, destination.name])  # as docs/emulator.md tells a user
    started = stores(healthcare).import_(
        name=store, body={"gcsSource": {"uri": f"gs://{source.name}/in/*.dcm"}}).execute()
    imported = wait_done(healthcare, started["name"])
    assert "response" in imported and "error" not in imported, imported
    assert imported["metadata"]["counter"] == {"success": "2"}

    started = stores(healthcare).export(
        name=store, body={"gcsDestination": {"uriPrefix": f"gs://{destination.name}/out"}}).execute()
    exported = wait_done(healthcare, started["name"])
    assert "response" in exported and "error" not in exported, exported
    written = [blob.name for blob in storage_client().list_blobs(destination.name)]
    assert len(written) == 2 and all(n.startswith("out/") for n in written)

    dataset = f"{PARENT}/datasets/ds-{unique}"
    listed = operations(healthcare).list(name=dataset, pageSize=1).execute()
    assert len(listed["operations"]) == 1 and listed["nextPageToken"]
    rest = operations(healthcare).list(name=dataset, pageToken=listed["nextPageToken"]).execute()
    names = [op["name"] for op in listed["operations"] + rest["operations"]]
    assert imported["name"] in names and exported["name"] in names
    selected = operations(healthcare).list(
        name=dataset, fields="operations(name,metadata/apiMethodName)").execute()
    assert all(set(op) == {"name", "metadata"} and set(op["metadata"]) == {"apiMethodName"}
               for op in selected["operations"]), selected
    assert operations(healthcare).get(name=imported["name"], fields="done").execute() == {"done": True}


def test_operations_cancel(healthcare, emulator, unique):
    emulator.post("config", {"operationMinSeconds": 60})
    store = make_store(healthcare, f"ds-{unique}")
    source = new_bucket(storage_client(), {"a.dcm": synthetic_study(series=1, per_series=1)[0]})
    emulator.grant_agent(buckets=[source.name])
    started = stores(healthcare).import_(
        name=store, body={"gcsSource": {"uri": f"gs://{source.name}/a.dcm"}}).execute()
    assert operations(healthcare).cancel(name=started["name"], body={}).execute() == {}
    cancelled = wait_done(healthcare, started["name"])
    assert cancelled["error"]["code"] == 1, cancelled


@pytest.fixture
def imported_store(healthcare, emulator, unique) -> tuple[str, list[bytes], bytes]:
    store = make_store(healthcare, f"ds-{unique}")
    study = synthetic_study(series=2, per_series=2, patient_id="PAT-9")
    ct = real_bytes("CT_small.dcm")
    files = {f"s/{i}.dcm": data for i, data in enumerate(study)}
    files["ct.dcm"] = ct
    source = new_bucket(storage_client(), files)
    emulator.grant_agent(buckets=[source.name])
    started = stores(healthcare).import_(
        name=store, body={"gcsSource": {"uri": f"gs://{source.name}/**.dcm"}}).execute()
    assert "response" in wait_done(healthcare, started["name"])
    return store, study, ct


def value(item: dict, tag: str) -> Any:
    return item[tag]["Value"][0]


def test_dicomweb_search_methods(healthcare, imported_store):
    store, study, ct = imported_store
    uids = [uids_of(d) for d in study]
    first = uids[0]
    studies = stores(healthcare).searchForStudies(parent=store, dicomWebPath="studies").execute()
    assert sorted(value(s, "0020000D") for s in studies) == sorted({first.study, uids_of(ct).study})
    series = stores(healthcare).searchForSeries(parent=store, dicomWebPath="series").execute()
    assert len(series) == 3
    instances = stores(healthcare).searchForInstances(parent=store, dicomWebPath="instances").execute()
    assert len(instances) == 5

    in_study = stores(healthcare).studies()
    found = in_study.searchForSeries(parent=store, dicomWebPath=f"studies/{first.study}/series").execute()
    assert sorted(value(s, "0020000E") for s in found) == sorted({u.series for u in uids})
    found = in_study.searchForInstances(
        parent=store, dicomWebPath=f"studies/{first.study}/instances").execute()
    assert sorted(value(i, "00080018") for i in found) == sorted(u.sop for u in uids)
    found = in_study.series().searchForInstances(
        parent=store, dicomWebPath=f"studies/{first.study}/series/{first.series}/instances").execute()
    assert sorted(value(i, "00080018") for i in found) == sorted(
        u.sop for u in uids if u.series == first.series)


def parts_of(body: bytes, content_type: str) -> list[bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return [part.get_payload(decode=True) for part in message.iter_parts()]


def test_dicomweb_retrieve_methods(healthcare, imported_store):
    store, study, ct = imported_store
    u = uids_of(ct)
    web = stores(healthcare).studies()
    path = f"studies/{u.study}/series/{u.series}/instances/{u.sop}"
    captured: dict[str, str] = {}

    def retrieve(request) -> list[bytes]:
        def keep(response, content):
            captured["type"] = response["content-type"]
            return content
        request.postproc = keep
        body = request.execute()
        assert captured["type"].startswith('multipart/related; type="application/dicom"')
        return parts_of(body, captured["type"])

    assert retrieve(web.series().instances().retrieveInstance(parent=store, dicomWebPath=path)) == [ct]
    assert retrieve(web.series().retrieveSeries(
        parent=store, dicomWebPath=f"studies/{u.study}/series/{u.series}")) == [ct]
    assert retrieve(web.retrieveStudy(parent=store, dicomWebPath=f"studies/{u.study}")) == [ct]

    [meta] = web.series().instances().retrieveMetadata(
        parent=store, dicomWebPath=f"{path}/metadata").execute()
    assert value(meta, "00080018") == u.sop
    [meta] = web.series().retrieveMetadata(
        parent=store, dicomWebPath=f"studies/{u.study}/series/{u.series}/metadata").execute()
    assert value(meta, "0020000E") == u.series
    [meta] = web.retrieveMetadata(parent=store, dicomWebPath=f"studies/{u.study}/metadata").execute()
    assert value(meta, "0020000D") == u.study
    assert raw(web.series().instances().retrieveInstance(parent=store, dicomWebPath=path)).count(
        b"application/dicom") == 1


# -- system parameters over plain HTTP ------------------------------------------------------
SYSTEM = {"alt": "json", "prettyPrint": "false", "quotaUser": "me", "key": "k", "$.xgafv": "2",
          "callback": "cb", "upload_protocol": "raw", "uploadType": "media", "fields": ""}


def test_every_system_parameter_is_accepted_on_json_and_dicomweb_methods(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    for path in (store, f"{store}/dicomWeb/studies", f"{store}/dicomWeb/instances",
                 f"{PARENT}/datasets", f"{PARENT}/datasets/ds-{unique}/operations"):
        response = api.get(path, **SYSTEM)
        assert response.status_code == 200, (path, response.text)
    assert api.get(f"{store}/dicomWeb/studies", alt="media").status_code == 200
    assert api.get(f"{store}/dicomWeb/studies", fields="x").json() == []  # HttpBody: answered whole


def test_unknown_qido_parameter_is_still_refused_beside_system_parameters(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    response = api.get(f"{store}/dicomWeb/studies", alt="json", NotAnAttribute="x")
    assert response.status_code == 400 and "NotAnAttribute" in error_of(response)["message"]


def test_refused_system_parameter_values(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    for params in ({"alt": "xml"}, {"$.xgafv": "3"}, {"prettyPrint": "maybe"}, {"fields": "name("}):
        response = api.get(store, **params)
        assert response.status_code == 400, (params, response.text)
        assert error_of(response)["status"] == "INVALID_ARGUMENT"
        name = next(iter(params))
        assert name in error_of(response)["message"]
    anonymous = requests.get(f"{stack.healthcare_url}/v1/{store}", params={"alt": "xml"}, timeout=30)
    assert anonymous.status_code == 400  # refused before the credential is looked at
    media = api.get(store, alt="media")
    assert media.status_code == 400 and "alt=media" in error_of(media)["message"]
    proto = api.get(store, alt="proto")
    assert proto.status_code == 501 and error_of(proto)["status"] == "UNIMPLEMENTED"


def test_access_token_in_the_query_is_a_credential_and_key_is_not(stack, emulator, unique):
    store = HealthcareApi(stack.healthcare_url).create_store(f"ds-{unique}")
    url = f"{stack.healthcare_url}/v1/{store}"
    assert requests.get(url, params={"access_token": "t0ken"}, timeout=30).status_code == 200
    assert requests.get(url, params={"oauth_token": "t0ken", "alt": "json"}, timeout=30).status_code == 200
    assert requests.get(url, params={"key": "k"}, timeout=30).status_code == 401
    logged = " ".join(entry["query"] for entry in emulator.get("requests")["requests"])
    assert "access_token=REDACTED" in logged and "oauth_token=REDACTED" in logged
    assert "t0ken" not in logged and "key=k" not in logged


def test_fields_selects_nested_paths_and_sub_selections(stack, emulator, unique):
    api = HealthcareApi(stack.healthcare_url)
    store = api.create_store(f"ds-{unique}")
    assert api.get(store, fields="name").json() == {"name": store}
    assert api.get(store, fields="*").json() == api.get(store).json()
    listed = api.get(f"{PARENT}/datasets", fields="datasets(name),nextPageToken").json()
    assert listed == {"datasets": [{"name": f"{PARENT}/datasets/ds-{unique}"}]}
    assert api.get(f"{PARENT}/datasets", fields="datasets/name").json() == listed
    assert api.get(store, fields="noSuchField").json() == {}
    missing = api.get(f"{store}x", fields="name")
    assert missing.status_code == 404 and set(error_of(missing)) >= {"code", "message", "status"}


def test_both_api_versions_declare_the_same_system_parameters():
    from healthcare_emulator import discovery as documents

    assert set(documents.system_parameters("v1")) == set(documents.system_parameters("v1beta1"))
    assert set(documents.system_parameters("v1")) >= {
        "alt", "fields", "prettyPrint", "quotaUser", "key", "$.xgafv", "access_token", "oauth_token",
        "callback", "upload_protocol", "uploadType"}
