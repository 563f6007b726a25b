"""An environment with no Google credentials at all, for the "no credentials" errors.

Why a helper: the machine running the tests may have Application Default
Credentials (a gcloud login in HOME, a metadata server); a test of the
"none found" message must not pass or fail because of them.
:func:`adc_found` checks the environment really has none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: Prefixes of the variables that could lead to credentials or to the emulator.
_CREDENTIAL_PREFIXES = ("GOOGLE_", "HEALTHCARE_EMULATOR", "CLOUDSDK_", "GCE_")


def no_google_credentials_env(home: Path) -> dict[str, str]:
    """``os.environ`` without emulator, access token or ADC.

    No variable points at credentials, HOME and the gcloud config folder are
    empty, and the metadata server is a closed port that is not even probed.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CREDENTIAL_PREFIXES)}
    env.update(HOME=str(home), CLOUDSDK_CONFIG=str(home / "gcloud"), GCE_METADATA_HOST="127.0.0.1:1",
               GCE_METADATA_IP="127.0.0.1:1", NO_GCE_CHECK="true", PYTHONUNBUFFERED="1", NO_COLOR="1")
    return env


def adc_found(env: dict[str, str]) -> bool:
    """Whether ``google.auth.default()`` finds credentials in ``env`` (in a fresh process)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import google.auth, google.auth.exceptions\ntry:\n"
         "    google.auth.default()\nexcept google.auth.exceptions.DefaultCredentialsError:\n"
         "    print('none')\nelse:\n    print('found')"],
        capture_output=True, text=True, timeout=60, env=env)
    assert probe.stdout.strip() in ("none", "found"), probe.stderr
    return probe.stdout.strip() == "found"
