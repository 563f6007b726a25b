"""Render every instance of a DICOM store as JPEG into a new bucket.

    pulumi config set gcp:project my-project
    pulumi config set dicom_store projects/my-project/locations/us-central1/datasets/imaging/dicomStores/main
    pulumi config set bucket my-jpeg-bucket   # optional, default <project>-dicom-jpeg
    pulumi up
"""

import pulumi

from pulumi_dicom_jobs.gcp.components import DicomGcsExport

config = pulumi.Config()
dicom_store = config.require("dicom_store")
project = pulumi.Config("gcp").require("project")
bucket = config.get("bucket") or f"{project}-dicom-jpeg"

# Creates the bucket (in the store's region), grants the Healthcare service
# agent objectAdmin on it, then exports: jpeg/{study}/{series}/{instance}[/{frame}].jpg
jpeg = DicomGcsExport(
    "jpeg",
    dicom_store=dicom_store,
    bucket=bucket,
    prefix="jpeg",
    mime_type="image/jpeg",
    max_failed_instances=0,
)

pulumi.export("uri_prefix", jpeg.uri_prefix)
pulumi.export("exported", jpeg.success_count)
pulumi.export("failed", jpeg.failure_count)
pulumi.export("logs_url", jpeg.logs_url)
