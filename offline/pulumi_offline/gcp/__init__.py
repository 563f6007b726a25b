"""The pulumi-gcp resources the programs use, applied to the local stack (not echoed).

Why a package of its own: it stands in for the pulumi-gcp provider, and
only for it. Each supported type token has one applier that creates,
updates and deletes the real thing in the local emulators and returns
outputs shaped like pulumi-gcp's (camelCase wire names, as the SDK
expects); IAM member resources become grants in the Healthcare emulator's
permission model. A type or invoke not in :mod:`.registry` fails the run
naming it: never a silent echo. What is modelled and what is not:
docs/offline-engine.md#what-it-does-and-what-it-does-not.

Modules: :mod:`.cloud` (the emulators' endpoints, one HTTP client),
:mod:`.applier` (what an applier is), :mod:`.storage`, :mod:`.bigquery`,
:mod:`.healthcare`, :mod:`.projects` (services, the service agent,
``getProject``), :mod:`.iam` (grants), :mod:`.registry` (type and invoke
token -> implementation).
"""

from .applier import Applier
from .cloud import CloudError, LocalCloud
from .registry import LocalGcp

__all__ = ["Applier", "CloudError", "LocalCloud", "LocalGcp"]
