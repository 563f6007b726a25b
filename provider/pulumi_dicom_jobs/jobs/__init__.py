"""Start a DICOM import/export job and wait for it: the one code path for the
dynamic providers, the provider plugin and the ``dicom-jobs`` CLI.

Why a layer of its own: HTTP, credentials and one method per API call are
:mod:`pulumi_dicom_jobs.api`'s; the snapshot, backoff, poll schedule and
waiter :mod:`pulumi_dicom_jobs.lro`'s; the messages
:mod:`pulumi_dicom_jobs.failures`'. This layer decides: when to start, what
to adopt, when to start again, and what an ended operation means. Every rule
and why it is so is in docs/lifecycle.md, "Inside the job runner".

:mod:`.starting` (in-flight check, the POST, adoption after a lost answer),
:mod:`.waiting` (the wait and the verdict), :mod:`.stopping` (timeout and
interrupt: cancel and settle), :mod:`.run` (the whole job, with the
permission restart), :mod:`.operations` (one snapshot, a cancel, the short
polls) and :mod:`.clock` (the one clock all of them read). Credentials are
looked up when a client first sends a request and live only as long as it.
"""

from pulumi_dicom_jobs.jobs.operations import cancel_operation, get_operation
from pulumi_dicom_jobs.jobs.run import PERMISSION_RETRY_BACKOFF, run_job
from pulumi_dicom_jobs.jobs.starting import (CLOCK_SKEW_MARGIN_S, MAX_START_ATTEMPTS, SETTLE_LISTINGS,
                                             START_SETTLE_MAX_S, START_SETTLE_S, check_in_flight, start,
                                             start_export, start_import)
from pulumi_dicom_jobs.jobs.waiting import judge, wait

__all__ = [
    "start", "start_import", "start_export", "get_operation", "cancel_operation", "check_in_flight",
    "wait", "judge", "run_job", "CLOCK_SKEW_MARGIN_S", "MAX_START_ATTEMPTS", "START_SETTLE_S",
    "START_SETTLE_MAX_S", "SETTLE_LISTINGS", "PERMISSION_RETRY_BACKOFF",
]
