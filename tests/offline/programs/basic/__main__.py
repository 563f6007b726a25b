"""pulumi-offline test program: pulumi-gcp resources, grants and a recording dynamic resource."""

import pulumi
import pulumi_gcp as gcp

from offline_support import Recorder

config = pulumi.Config()
gcp_project = pulumi.Config("gcp").require("project")
names = config.require_object("names")  # structured config: {"bucket": ..., "bq": ..., "dataset": ..., "store": ...}
triggers = config.get_object("triggers") or []
with_extra = config.get_bool("with_extra") or False

bucket = gcp.storage.Bucket("bucket", name=names["bucket"], location="US", force_destroy=True)
bq = gcp.bigquery.Dataset("bq", dataset_id=names["bq"], location="US", delete_contents_on_destroy=True)
hc = gcp.healthcare.Dataset("hc-dataset", name=names["dataset"], location="us-central1")
store = gcp.healthcare.DicomStore("store", name=names["store"], dataset=hc.id)

agent = gcp.organizations.get_project_output().number.apply(
    lambda n: f"serviceAccount:service-{n}@gcp-sa-healthcare.iam.gserviceaccount.com")
reader = gcp.storage.BucketIAMMember("bucket-reader", bucket=bucket.name, role="roles/storage.objectViewer",
                                     member=agent, opts=pulumi.ResourceOptions(depends_on=[store]))
editor = gcp.bigquery.DatasetIamMember("bq-editor", dataset_id=bq.dataset_id, role="roles/bigquery.dataEditor",
                                       member=agent)
job_user = gcp.projects.IAMMember("job-user", project=gcp_project, role="roles/bigquery.jobUser", member=agent)

job = Recorder("job", label="job", store=store.id, bucket_url=bucket.url, member=agent, triggers=triggers,
               opts=pulumi.ResourceOptions(depends_on=[reader, editor, job_user]))
if with_extra:
    Recorder("extra", label="extra", store=store.id)

pulumi.export("bucket_url", bucket.url)
pulumi.export("store_id", store.id)
pulumi.export("job_store", job.store)
pulumi.export("job_id", job.created_id)
pulumi.export("project", pulumi.get_project())
pulumi.export("stack", pulumi.get_stack())
pulumi.export("label_config", config.get("label"))
