"""A dynamic provider whose Create blocks until the test releases it.

Imported inside the real ``python -m pulumi.dynamic`` host (put this folder on
the host's PYTHONPATH): the SDK pickles :class:`BlockingProvider` by
reference, so unpickling it imports this module in a gRPC worker thread, and
every method first calls :func:`pulumi_dicom_jobs.dynamic.hostpool.widen_on_first_call`
exactly as the product's providers do (importing changes nothing).

Protocol, all through files in ``props["dir"]`` (no timing involved):
``<name>.started`` is written when a Create begins; the Create returns once
``release`` exists, after writing ``<name>.finished``. ``<name>.running`` holds
how many Creates were running when this one began (started files minus
finished ones, this one included): as a finished file is written before its
Create returns, that count never exceeds the host's real concurrency.
``hostpool-status.json`` records what the import did.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider

from healthcare_emulator.waiting import poll
from pulumi_dicom_jobs.dynamic import hostpool

_STATUS_FILE = os.environ.get("REL_HOSTPOOL_STATUS_FILE")
_status_lock = threading.Lock()
_status_written = False


def _widen() -> None:
    """The product's first-call hook; the first status is written for the test to read."""
    global _status_written
    status = hostpool.widen_on_first_call()
    with _status_lock:
        if _STATUS_FILE and not _status_written:
            Path(_STATUS_FILE).write_text(json.dumps(dataclasses.asdict(status)))
            _status_written = True

#: Safety net: a Create never blocks longer than this, even if the test died.
_RELEASE_DEADLINE_S = 120.0


class BlockingProvider(ResourceProvider):
    serialize_as_secret_always = False

    def check(self, olds, news):
        _widen()
        failures = [] if news.get("name") else [CheckFailure("name", "name is required")]
        return CheckResult(news, failures)

    def diff(self, id_, olds, news):
        _widen()
        return DiffResult(changes=olds.get("name") != news.get("name"), replaces=["name"]
                          if olds.get("name") != news.get("name") else [])

    def create(self, props):
        _widen()
        folder = Path(props["dir"])
        name = props["name"]
        (folder / f"{name}.started").write_text(threading.current_thread().name)
        running = len(list(folder.glob("*.started"))) - len(list(folder.glob("*.finished")))
        (folder / f"{name}.running").write_text(str(running))
        release = folder / "release"
        poll(release.exists, deadline_s=_RELEASE_DEADLINE_S, what=f"{name} to be released")
        (folder / f"{name}.finished").write_text("")
        return CreateResult(id_=f"blocking-{name}", outs={"name": name, "dir": props["dir"]})

    def delete(self, id_, props):
        _widen()
        (Path(props["dir"]) / f"{props['name']}.deleted").write_text(id_)
