"""gcs.GcsClient: the JSON-API calls the jobs make, against the real emulator."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from support.data import download, upload
from healthcare_emulator.gcs import BucketNotFound, GcsClient, ObjectNotFound, split_gs_uri


def test_write_list_read_with_names_needing_encoding(stack, bucket):
    client = GcsClient(stack.storage_url)
    names = ["a/b c.dcm", "a/x?y#z%.dcm", "a/ü/é.dcm", "top"]
    for index, name in enumerate(names):
        client.write_object(bucket.name, name, f"payload {index}".encode(), "application/dicom")
    assert [download(bucket, n) for n in names] == [f"payload {i}".encode() for i in range(4)]
    assert sorted(o.name for o in client.list_objects(bucket.name, "a/")) == sorted(names[:3])
    assert {o.size for o in client.list_objects(bucket.name)} == {9}
    upload(bucket, "from-google-client", b"abc")
    assert client.read_object(bucket.name, "from-google-client") == b"abc"


def test_missing_bucket_and_object_are_distinct_errors(stack, bucket):
    client = GcsClient(stack.storage_url)
    assert client.bucket_exists(bucket.name)
    with pytest.raises(BucketNotFound, match="does not exist"):
        client.require_bucket("no-such-bucket-gcs-client")
    with pytest.raises(BucketNotFound):
        list(client.list_objects("no-such-bucket-gcs-client"))
    with pytest.raises(BucketNotFound):
        client.read_object("no-such-bucket-gcs-client", "x")
    with pytest.raises(ObjectNotFound, match="nope"):
        client.read_object(bucket.name, "nope")
    with pytest.raises(BucketNotFound):
        client.write_object("no-such-bucket-gcs-client", "x", b"1")


def test_list_follows_next_page_token():
    """gcp-storage-emulator returns one page, so a three-page server stands in here."""
    seen: list[dict] = []

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            seen.append(query)
            page = int(query.get("pageToken", "0"))
            body = {"items": [{"name": f"p/{page}-{i}", "size": "1"} for i in range(2)]}
            if page < 2:
                body["nextPageToken"] = str(page + 1)
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = GcsClient(f"http://127.0.0.1:{server.server_address[1]}")
        names = [o.name for o in client.list_objects("bkt", "p/")]
    finally:
        server.shutdown()
        server.server_close()
    assert names == ["p/0-0", "p/0-1", "p/1-0", "p/1-1", "p/2-0", "p/2-1"]
    assert [q.get("pageToken") for q in seen] == [None, "1", "2"]
    assert all(q["prefix"] == "p/" for q in seen)


def test_split_gs_uri():
    assert split_gs_uri("gs://bkt/a/b") == ("bkt", "a/b")
    assert split_gs_uri("gs://bkt") == ("bkt", "")
    with pytest.raises(ValueError):
        split_gs_uri("gs:///x")
    with pytest.raises(ValueError):
        split_gs_uri("http://bkt/x")
