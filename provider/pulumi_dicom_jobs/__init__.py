"""Pulumi dynamic resources for Cloud Healthcare API DICOM import and export jobs."""
