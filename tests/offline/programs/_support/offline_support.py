"""A tiny dynamic resource for the offline engine's tests (copied next to each test program).

``Recorder`` records every provider call as one JSON line in the file named by
``OFFLINE_RECORD_LOG`` (in the dynamic provider host's environment), with
start/end times, so tests can count Creates and measure parallelism.
Changing ``triggers`` replaces it; any other change updates it in place.
``fail_check`` makes Check fail; ``fail_create`` makes Create raise; ``say``
(``{"stdout": ..., "stderr": ...}``) makes Create write those lines to the
host's stdout and stderr.
``gate`` (a number): a Create logs ``create-start`` and waits until that many
Creates have started before it goes on (then sleeps ``sleep``), so that many
Creates run at the same moment by construction, however loaded the machine.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from healthcare_emulator.waiting import poll

_INPUTS = ("label", "store", "bucket_url", "member", "triggers", "sleep", "gate", "fail_check", "fail_create",
           "say")
#: A gated Create waits at most this long for the others (a safety net, not a timing).
_GATE_DEADLINE_S = 120.0


def _log(event: str, name: str, **extra) -> None:
    path = os.environ.get("OFFLINE_RECORD_LOG")
    if path:
        with open(path, "a") as handle:
            handle.write(json.dumps({"event": event, "label": name, "t": time.time(), **extra}) + "\n")


def _started() -> int:
    # Complete lines only: the host's other workers append while this reads (no lock across
    # them), and a line being written may be seen in part.
    with open(os.environ["OFFLINE_RECORD_LOG"]) as handle:
        return sum(1 for line in handle if line.endswith("\n") and json.loads(line)["event"] == "create-start")


class RecorderProvider(ResourceProvider):
    serialize_as_secret_always = True

    def check(self, _olds, news):
        failures = []
        if news.get("fail_check"):
            failures.append(CheckFailure("fail_check", f"must be false, got {news['fail_check']!r}"))
        if not news.get("label"):
            failures.append(CheckFailure("label", "is required"))
        return CheckResult(news, failures)

    def diff(self, _id, olds, news):
        keys = [k for k in _INPUTS if olds.get(k) != news.get(k)]
        replaces = [k for k in keys if k == "triggers"]
        return DiffResult(changes=bool(keys), replaces=replaces, delete_before_replace=False)

    def create(self, props):
        start = time.time()
        if props.get("gate"):
            _log("create-start", props.get("label"))
            poll(lambda: _started() >= int(props["gate"]), deadline_s=_GATE_DEADLINE_S,
                 what=f"{props['gate']} creates to have started")
        if props.get("sleep"):
            time.sleep(float(props["sleep"]))
        for stream, text in (props.get("say") or {}).items():
            print(text, file=sys.stderr if stream == "stderr" else sys.stdout, flush=True)
        if props.get("fail_create"):
            _log("create-failed", props.get("label"))
            raise RuntimeError(f"recorder {props.get('label')}: asked to fail (fail_create)")
        ident = uuid.uuid4().hex[:12]
        _log("create", props.get("label"), id=ident, start=start, inputs={k: props.get(k) for k in _INPUTS})
        return CreateResult(ident, {**props, "created_id": ident})

    def update(self, _id, _olds, news):
        _log("update", news.get("label"), id=_id)
        return UpdateResult({**news, "created_id": _olds.get("created_id")})

    def delete(self, _id, props):
        _log("delete", props.get("label"), id=_id)


class Recorder(Resource, module="offline", name="Recorder"):
    created_id: pulumi.Output[str]
    label: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None, **props) -> None:
        super().__init__(RecorderProvider(), name, {"created_id": None, **{k: props.get(k) for k in _INPUTS}}, opts)
