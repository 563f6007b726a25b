"""Shared pieces of the benchmarks: the stack, small REST clients, measurements."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import requests

from healthcare_emulator.stack import DEFAULT_PROJECT

LOCATION = "us-central1"
#: The bearer every benchmark request carries (the emulator accepts any token).
TOKEN = "bench-token-not-a-secret"


@dataclass
class Figure:
    """One row of the results table."""

    bench: str
    metric: str
    value: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None  # None: informational

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.ok]


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        self.figures.append(Figure(*args, **kwargs))

    def note(self, text: str) -> None:
        self.notes.append(text)


def table(figures: Iterable[Figure]) -> str:
    header = ("bench", "metric", "value", "baseline (same run)", "ratio", "target", "verdict")
    rows = [header] + [(f.bench, f.metric, f.value, f.baseline, f.ratio, f.target, f.verdict)
                       for f in figures]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rfc3339_to_epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def wait_for(predicate: Callable[[], Any], deadline_s: float, what: str) -> Any:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what}: not within {deadline_s:.0f}s")


class Emulator:
    """The Healthcare emulator: admin surface and the few REST calls we need."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    # admin
    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.session.request(method, f"{self.base_url}/_emulator/{path}",
                                        json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else {}

    def reset(self) -> None:
        self.admin("POST", "reset")

    def config(self, **values: Any) -> dict:
        return self.admin("POST", "config", values)

    def requests_log(self) -> list[dict]:
        return self.admin("GET", "requests")["requests"]

    def clear_requests(self) -> None:
        self.admin("POST", "requests/clear")

    def operations(self) -> list[dict]:
        return self.admin("GET", "operations")["operations"]

    # REST
    def rest(self, method: str, path: str, body: dict | None = None, **params: Any) -> dict:
        response = self.session.request(method, f"{self.base_url}/v1/{path}", json=body,
                                        params=params or None, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else {}

    def dataset(self, project: str = DEFAULT_PROJECT, name: str | None = None) -> str:
        name = name or f"ds{uuid.uuid4().hex[:8]}"
        parent = f"projects/{project}/locations/{LOCATION}"
        self.rest("POST", f"{parent}/datasets", {}, datasetId=name)
        return f"{parent}/datasets/{name}"

    def store(self, dataset: str, name: str | None = None) -> str:
        name = name or f"st{uuid.uuid4().hex[:8]}"
        self.rest("POST", f"{dataset}/dicomStores", {}, dicomStoreId=name)
        return f"{dataset}/dicomStores/{name}"


class Storage:
    """The Cloud Storage emulator's JSON API, just buckets and uploads."""

    def __init__(self, base_url: str, project: str = DEFAULT_PROJECT) -> None:
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.session = requests.Session()

    def bucket(self, name: str | None = None) -> str:
        name = name or f"bench-{uuid.uuid4().hex[:10]}"
        response = self.session.post(f"{self.base_url}/storage/v1/b", params={"project": self.project},
                                     json={"name": name}, timeout=60)
        response.raise_for_status()
        return name

    def upload(self, bucket: str, name: str, data: bytes) -> None:
        response = self.session.post(f"{self.base_url}/upload/storage/v1/b/{bucket}/o",
                                     params={"uploadType": "media", "name": name}, data=data,
                                     headers={"Content-Type": "application/dicom"}, timeout=60)
        response.raise_for_status()


def process_tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, from /proc (kB)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def thread_count(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0
