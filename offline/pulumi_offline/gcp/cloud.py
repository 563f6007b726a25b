"""The local stack as pulumi-offline's pulumi-gcp appliers reach it: endpoints and one HTTP client.

Why: every applier calls an emulator the same way (the endpoint from the
environment variables ``python -m healthcare_emulator.stack`` prints, a bearer
token on the Healthcare API, Google's error body turned into one message), so
that lives here once. The default project is ``gcp:project`` of the stack's
config, as for pulumi-gcp.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Mapping

import requests

_TIMEOUT_S = 60.0
_BEARER = {"Authorization": "Bearer pulumi-offline"}
DEFAULT_PROJECT = "local-project"
_ENDPOINT_VARIABLES = {"storage": "STORAGE_EMULATOR_HOST", "bigquery": "BIGQUERY_EMULATOR_HOST",
                       "healthcare": "HEALTHCARE_EMULATOR_HOST"}


class CloudError(Exception):
    """An emulator answered with an error (or an input an applier needs is missing)."""


class LocalCloud:
    """The emulator endpoints plus the default project (``gcp:project`` config)."""

    def __init__(self, env: Mapping[str, str] | None = None, project: str | None = None) -> None:
        env = {**os.environ, **(env or {})}
        self.storage_url = (env.get("STORAGE_EMULATOR_HOST") or "").rstrip("/")
        self.bigquery_url = (env.get("BIGQUERY_EMULATOR_HOST") or "").rstrip("/")
        host = env.get("HEALTHCARE_EMULATOR_HOST") or ""
        self.healthcare_url = (host if host.startswith("http") else f"http://{host}").rstrip("/") if host else ""
        self.project = project or env.get("GOOGLE_CLOUD_PROJECT") or DEFAULT_PROJECT
        self._local = threading.local()
        self._agents: dict[str, dict[str, Any]] = {}
        #: (project, service) pairs enabled through ``gcp.projects.Service``.
        self.enabled_services: set[tuple[str, str]] = set()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _base(self, which: str) -> str:
        url = {"storage": self.storage_url, "bigquery": self.bigquery_url, "healthcare": self.healthcare_url}[which]
        if not url:
            raise CloudError(f"{_ENDPOINT_VARIABLES[which]} is not set: "
                             "start the local stack (python -m healthcare_emulator.stack)")
        return url

    def http(self, which: str, method: str, path: str, *, ok_missing: bool = False, **kwargs: Any) -> dict:
        """Call an emulator; raise :class:`CloudError` with its message on failure.

        ``ok_missing``: a 404 answers ``{}`` (deleting what is already gone).
        """
        url = self._base(which) + path
        headers = dict(kwargs.pop("headers", {}) or {})
        if which == "healthcare" and not path.startswith("/_emulator/"):
            headers.update(_BEARER)
        try:
            response = self.session.request(method, url, headers=headers, timeout=_TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            raise CloudError(f"{method} {url}: {exc}") from None
        if response.status_code == 404 and ok_missing:
            return {}
        if response.status_code >= 400:
            message = response.text[:500]
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                pass
            raise CloudError(f"{method} {path}: HTTP {response.status_code}: {message}")
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return {}

    def service_agent(self, project: str) -> dict[str, Any]:
        """``project``'s Healthcare service agent (email, member, project number), asked of the
        emulator once per project: each project has its own number, hence its own agent."""
        if project not in self._agents:
            self._agents[project] = self.http("healthcare", "GET", "/_emulator/service-agent",
                                              params={"project": project})
        return self._agents[project]
