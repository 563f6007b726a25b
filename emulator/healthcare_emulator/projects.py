"""Project numbers: one per project, distinct and stable, as on Google Cloud.

Why: the Cloud Healthcare Service Agent is
``service-{PROJECT_NUMBER}@gcp-sa-healthcare.iam.gserviceaccount.com``, where
the number is that of the project owning the DICOM store (the import and
export references). With one number for every project, a program that
granted the wrong project's agent (the BigQuery project's, say) passed here
and failed on Google Cloud.

A project's number is, in this order: the id itself when it is all digits
(resource names may address a project by number), a number pinned at start
(``--project-number PROJECT=NUMBER``), or twelve digits derived from the id
by SHA-256, the same on every machine and after every restart, so nothing
needs storing. Derived numbers never equal a pinned one.
"""

from __future__ import annotations

import hashlib
from typing import Mapping, Optional

#: Twelve digits, the first one 1-9, like the numbers Google Cloud hands out.
_LOW, _SPAN = 10 ** 11, 9 * 10 ** 11


def parse_pin(text: str) -> tuple[str, str]:
    """``PROJECT=NUMBER`` (the ``--project-number`` flag) -> ``(project, number)``; ValueError."""
    project, sep, number = text.partition("=")
    if not sep or not project or not number.isdigit() or project.isdigit():
        raise ValueError(f"--project-number takes PROJECT=NUMBER (a project id, then digits), "
                         f"got {text!r}")
    return project, number


def project_of_resource(name: str) -> str:
    """``projects/P/...`` -> ``P`` (the project a store, dataset or operation belongs to)."""
    parts = name.split("/")
    if len(parts) < 2 or parts[0] != "projects" or not parts[1]:
        raise ValueError(f"not a project resource name: {name!r}")
    return parts[1]


class ProjectNumbers:
    """The project number of every project id: pinned ones first, the others derived."""

    def __init__(self, pinned: Optional[Mapping[str, str]] = None) -> None:
        self.pinned: dict[str, str] = dict(pinned or {})
        for project, number in self.pinned.items():
            parse_pin(f"{project}={number}")
        by_number: dict[str, str] = {}
        for project, number in self.pinned.items():
            if number in by_number:
                raise ValueError(f"projects {by_number[number]} and {project} cannot both have "
                                 f"project number {number}")
            by_number[number] = project
        self._taken = frozenset(by_number)

    @classmethod
    def from_flags(cls, flags: list[str]) -> "ProjectNumbers":
        """From ``--project-number PROJECT=NUMBER`` values; ValueError naming a bad or twice-pinned one."""
        pinned: dict[str, str] = {}
        for text in flags:
            project, number = parse_pin(text)
            if pinned.get(project, number) != number:
                raise ValueError(f"--project-number pins {project} twice ({pinned[project]} and {number})")
            pinned[project] = number
        return cls(pinned)

    def number(self, project: str) -> str:
        """The project number of ``project`` (an id or a number)."""
        if project.isdigit():
            return project
        pinned = self.pinned.get(project)
        if pinned is not None:
            return pinned
        salt = 0
        while True:
            digest = hashlib.sha256(f"{salt}:{project}".encode()).digest()
            number = str(_LOW + int.from_bytes(digest[:8], "big") % _SPAN)
            if number not in self._taken:
                return number
            salt += 1
