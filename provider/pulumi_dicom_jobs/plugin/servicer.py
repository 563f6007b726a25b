"""The plugin's gRPC servicer: the SDK's, with every failure answered as a status code and a message.

Why a subclass: the SDK's ``ProviderServicer`` translates the protocol to
:class:`~pulumi.provider.experimental.provider.Provider` calls, which is
worth keeping, but a provider method that raises reaches the engine as
``Unexpected <class 'Exception'>: <message>:`` followed by the servicer's
stack frames, with the code ``UNKNOWN`` (the engine then reads the
resource's state as unknown). Each method here runs the SDK's and, when it
fails, aborts the call with :func:`pulumi_dicom_jobs.plugin.rpc_status.status_of`
of the exception the provider raised: the message alone, and a code that
says what happened.

The SDK (from 3.231) re-raises a provider's exception as a bare ``Exception``
whose text ends in the frames, raised while handling the original:
:func:`raised_by_provider` takes that original back; older SDKs let it
through as it is.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import grpc
from pulumi.provider.experimental.server import ProviderServicer

from pulumi_dicom_jobs.plugin.rpc_status import status_of

__all__ = ["DicomJobsServicer", "raised_by_provider"]

_Handler = Callable[[Any, Any, Any], Awaitable[Any]]
#: Each call and its outcome, at DEBUG (the plugin's ``-v=N`` turns it on).
_LOG = logging.getLogger("pulumi_dicom_jobs.plugin")


def raised_by_provider(exc: BaseException) -> BaseException:
    """The exception the provider raised, unwrapped from the SDK's frame-appending wrapper."""
    if type(exc) is Exception and exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__
    return exc


def _answering(name: str) -> _Handler:
    """The SDK servicer's method ``name``, answering its failures with a status of ours."""
    sdk_method: _Handler = getattr(ProviderServicer, name)

    async def method(self: ProviderServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
        target = getattr(request, "urn", "") or getattr(request, "tok", "")
        _LOG.debug("%s %s", name, target)
        try:
            return await sdk_method(self, request, context)
        except grpc.aio.AbortError:
            raise  # the SDK answered with a status itself
        except Exception as exc:  # every failure becomes a status: see the module docstring
            code, message = status_of(raised_by_provider(exc))
            _LOG.debug("%s %s failed: %s %s", name, target, code.name, message.splitlines()[0] if message else "")
            await context.abort(code, message)

    method.__name__ = method.__qualname__ = name
    return method


class DicomJobsServicer(ProviderServicer):
    """``ResourceProvider`` for the dicom-jobs provider: the SDK's translation, our failures."""

    GetSchema = _answering("GetSchema")
    CheckConfig = _answering("CheckConfig")
    DiffConfig = _answering("DiffConfig")
    Configure = _answering("Configure")
    Check = _answering("Check")
    Diff = _answering("Diff")
    Create = _answering("Create")
    Read = _answering("Read")
    Update = _answering("Update")
    Delete = _answering("Delete")
    Invoke = _answering("Invoke")
    Call = _answering("Call")
    Construct = _answering("Construct")
    Parameterize = _answering("Parameterize")
