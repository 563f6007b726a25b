"""The plumbing the emulator's small REST clients (Cloud Storage, BigQuery) share."""

from __future__ import annotations

import threading

import requests


class RestClient:
    """A base URL and one ``requests.Session`` per thread.

    A session is not safe to share between threads, and the jobs do their
    network I/O from a small thread pool: each thread keeps its own session
    (and so its own pooled connections).
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session
