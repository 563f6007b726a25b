"""``pulumi-resource-dicom-jobs``: the executable the Pulumi CLI starts for package ``dicom-jobs``.

How the engine starts a plugin (docs/plugin.md cites pulumi/pulumi's
``buildPluginArguments``): ``PLUGIN [--logtostderr] [-v=N] [--tracing
ENDPOINT] ENGINE``, the engine's address always last. The plugin serves the
provider protocol on a free loopback port, prints that port as the first
line of stdout (how the engine finds it), and sends progress to the
engine's ``Log`` service at ``ENGINE`` (:mod:`pulumi_dicom_jobs.plugin.engine_log`).
The arguments are parsed here (:mod:`~pulumi_dicom_jobs.plugin.engine_args`:
the SDK's ``server.main`` would take ``--tracing``'s value for the engine),
and the server is
:class:`~pulumi_dicom_jobs.plugin.servicer.DicomJobsServicer` on the SDK's
gRPC settings.

``-v=N`` (N >= 1) logs each call to stderr, which the engine shows at its
own debug level; ``--logtostderr``, ``--logflow`` and ``--tracing`` are
accepted (nothing here traces).

SIGINT or SIGTERM (the engine sends SIGINT to the plugin's process group
when it closes it; anyone may send either) acts as the engine's ``Cancel``:
every waiting create stops and fails naming its operation, cancelled or left
running as ``cancelOnInterrupt`` says; running calls get
:data:`SHUTDOWN_GRACE_S` to answer, then the process exits. A second signal
exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Optional, Sequence

import grpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc

from pulumi_dicom_jobs.plugin import package_info
from pulumi_dicom_jobs.plugin.engine_args import EngineArgs, parse_args
from pulumi_dicom_jobs.plugin.provider import DicomJobsProvider
from pulumi_dicom_jobs.plugin.servicer import DicomJobsServicer

__all__ = ["main", "serve", "SHUTDOWN_GRACE_S"]

#: After SIGINT/SIGTERM, how long running calls may take to answer (a wait stops within seconds, a cancel
#: settles within a few more) before the process exits anyway.
SHUTDOWN_GRACE_S = 20.0
_LOG = logging.getLogger("pulumi_dicom_jobs.plugin")


class _Signals:
    """SIGINT and SIGTERM: the first stops the plugin gracefully, a second at once."""

    def __init__(self) -> None:
        self.received = asyncio.Event()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.received.is_set():
            print(f"dicom-jobs plugin: {name} again: exiting now", file=sys.stderr, flush=True)
            os._exit(128 + signum)
        print(f"dicom-jobs plugin: {name}: stopping every waiting job as on Cancel, then exiting",
              file=sys.stderr, flush=True)
        self.received.set()


async def serve(args: EngineArgs, argv: Sequence[str], provider: DicomJobsProvider) -> None:
    """Serve until the server ends or a signal stops it (the provider's waits cancelled first)."""
    server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
    servicer = DicomJobsServicer(list(argv), package_info.version(), provider, engine_address=args.engine)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    signals = _Signals()
    signals.install(asyncio.get_running_loop())
    await server.start()
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.buffer.flush()
    terminated = asyncio.ensure_future(server.wait_for_termination())
    interrupted = asyncio.ensure_future(signals.received.wait())
    await asyncio.wait({terminated, interrupted}, return_when=asyncio.FIRST_COMPLETED)
    if interrupted.done():
        await provider.cancel()
        await server.stop(grace=SHUTDOWN_GRACE_S)
    interrupted.cancel()
    terminated.cancel()


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.verbosity > 0:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s dicom-jobs %(levelname)s %(message)s")
        _LOG.setLevel(logging.DEBUG)
    try:
        package_info.version()
    except RuntimeError as exc:
        raise SystemExit(f"pulumi-resource-dicom-jobs: {exc}") from None
    asyncio.run(serve(args, argv, DicomJobsProvider(args.engine)))
    # Threads still inside a job (an HTTP call in progress) must not hold the exit: every answer is sent.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
