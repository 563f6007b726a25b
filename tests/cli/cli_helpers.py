"""Helpers for the ``dicom-jobs`` end-to-end tests.

The CLI always runs in a subprocess (``python -m pulumi_dicom_jobs.cli``)
with the session stack's environment, against the real emulators: a DICOM
store created through the Healthcare emulator's REST API (bearer header),
DICOM files uploaded to the Cloud Storage emulator with google-cloud-storage.
Nothing sleeps to wait: every wait polls with a deadline.
"""

from __future__ import annotations

import fcntl
import os
import re
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

import dicomdata

CLI = [sys.executable, "-m", "pulumi_dicom_jobs.cli"]
BEARER = {"Authorization": "Bearer cli-test-token"}
LOCATION = "us-central1"


def cli_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    env.pop("GOOGLE_OAUTH_ACCESS_TOKEN", None)
    env.update(extra)
    return env


def run_cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Run ``dicom-jobs ARGS`` to completion with pipes (no TTY)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env=cli_env(**env), stdin=subprocess.DEVNULL)


def poll(predicate: Callable[[], object], deadline_s: float = 20.0, what: str = "condition"):
    """Call ``predicate`` until it returns something truthy; fail after the deadline."""
    end = time.monotonic() + deadline_s
    delay = 0.02
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


@dataclass
class DicomSetup:
    """A dataset + DICOM store in the Healthcare emulator and a bucket in the GCS emulator."""

    base_url: str
    project: str
    dataset_id: str
    store_id: str
    bucket: storage.Bucket
    admin: object

    @property
    def dataset(self) -> str:
        return f"projects/{self.project}/locations/{LOCATION}/datasets/{self.dataset_id}"

    @property
    def store(self) -> str:
        return f"{self.dataset}/dicomStores/{self.store_id}"

    def gs(self, path: str) -> str:
        return f"gs://{self.bucket.name}/{path}"

    def upload(self, prefix: str, count: int) -> None:
        for index, data in enumerate(dicomdata.synthetic_instances(count, per_study=10)):
            self.bucket.blob(f"{prefix}/{index:04d}.dcm").upload_from_string(data)

    def upload_bytes(self, path: str, data: bytes) -> None:
        self.bucket.blob(path).upload_from_string(data)

    def get(self, name: str) -> dict:
        response = requests.get(f"{self.base_url}/v1/{name}", headers=BEARER, timeout=10)
        response.raise_for_status()
        return response.json()

    def operations(self) -> list[dict]:
        """Import/export operations the emulator started (dataset creation left out)."""
        return [op for op in self.admin.get("operations")["operations"] if op.get("store")]

    def slow(self, seconds_per_instance: float) -> None:
        self.admin.post("config", {"instanceDelaySeconds": seconds_per_instance})

    def wait_done(self, name: str, deadline_s: float = 20.0) -> dict:
        return poll(lambda: (lambda op: op if op.get("done") else None)(self.get(name)),
                    deadline_s, f"{name} to finish")

    def study_count(self) -> int:
        response = requests.get(f"{self.base_url}/v1/{self.store}/dicomWeb/studies",
                                headers=BEARER, timeout=10)
        response.raise_for_status()
        return len(response.json() or [])


@pytest.fixture
def setup(stack, emulator, unique, project) -> DicomSetup:
    base = stack.healthcare_url
    parent = f"{base}/v1/projects/{project}/locations/{LOCATION}/datasets"
    dataset_id, store_id = f"ds_{unique}", f"store_{unique}"
    requests.post(f"{parent}?datasetId={dataset_id}", headers=BEARER, timeout=10).raise_for_status()
    requests.post(f"{parent}/{dataset_id}/dicomStores?dicomStoreId={store_id}", headers=BEARER,
                  timeout=10).raise_for_status()
    client = storage.Client(project=project, credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": stack.storage_url})
    bucket = client.create_bucket(f"cli-{unique}")
    return DicomSetup(base, project, dataset_id, store_id, bucket, emulator)


class LineReader:
    """Collects a running process's stdout/stderr in threads (pipes, no TTY)."""

    def __init__(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=cli_env(**env))
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True)]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _pump(stream, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, text: str, deadline_s: float = 20.0) -> None:
        poll(lambda: text in self.stdout or text in self.stderr or self.proc.poll() is not None,
             deadline_s, repr(text))
        assert text in self.stdout + self.stderr, (self.stdout, self.stderr)

    def finish(self, deadline_s: float = 30.0) -> int:
        try:
            code = self.proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for thread in self._threads:
            thread.join(timeout=5)
        return code


@dataclass
class PtyRun:
    """A CLI process whose stdin/stdout/stderr are a pseudo-terminal."""

    proc: subprocess.Popen
    master: int
    buffer: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, *args: str, rows: int = 40, cols: int = 160, **env: str) -> "PtyRun":
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        environment = cli_env(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows), **env)
        environment.pop("NO_COLOR", None)
        proc = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave,
                                env=environment, start_new_session=True, close_fds=True)
        os.close(slave)
        return cls(proc, master)

    @property
    def text(self) -> str:
        return self.buffer.decode("utf-8", errors="replace")

    def pump(self, timeout: float = 0.1) -> bool:
        """Read what is available; False once the terminal is closed."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child side is closed
            return False
        if not chunk:
            return False
        self.buffer.extend(chunk)
        return True

    def expect(self, text: str, deadline_s: float = 20.0) -> None:
        end = time.monotonic() + deadline_s
        while text not in self.text:
            if time.monotonic() > end or not self.pump():
                raise AssertionError(f"{text!r} never appeared; output so far:\n{self.text}")

    def send(self, data: str) -> None:
        os.write(self.master, data.encode())

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def finish(self, deadline_s: float = 30.0) -> int:
        end = time.monotonic() + deadline_s
        while self.proc.poll() is None:
            if time.monotonic() > end:
                self.proc.kill()
                raise AssertionError(f"CLI did not exit; output so far:\n{self.text}")
            self.pump()
        while select.select([self.master], [], [], 0.1)[0]:  # drain the rest
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.buffer.extend(chunk)
        os.close(self.master)
        return self.proc.wait(timeout=5)


def op_name_in(text: str) -> Optional[str]:
    match = re.search(r"projects/\S+?/operations/\d+", text)
    return match.group(0) if match else None
