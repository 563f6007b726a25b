"""Export the metadata of a few studies to BigQuery, selected by a filter file.

    pulumi config set gcp:project my-project
    pulumi config set dicom_store projects/my-project/locations/us-central1/datasets/imaging/dicomStores/main
    pulumi config set --path 'studies[0]' 1.2.840.113619.2.55.3.604688119.969.1268071029.320
    pulumi up
"""

import hashlib

import pulumi
import pulumi_gcp as gcp

from pulumi_dicom_jobs.gcp.components import DicomBigQueryExport
from pulumi_dicom_jobs.gcp.grants import store_location

config = pulumi.Config()
dicom_store = config.require("dicom_store")
studies = config.require_object("studies")
project = pulumi.Config("gcp").require("project")
if not isinstance(studies, list) or not studies:
    raise ValueError("config 'studies' must be a non-empty list of Study Instance UIDs")

# The filter file: one /studies/<UID> line per study (series and instances
# can be selected with /studies/<UID>/series/<UID>[/instances/<UID>]).
filters = gcp.storage.Bucket(
    "filters",
    name=f"{project}-dicom-filters",
    location=store_location(dicom_store),
    uniform_bucket_level_access=True,
)
content = "".join(f"/studies/{uid}\n" for uid in studies)
filter_file = gcp.storage.BucketObject(
    "studies-filter",
    bucket=filters.name,
    name="filters/studies.txt",
    content=content,
    content_type="text/plain",
)
filter_uri = pulumi.Output.concat("gs://", filter_file.bucket, "/", filter_file.name)

# dicom_metadata dataset + dataEditor on it + jobUser on the project +
# objectViewer on the filter bucket, then the export job.
metadata = DicomBigQueryExport(
    "metadata",
    dicom_store=dicom_store,
    dataset_id="dicom_metadata",
    table="instances",
    write_disposition="WRITE_TRUNCATE",  # each run replaces the table
    filter_file=filter_uri,
    # Same URI after an edit of `studies`: the content hash re-runs the export.
    triggers=[hashlib.sha256(content.encode()).hexdigest()[:16]],
)

pulumi.export("table_uri", metadata.table_uri)
pulumi.export("filter_uri", filter_uri)
pulumi.export("exported", metadata.success_count)
pulumi.export("failed", metadata.failure_count)
pulumi.export("logs_url", metadata.logs_url)
