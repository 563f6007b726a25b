"""The command line the Pulumi engine starts a plugin with: ``[--logtostderr] [-v=N] [--tracing ENDPOINT] ENGINE``.

Why parsed here and not by the SDK: ``pulumi.provider.experimental.server.main``
takes the first positional argument for the engine's address, so ``--tracing
ENDPOINT ENGINE`` would send progress to the tracing endpoint. The engine
builds the line in ``buildPluginArguments`` (pulumi/pulumi
``sdk/go/common/resource/plugin/plugin.go``): the logging flags only when
the CLI runs with ``--logflow``, then ``--tracing``, then the plugin's own
arguments, the engine's address last. No SDK import here: the test session
can load it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Optional, Sequence

__all__ = ["EngineArgs", "parse_args"]


@dataclass(frozen=True)
class EngineArgs:
    """The command line the engine gives a plugin."""

    engine: str
    verbosity: int = 0
    log_to_stderr: bool = False
    tracing: Optional[str] = None
    log_flow: bool = False


def parse_args(argv: Sequence[str]) -> EngineArgs:
    """``[--logtostderr] [-v=N] [--tracing ENDPOINT] [--logflow] ENGINE``; unknown flags are ignored.

    The engine's address is the last argument: the engine appends the
    plugin's own arguments after the flags it flows.
    """
    args = list(argv)
    if not args or args[-1].startswith("-"):
        raise SystemExit("usage: pulumi-resource-dicom-jobs [--logtostderr] [-v=N] [--tracing ENDPOINT] "
                         "ENGINE_ADDRESS (the Pulumi engine starts it this way)")
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("--logtostderr", action="store_true")
    flags.add_argument("-v", type=int, default=0)
    flags.add_argument("--tracing")
    flags.add_argument("--logflow", action="store_true")
    known, _unknown = flags.parse_known_args(args[:-1])
    return EngineArgs(engine=args[-1], verbosity=known.v, log_to_stderr=known.logtostderr,
                      tracing=known.tracing, log_flow=known.logflow)
