"""pulumi-offline test program: one ``dicom-jobs:index:DicomImportJob`` on the provider plugin.

Config ``store`` (the store's full name) and ``uri`` (the ``gcsSource.uri``): the inputs a
``pulumi import`` id of the same job states (docs/plugin.md#pulumi-import).
"""

import pulumi

from pulumi_dicom_jobs.plugin import DicomImportJob

config = pulumi.Config()
job = DicomImportJob("scans", dicom_store=config.require("store"), gcs_source={"uri": config.require("uri")})

pulumi.export("operation", job.operation_name)
pulumi.export("imported", job.success_count)
