"""Credentials for the Healthcare API, resolved at call time.

Why at call time: the dynamic provider object is pickled into the Pulumi
state, so anything it holds is persisted. Credentials are therefore never
attributes of a provider; each call resolves them here, uses them for its
requests, and drops them. Tokens never reach state, outputs, errors or logs.

Order of precedence (the same as Google's Terraform provider; the variables
are read through :mod:`pulumi_dicom_jobs.settings`):

1. ``HEALTHCARE_EMULATOR_HOST`` set: a dummy bearer token (the emulator
   checks for presence only) - no Google credentials are looked up at all.
2. ``GOOGLE_OAUTH_ACCESS_TOKEN``: that access token, as is (it cannot be
   refreshed; a 401 then fails).
3. Application Default Credentials (``google.auth.default``).

With ``GOOGLE_IMPERSONATE_SERVICE_ACCOUNT`` set, the credentials from 2 or 3
are used only to mint short-lived tokens for that service account
(``google.auth.impersonated_credentials``).

Nothing found (no ADC) raises :class:`~pulumi_dicom_jobs.api.errors.NoCredentials`,
whose text says how to get credentials; credentials that cannot produce a
token (a revoked login, an impersonation refused) raise
:class:`~pulumi_dicom_jobs.api.errors.CredentialsError`. Both mean no request
was sent, and neither is retried.
"""

from __future__ import annotations

import threading
from typing import Optional

import google.auth
import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
from google.auth import impersonated_credentials

from pulumi_dicom_jobs import api_facts, settings
from pulumi_dicom_jobs.api.errors import HOW_TO_GET_CREDENTIALS, CredentialsError, NoCredentials

#: What the emulator gets as a bearer token: any value is accepted there.
EMULATOR_TOKEN = "healthcare-emulator-dummy-token"


class TokenSource:
    """Hands out ``Authorization`` header values; refreshes on demand.

    Thread-safe; ``force_refresh`` is what a 401 triggers (once per request).
    ``repr`` never shows the token.
    """

    def __init__(self, credentials: Optional[google.auth.credentials.Credentials]) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        kind = type(self._credentials).__name__ if self._credentials else "emulator"
        return f"TokenSource({kind})"

    @property
    def refreshable(self) -> bool:
        if self._credentials is None:
            return False
        return not (isinstance(self._credentials, google.oauth2.credentials.Credentials)
                    and self._credentials.refresh_token is None)

    def header(self) -> str:
        if self._credentials is None:
            return f"Bearer {EMULATOR_TOKEN}"
        with self._lock:
            if not self._credentials.valid and self.refreshable:
                self._refresh()
            return f"Bearer {self._credentials.token}"

    def _refresh(self) -> None:
        try:
            self._credentials.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.GoogleAuthError as exc:
            raise CredentialsError(f"the Google credentials found ({type(self._credentials).__name__}) "
                                   f"could not produce an access token: {exc}. "
                                   f"{HOW_TO_GET_CREDENTIALS}") from None

    def force_refresh(self) -> bool:
        """Refresh now; False when these credentials cannot be refreshed."""
        if not self.refreshable:
            return False
        with self._lock:
            self._refresh()
        return True


def google_credentials(scopes: tuple[str, ...] = (api_facts.CLOUD_PLATFORM_SCOPE,)
                       ) -> google.auth.credentials.Credentials:
    """Credentials per the module's precedence (without the emulator case)."""
    token = settings.access_token()
    if token:
        credentials: google.auth.credentials.Credentials = google.oauth2.credentials.Credentials(token=token)
    else:
        try:
            credentials, _ = google.auth.default(scopes=list(scopes))
        except google.auth.exceptions.DefaultCredentialsError:
            raise NoCredentials() from None
    target = settings.impersonated_service_account()
    if target:
        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials, target_principal=target, target_scopes=list(scopes))
    return credentials


def token_source(use_emulator: bool) -> TokenSource:
    """A fresh :class:`TokenSource` for one client."""
    return TokenSource(None if use_emulator else google_credentials())
