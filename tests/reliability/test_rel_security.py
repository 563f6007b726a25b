"""No credential leaks anywhere the user or the state can see; loopback only.

The host runs with ``GOOGLE_OAUTH_ACCESS_TOKEN`` set to a recognisable token.
Two paths: the emulator path (``HEALTHCARE_EMULATOR_HOST``, dummy bearer) and
the real-credentials path (no emulator host; ``api_endpoint`` points at the
emulator, which accepts any bearer, so the token is really sent). Successful
and failing jobs (incl. a 401 and a 500 retry) must not show the token, the
emulator bearer, or the word ``Authorization`` in the serialized provider,
the outputs, the error messages, or the host's stderr.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from healthcare_emulator.sampledata import synthetic_instance
from pulumi.dynamic.dynamic import serialize_provider
from pulumi_dicom_jobs.api import auth
from pulumi_dicom_jobs.dynamic.providers import DicomImportJobProvider
from pulumi_offline.host import DynamicProviderHost, HostError
from support.procfs import is_loopback, listening_of

SUPPORT = Path(__file__).parent / "_support"
SECRET = "ya29.REL-TEST-SECRET-TOKEN-7f3c9e"
URN = "urn:pulumi:s::p::pulumi-python:dynamic:Resource::job{}"


def _leaks(text: str) -> list[str]:
    return [needle for needle in (SECRET, auth.EMULATOR_TOKEN, "Authorization", "Bearer ")
            if needle in text]


@pytest.mark.parametrize("path", ["emulator", "access-token"])
def test_no_token_in_provider_outputs_errors_or_logs(emulator, rest, stack, path: str) -> None:
    provider = serialize_provider(DicomImportJobProvider())
    env = {"GOOGLE_OAUTH_ACCESS_TOKEN": SECRET}
    extra = {}
    if path == "access-token":
        env["HEALTHCARE_EMULATOR_HOST"] = ""
        extra = {"api_endpoint": stack.healthcare_url}
    bucket = rest.bucket({"in/a.dcm": synthetic_instance(seed=3)})
    seen: list[str] = [provider, base64.b64decode(provider).decode("latin-1")]
    host = DynamicProviderHost(env=env)
    with host:
        good = {"dicom_store": rest.store(), "gcs_source": {"uri": f"gs://{bucket}/in/**.dcm"},
                "__provider": provider, **extra}
        emulator.post("faults", {"method": "GET", "path": "/operations/", "times": 1,
                                 "action": "status", "status": 500})
        _, outs = host.create(URN.format(1), good)
        assert outs["success_count"] == 1
        seen.append(repr(outs))
        seen.append(repr(host.check(URN.format(1), {}, good)))
        failing = [
            {**good, "dicom_store": rest.store(), "gcs_source": {"uri": "gs://rel-missing-bkt/x/**.dcm"}},
            {**good, "dicom_store": rest.store()},  # with a 401 on the start
        ]
        emulator.post("faults", {"method": "POST", "path": ":import$", "times": 1, "action": "status",
                                 "status": 401})
        for i, inputs in enumerate(failing):
            if i == 1:
                emulator.post("faults", {"method": "POST", "path": ":import$", "times": 1,
                                         "action": "status", "status": 401})
            with pytest.raises(HostError) as info:
                host.create(URN.format(2 + i), inputs)
            seen.append(info.value.details)
        bad = host.check(URN.format(9), {}, {**good, "dicom_store": "nope"})
        seen.append(repr(bad))
    seen.append("\n".join(host.stderr_lines))
    leaks = {i: _leaks(text) for i, text in enumerate(seen) if _leaks(text)}
    assert not leaks, f"credential material visible: {leaks}"
    assert any("401" in text for text in seen), "the 401 case did not surface"


def test_everything_listens_on_loopback_only(stack, tmp_path) -> None:
    env = {"PYTHONPATH": os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")])}
    with DynamicProviderHost(env=env) as host:
        sockets = listening_of([os.getpid()])
        pids = {pid for pid, _, _ in sockets}
        assert host.process.pid in pids, "the dynamic host's gRPC port was not seen"
        assert len(pids) >= 3, f"expected the emulators and the host, saw {sockets}"
        exposed = [(pid, Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120], addr, port)
                   for pid, addr, port in sockets if not is_loopback(addr)]
        assert not exposed, f"listening beyond loopback: {exposed}"
