"""An offline stand-in for the Pulumi engine: runs whole programs on the local stack.

A small test and demo harness, not a Pulumi replacement: ``pulumi-offline
preview|up|destroy`` runs one Python program under the SDK's mocks, applies
the pulumi-gcp resources this project uses to the local emulators, sends
dynamic resources to the SDK's real dynamic provider host, and keeps JSON
state under ``DIR/.pulumi-offline/``. The provider never imports it.

Modules: :mod:`.engine` (``run``, the front door), :mod:`.deployment` (one
run), :mod:`.registration`, :mod:`.step_generator`, :mod:`.step`,
:mod:`.step_executor`, :mod:`.providers`, :mod:`.journal`,
:mod:`.messages` (the engine's parts), :mod:`.gcp` (pulumi-gcp types on the
emulators), :mod:`.host` and :mod:`.plugins` (provider processes over
gRPC), :mod:`.program` (project, config, running under mocks),
:mod:`.state`, :mod:`.display`, :mod:`.outputs`, :mod:`.__main__` (the
CLI), :mod:`.demo`. What each does: docs/offline-engine.md#how-it-is-built.
"""
