"""Show the transport's retries on stderr while ``dicom-jobs`` runs.

Why: a retried request is otherwise silent, and an endpoint where nothing
listens looked like a hang. :mod:`pulumi_dicom_jobs.api.transport` logs each
retry (``INFO``: endpoint, cause, pause; never a header or a token); the CLI
turns those records into ``dicom-jobs: retry ...`` lines on stderr, so stdout
(``--json``) stays one JSON document. The dynamic provider leaves them to the
host's logging.
"""

from __future__ import annotations

import logging
import sys

from pulumi_dicom_jobs.api import transport

__all__ = ["show_retries", "RETRY_PREFIX"]

#: How each retry line starts.
RETRY_PREFIX = "dicom-jobs: "


class _StderrLines(logging.Handler):
    """Writes each record's message on the *current* ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(RETRY_PREFIX + record.getMessage() + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 a display problem must not fail the job
            self.handleError(record)


def show_retries() -> None:
    """Print the transport's retry records on stderr (once per process)."""
    logger = transport.log
    if any(isinstance(handler, _StderrLines) for handler in logger.handlers):
        return
    logger.addHandler(_StderrLines(level=logging.INFO))
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
