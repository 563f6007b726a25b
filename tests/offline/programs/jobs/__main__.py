"""pulumi-offline test program: bucket + objects, Healthcare store, grants, a real import and export.

Config ``face: plugin`` registers the jobs as ``dicom-jobs:index:*`` (the provider plugin) instead of
dynamic resources; ``protect_import: true`` protects the import job; ``import_create_timeout: 3s`` is
its ``customTimeouts.create``.
"""

import pulumi
import pulumi_gcp as gcp

config = pulumi.Config()
if config.get("face") == "plugin":
    from pulumi_dicom_jobs.plugin import DicomExportJob, DicomImportJob
else:
    from pulumi_dicom_jobs import DicomExportJob, DicomImportJob

names = config.require_object("names")
files = config.require_object("files")  # local paths of DICOM files to upload
member = pulumi.Config("gcp").get("member")

source = gcp.storage.Bucket("source", name=names["source"], location="US", force_destroy=True)
objects = [gcp.storage.BucketObject(f"dcm-{i}", bucket=source.name, name=f"dicom/{i}.dcm",
                                    source=pulumi.FileAsset(path), content_type="application/dicom")
           for i, path in enumerate(files)]
exports = gcp.storage.Bucket("exports", name=names["exports"], location="US")  # force_destroy unset

keep = pulumi.ResourceOptions(retain_on_delete=True)
hc = gcp.healthcare.Dataset("hc", name=names["dataset"], location="us-central1", opts=keep)
store = gcp.healthcare.DicomStore("store", name=names["store"], dataset=hc.id, opts=keep)

number = gcp.organizations.get_project_output().number
agent = number.apply(lambda n: f"serviceAccount:service-{n}@gcp-sa-healthcare.iam.gserviceaccount.com")
reader = gcp.storage.BucketIAMMember("reader", bucket=source.name, role="roles/storage.objectViewer", member=agent)
writer = gcp.storage.BucketIAMMember("writer", bucket=exports.name, role="roles/storage.objectAdmin", member=agent)

imported = DicomImportJob("import", dicom_store=store.id,
                          gcs_source={"uri": source.name.apply(lambda b: f"gs://{b}/dicom/**.dcm")},
                          triggers=config.get_object("triggers"),
                          opts=pulumi.ResourceOptions(
                              depends_on=[reader, *objects], protect=bool(config.get_bool("protect_import")),
                              custom_timeouts=pulumi.CustomTimeouts(create=config.get("import_create_timeout"))))
exported = DicomExportJob("export", dicom_store=store.id,
                          gcs_destination={"uri_prefix": exports.name.apply(lambda b: f"gs://{b}/out"),
                                           "mime_type": "application/dicom"},
                          opts=pulumi.ResourceOptions(depends_on=[writer, imported]))

pulumi.export("imported", imported.success_count)
pulumi.export("exported", exported.success_count)
pulumi.export("operation", imported.operation_name)
