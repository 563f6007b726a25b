"""A provider plugin for the offline engine's tests: records every call the engine makes.

Serves the provider protocol for package ``recorder`` (``recorder:index:Thing``)
and appends one JSON line per call to ``$RECORDER_LOG`` with the request's
fields as they arrived on the wire (a secret stays a secret signature), and
the process's pid, process group and parent, so tests assert the engine's
call sequence, not a summary of it. A JSON file ``$RECORDER_WORLD`` plays
the cloud: Create writes the resource there, Read answers from it, Delete
removes it; a test edits it to make a resource drift or vanish, or seeds it
to import one.

What a resource does follows its inputs: ``fail_check`` (a Check failure),
``fail`` (Create aborts with that gRPC status message), ``block`` (Create
waits until Cancel), ``ignore_cancel`` (it waits on regardless), ``gate``
and ``sleep`` (like the dynamic Recorder: that many Creates run at once by
construction), ``trigger`` (a change replaces), ``check_sleep`` (Check takes
that long: concurrent Checks would overlap), ``fail_delete`` (Delete aborts),
``delete_gate`` (a Delete waits until that many Deletes have started),
``say`` (``{"stdout": ..., "stderr": ...}``: Create writes those lines),
``crash`` (then the process exits by itself, status 3, in mid-Create). A
change of the provider's config key ``replace_key`` replaces it (DiffConfig). Env
``RECORDER_ACCEPT_SECRETS`` and ``RECORDER_SUPPORTS_PREVIEW`` (``1``) set the
ConfigureResponse. Run as ``python DIR ENGINE`` (this folder is a source
plugin: PulumiPlugin.yaml) or through a ``pulumi-resource-recorder`` wrapper.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from concurrent import futures

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

_LOCK = threading.Lock()
_WORLD_LOCK = threading.Lock()
_CANCELLED = threading.Event()
_DEADLINE_S = 120.0  # a safety net for blocked calls, never a timing


def _log(event: str, **fields) -> None:
    path = os.environ.get("RECORDER_LOG")
    if not path:
        return
    entry = {"event": event, "t": time.time(), "pid": os.getpid(), "pgid": os.getpgid(0), **fields}
    with _LOCK, open(path, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def _dict(struct: struct_pb2.Struct | None) -> dict | None:
    return json_format.MessageToDict(struct) if struct is not None else None


def _struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def _world() -> dict:
    path = os.environ.get("RECORDER_WORLD")
    if not path or not os.path.exists(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def _save_world(world: dict) -> None:
    path = os.environ.get("RECORDER_WORLD")
    if path:
        with open(path + ".tmp", "w") as handle:
            json.dump(world, handle)
        os.replace(path + ".tmp", path)


def _change_world(ident: str, entry: dict | None) -> None:
    """Set (or, with ``None``, remove) one resource of the world file, one writer at a time."""
    with _WORLD_LOCK:
        world = _world()
        if entry is None:
            world.pop(ident, None)
        else:
            world[ident] = entry
        _save_world(world)


def _plain(value):
    """A wire value without the secret signature (what the resource means)."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _started(event: str) -> int:
    with _LOCK, open(os.environ["RECORDER_LOG"]) as handle:
        return sum(1 for line in handle if json.loads(line)["event"] == event)


def _gate(event: str, count: int) -> None:
    """Wait until ``count`` calls have logged ``event`` (so that many run at once by construction)."""
    end = time.monotonic() + _DEADLINE_S
    while _started(event) < count and time.monotonic() < end:
        time.sleep(0.02)


