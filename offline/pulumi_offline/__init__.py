"""An offline stand-in for the Pulumi engine: runs whole programs on the local stack.

A small test and demo harness, not a Pulumi replacement: ``pulumi-offline
preview|up|destroy`` runs one Python program under the SDK's mocks, applies
the pulumi-gcp resources this project uses to the local emulators, sends
dynamic resources to the SDK's real dynamic provider host, and keeps JSON
state under ``DIR/.pulumi-offline/``. The provider never imports it.

Modules: :mod:`.program` (project, config, running under mocks),
:mod:`.engine` (plan/apply, ordering, parallelism), :mod:`.gcp_local`
(pulumi-gcp types on the emulators), :mod:`.host` (the dynamic provider host
over gRPC), :mod:`.state`, :mod:`.display`, :mod:`.__main__` (the CLI).
"""
