"""Import every .dcm file of a bucket into a new DICOM store.

    pulumi config set gcp:project my-project
    pulumi config set bucket my-dicom-files
    pulumi up
"""

import pulumi
import pulumi_gcp as gcp

from pulumi_dicom_jobs.gcp.components import DicomGcsImport

config = pulumi.Config()
bucket = config.require("bucket")
pattern = config.get("pattern") or "**.dcm"
location = config.get("location") or "us-central1"

dataset = gcp.healthcare.Dataset("dataset", name="dicom-gcs-import", location=location)
store = gcp.healthcare.DicomStore("store", name="imported", dataset=dataset.id)

# objectViewer on the bucket for the Healthcare service agent, then the job.
scans = DicomGcsImport(
    "scans",
    dicom_store=store.id,
    bucket=bucket,
    pattern=pattern,
    max_failed_instances=0,  # any unreadable file fails `pulumi up`
)

pulumi.export("dicom_store", store.id)
pulumi.export("source_uri", scans.source_uri)
pulumi.export("imported", scans.success_count)
pulumi.export("failed", scans.failure_count)
pulumi.export("logs_url", scans.logs_url)
