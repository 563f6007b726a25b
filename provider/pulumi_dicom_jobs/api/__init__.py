"""The Healthcare API as the product uses it: transport, credentials, typed errors, client.

Layering: :mod:`.transport` sends one request honestly (retries only what is
safe), :mod:`.auth` supplies credentials at call time, :mod:`.errors` types
what went wrong, and :mod:`.client` offers one method per API call. Nothing
here decides what an answer means for a job (:mod:`pulumi_dicom_jobs.jobs`).
"""
