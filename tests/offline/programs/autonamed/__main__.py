"""pulumi-offline test program: pulumi-gcp resources whose ``name`` is left out, as in the README's example.

Config ``location`` moves the Healthcare dataset (a replace: it gets a new name).
"""

import pulumi
import pulumi_gcp as gcp

config = pulumi.Config()
dataset = gcp.healthcare.Dataset("imaging", location=config.get("location") or "us-central1")
store = gcp.healthcare.DicomStore("main", dataset=dataset.id)
bucket = gcp.storage.Bucket("scans", location="US", force_destroy=True)
note = gcp.storage.BucketObject("note", bucket=bucket.name, content="hello")

pulumi.export("dataset", dataset.name)
pulumi.export("store", store.id)
pulumi.export("bucket", bucket.name)
pulumi.export("object", note.name)
