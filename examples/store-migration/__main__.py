"""Copy every instance of a DICOM store into a new store: export, then import.

    pulumi config set gcp:project my-project
    pulumi config set source_store projects/my-project/locations/us-central1/datasets/imaging/dicomStores/main
    pulumi up                      # run 1
    pulumi config set run 2 && pulumi up   # export and import again, into run-2/

The export writes original DICOM (no transcoding) under ``run-<run>/`` of a
staging bucket; the import reads exactly that prefix, after the export (an
explicit ``depends_on`` on top of the data flow). Changing ``run`` replaces
both jobs through their ``triggers``: a fresh export, then a fresh import.
"""

import pulumi
import pulumi_gcp as gcp

from pulumi_dicom_jobs.gcp.components import DicomGcsExport, DicomGcsImport
from pulumi_dicom_jobs.gcp.grants import parse_dicom_store

config = pulumi.Config()
source_store = config.require("source_store")
run = config.get("run") or "1"
project = pulumi.Config("gcp").require("project")
bucket = config.get("bucket") or f"{project}-dicom-migration"
_, location, source_dataset, source_name = parse_dicom_store(source_store)

target_dataset = gcp.healthcare.Dataset("target-dataset", name=f"{source_dataset}-migrated", location=location)
target_store = gcp.healthcare.DicomStore("target-store", name=source_name, dataset=target_dataset.id)

prefix = f"run-{run}"
exported = DicomGcsExport(
    "export",
    dicom_store=source_store,
    bucket=bucket,
    prefix=prefix,
    mime_type="application/dicom; transfer-syntax=*",  # original bytes, written as .dcm
    max_failed_instances=0,
    triggers=[run],
)
imported = DicomGcsImport(
    "import",
    dicom_store=target_store.id,
    bucket=exported.bucket_name,
    pattern=f"{prefix}/**.dcm",
    max_failed_instances=0,
    triggers=[run],
    opts=pulumi.ResourceOptions(depends_on=[exported]),
)

pulumi.export("target_store", target_store.id)
pulumi.export("staging_prefix", exported.uri_prefix)
pulumi.export("exported", exported.success_count)
pulumi.export("imported", imported.success_count)
pulumi.export("import_failures", imported.failure_count)
