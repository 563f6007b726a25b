"""Long-running operations: the snapshot, one backoff, the poll schedule, one waiter.

Nothing here talks HTTP or knows what a DICOM job is; :mod:`pulumi_dicom_jobs.jobs`
puts these together with the API client.
"""

from pulumi_dicom_jobs.lro.backoff import Backoff
from pulumi_dicom_jobs.lro.cancel import CancelToken
from pulumi_dicom_jobs.lro.schedule import PollSchedule
from pulumi_dicom_jobs.lro.status import OperationStatus
from pulumi_dicom_jobs.lro.waiter import WaitOutcome, Waiter

__all__ = ["Backoff", "CancelToken", "OperationStatus", "PollSchedule", "WaitOutcome", "Waiter"]