class Recorder(provider_pb2_grpc.ResourceProviderServicer):
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version="0.0.1")

    def CheckConfig(self, request, context):
        _log("CheckConfig", urn=request.urn, olds=_dict(request.olds), news=_dict(request.news))
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        olds, news = _dict(request.olds), _dict(request.news)
        _log("DiffConfig", urn=request.urn, olds=olds, old_inputs=_dict(request.old_inputs), news=news)
        changes = provider_pb2.DiffResponse.DIFF_NONE if olds == news else provider_pb2.DiffResponse.DIFF_SOME
        replaces = ["replace_key"] if (olds or {}).get("replace_key") != (news or {}).get("replace_key") else []
        return provider_pb2.DiffResponse(changes=changes, replaces=replaces)

    def Configure(self, request, context):
        _log("Configure", urn=request.urn, id=request.id, args=_dict(request.args), variables=dict(request.variables),
             acceptSecrets=request.acceptSecrets)
        return provider_pb2.ConfigureResponse(
            acceptSecrets=os.environ.get("RECORDER_ACCEPT_SECRETS") == "1",
            supportsPreview=os.environ.get("RECORDER_SUPPORTS_PREVIEW") == "1")

    def Check(self, request, context):
        news = _dict(request.news)
        _log("Check", urn=request.urn, olds=_dict(request.olds), news=news)
        if _plain(news).get("check_sleep"):
            time.sleep(float(_plain(news)["check_sleep"]))
        _log("Check-end", urn=request.urn)
        failures = [provider_pb2.CheckFailure(property="fail_check", reason="must be false")] \
            if _plain(news).get("fail_check") else []
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    def Diff(self, request, context):
        olds, news = _plain(_dict(request.olds)), _plain(_dict(request.news))
        _log("Diff", urn=request.urn, id=request.id, olds=_dict(request.olds), news=_dict(request.news),
             old_inputs=_dict(request.old_inputs) if request.HasField("old_inputs") else None,
             ignoreChanges=list(request.ignoreChanges))
        keys = sorted(k for k in set(news) | set(olds) - {"created"} if olds.get(k) != news.get(k) and k != "created")
        replaces = [k for k in keys if k == "trigger"]
        changes = provider_pb2.DiffResponse.DIFF_SOME if keys else provider_pb2.DiffResponse.DIFF_NONE
        if news.get("unnamed_diffs"):  # a provider that names no changed keys (as the dynamic host)
            keys = []
        return provider_pb2.DiffResponse(changes=changes, replaces=replaces, diffs=keys)

    def Create(self, request, context):
        props = _dict(request.properties)
        plain = _plain(props)
        if not request.preview:
            _log("create-start", urn=request.urn)
        if plain.get("gate") and not request.preview:
            _gate("create-start", int(plain["gate"]))
        if plain.get("sleep"):
            time.sleep(float(plain["sleep"]))
        if plain.get("block") and not request.preview:
            end = time.monotonic() + _DEADLINE_S
            while time.monotonic() < end and (plain.get("ignore_cancel") or not _CANCELLED.is_set()):
                time.sleep(0.02)
            _log("Create", urn=request.urn, properties=props, timeout=request.timeout, preview=request.preview,
                 outcome="cancelled")
            context.abort(grpc.StatusCode.UNKNOWN, f"create of {request.urn.rsplit('::', 1)[-1]} cancelled")
        if not request.preview:
            for stream, text in (plain.get("say") or {}).items():
                print(text, file=sys.stderr if stream == "stderr" else sys.stdout, flush=True)
        if plain.get("crash") and not request.preview:
            _log("Create", urn=request.urn, properties=props, preview=request.preview, outcome="crashed")
            os._exit(3)
        if plain.get("fail"):
            _log("Create", urn=request.urn, properties=props, timeout=request.timeout, preview=request.preview,
                 outcome="failed")
            context.abort(grpc.StatusCode.UNKNOWN, str(plain["fail"]))
        ident = "" if request.preview else uuid.uuid4().hex[:12]
        outputs = {**props, "created": ident}
        if not request.preview:
            _change_world(ident, {"inputs": props, "outputs": outputs})
        _log("Create", urn=request.urn, id=ident, properties=props, timeout=request.timeout, preview=request.preview)
        return provider_pb2.CreateResponse(id=ident, properties=_struct(outputs))

    def Read(self, request, context):
        _log("Read", urn=request.urn, id=request.id, properties=_dict(request.properties),
             inputs=_dict(request.inputs) if request.HasField("inputs") else None)
        entry = _world().get(request.id)
        if entry is None:
            return provider_pb2.ReadResponse(id="")
        return provider_pb2.ReadResponse(id=request.id, properties=_struct(entry["outputs"]),
                                         inputs=_struct(entry["inputs"]))

    def Update(self, request, context):
        news = _dict(request.news)
        _log("Update", urn=request.urn, id=request.id, olds=_dict(request.olds), news=news,
             old_inputs=_dict(request.old_inputs) if request.HasField("old_inputs") else None,
             ignoreChanges=list(request.ignoreChanges), preview=request.preview)
        outputs = {**news, "created": _plain(_dict(request.olds)).get("created", "")}
        if not request.preview:
            _change_world(request.id, {"inputs": news, "outputs": outputs})
        return provider_pb2.UpdateResponse(properties=_struct(outputs))

    def Delete(self, request, context):
        props = _dict(request.properties)
        _log("Delete", urn=request.urn, id=request.id, properties=props,
             old_inputs=_dict(request.old_inputs) if request.HasField("old_inputs") else None)
        plain = _plain(props)
        if plain.get("delete_gate"):
            _gate("Delete", int(plain["delete_gate"]))
        if plain.get("fail_delete"):
            context.abort(grpc.StatusCode.UNKNOWN, str(plain["fail_delete"]))
        _change_world(request.id, None)
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        _log("Cancel")
        _CANCELLED.set()
        return empty_pb2.Empty()


def _on_signal(number, _frame) -> None:
    _log(signal.Signals(number).name)
    os._exit(0)


def main(argv: list[str]) -> None:
    _log("start", argv=argv, cwd=os.getcwd(), ppid=os.getppid(), project=os.environ.get("PULUMI_PROJECT"),
         config=os.environ.get("PULUMI_CONFIG"), virtual_env=os.environ.get("VIRTUAL_ENV"))
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Recorder(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main(sys.argv)
