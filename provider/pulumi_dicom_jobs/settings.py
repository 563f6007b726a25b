"""Every environment knob of the product, with its default, in one place.

Why one module: the same variables reach the ``dicom-jobs`` CLI and the
dynamic provider host (which inherits the environment of ``pulumi up``), and
a user looking for "what can I tune" should find one list. Each knob is read
*at call time* (not at import), so a value set after the package was imported,
or changed between two jobs of one process, still applies. A malformed value
never fails a job: it falls back to the default (logged where that matters).
A switch (the in-flight check, the host pool, the plugin's cancel on
interrupt) reads the same words everywhere: :data:`OFF_WORDS` and
:data:`ON_WORDS`, through :func:`switch`.

=======================================  ================================================
``HEALTHCARE_EMULATOR_HOST``             ``host:port`` of the emulator: plain HTTP, dummy token
``GOOGLE_OAUTH_ACCESS_TOKEN``            an access token used as is (no refresh)
``GOOGLE_IMPERSONATE_SERVICE_ACCOUNT``   mint tokens for this service account
``DICOM_JOBS_HTTP_TIMEOUT``              ``READ`` or ``CONNECT,READ`` seconds (default 10, 60)
``DICOM_JOBS_PERMISSION_RETRY_SECONDS``  IAM propagation window (default 120; 0 disables)
``DICOM_JOBS_IN_FLIGHT_GRACE_SECONDS``   in-flight check's grace period (default 30)
``DICOM_JOBS_IN_FLIGHT_CHECK``           ``off`` disables the in-flight check
``DICOM_JOBS_HOST_POOL``                 ``off`` or a number of dynamic host workers
``DICOM_JOBS_API_ENDPOINT``              the plugin's default API endpoint (``apiEndpoint``)
``DICOM_JOBS_CANCEL_ON_INTERRUPT``       ``false`` leaves jobs running on Ctrl-C (plugin)
=======================================  ================================================
"""

from __future__ import annotations

import logging
import os
from typing import Optional

log = logging.getLogger("pulumi_dicom_jobs.settings")

#: ``host:port`` of a Healthcare API emulator; wins over any endpoint.
EMULATOR_HOST_ENV = "HEALTHCARE_EMULATOR_HOST"
#: An OAuth access token used as is (it cannot be refreshed).
ACCESS_TOKEN_ENV = "GOOGLE_OAUTH_ACCESS_TOKEN"
#: A service account to impersonate with the credentials found.
IMPERSONATE_ENV = "GOOGLE_IMPERSONATE_SERVICE_ACCOUNT"

#: (connect, read) seconds when neither the caller nor the environment says otherwise.
DEFAULT_HTTP_TIMEOUT = (10.0, 60.0)
#: Override of :data:`DEFAULT_HTTP_TIMEOUT`: ``READ`` or ``CONNECT,READ`` seconds.
HTTP_TIMEOUT_ENV = "DICOM_JOBS_HTTP_TIMEOUT"

#: For how long after the first start a PERMISSION_DENIED with no success
#: (failed instances or not) is treated as "grants not propagated yet" and the
#: job is started again (see :mod:`pulumi_dicom_jobs.jobs.run`).
DEFAULT_PERMISSION_RETRY_SECONDS = 120.0
#: Override of that window (seconds; 0 disables the retry).
PERMISSION_RETRY_ENV = "DICOM_JOBS_PERMISSION_RETRY_SECONDS"

#: Not-done operations of the same kind created less than this many seconds
#: before a start are taken for siblings, not for an interrupted run's
#: (see :mod:`pulumi_dicom_jobs.jobs.starting`).
IN_FLIGHT_GRACE_SECONDS = 30.0
#: Override of the grace period (seconds).
IN_FLIGHT_GRACE_ENV = "DICOM_JOBS_IN_FLIGHT_GRACE_SECONDS"
#: ``off`` (or another of :data:`OFF_WORDS`) disables the in-flight check.
IN_FLIGHT_CHECK_ENV = "DICOM_JOBS_IN_FLIGHT_CHECK"

#: ``off`` or a worker count for the dynamic provider host's pool
#: (see :mod:`pulumi_dicom_jobs.dynamic.hostpool`).
HOST_POOL_ENV = "DICOM_JOBS_HOST_POOL"

#: The provider plugin's default API endpoint (its ``apiEndpoint`` config).
API_ENDPOINT_ENV = "DICOM_JOBS_API_ENDPOINT"
#: The provider plugin's ``cancelOnInterrupt`` config: ``false`` leaves a
#: job's operation running when ``pulumi up`` is interrupted.
CANCEL_ON_INTERRUPT_ENV = "DICOM_JOBS_CANCEL_ON_INTERRUPT"


#: The words that turn any switch off, and on (compared trimmed and lower-cased).
OFF_WORDS = frozenset({"off", "false", "no", "0", "disable", "disabled"})
ON_WORDS = frozenset({"on", "true", "yes", "1", "enable", "enabled"})


def switch(text: str) -> Optional[bool]:
    """False for a word of :data:`OFF_WORDS`, True for one of :data:`ON_WORDS`, else None."""
    word = text.strip().lower()
    if word in OFF_WORDS:
        return False
    return True if word in ON_WORDS else None


def _text(name: str) -> str:
    return os.environ.get(name, "").strip()


def emulator_host() -> Optional[str]:
    """``HEALTHCARE_EMULATOR_HOST`` when set (``host:port``), else None."""
    return _text(EMULATOR_HOST_ENV) or None


def access_token() -> Optional[str]:
    """``GOOGLE_OAUTH_ACCESS_TOKEN`` when set, else None."""
    return _text(ACCESS_TOKEN_ENV) or None


def impersonated_service_account() -> Optional[str]:
    """``GOOGLE_IMPERSONATE_SERVICE_ACCOUNT`` when set, else None."""
    return _text(IMPERSONATE_ENV) or None


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds: :data:`HTTP_TIMEOUT_ENV` if valid, else :data:`DEFAULT_HTTP_TIMEOUT`."""
    raw = _text(HTTP_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_HTTP_TIMEOUT
    try:
        parts = [float(part) for part in raw.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts = [DEFAULT_HTTP_TIMEOUT[0], parts[0]]
    if len(parts) != 2 or not all(0 < value < float("inf") for value in parts):
        log.warning("ignoring %s=%r: expected READ or CONNECT,READ seconds (positive numbers)",
                    HTTP_TIMEOUT_ENV, raw)
        return DEFAULT_HTTP_TIMEOUT
    return parts[0], parts[1]


def _seconds(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ[name]))
    except (KeyError, ValueError):
        return default


def permission_retry_window() -> float:
    """The IAM propagation window from the environment, else the default."""
    return _seconds(PERMISSION_RETRY_ENV, DEFAULT_PERMISSION_RETRY_SECONDS)


def in_flight_grace_seconds() -> float:
    """The in-flight grace period from the environment, else :data:`IN_FLIGHT_GRACE_SECONDS`."""
    return _seconds(IN_FLIGHT_GRACE_ENV, IN_FLIGHT_GRACE_SECONDS)


def in_flight_check_enabled() -> bool:
    """False when :data:`IN_FLIGHT_CHECK_ENV` turns the check off."""
    return switch(_text(IN_FLIGHT_CHECK_ENV)) is not False


def host_pool() -> str:
    """``DICOM_JOBS_HOST_POOL``, lower-cased ("" when unset); hostpool interprets it."""
    return _text(HOST_POOL_ENV).lower()
