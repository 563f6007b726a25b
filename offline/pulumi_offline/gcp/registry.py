"""The one list of what pulumi-offline applies for pulumi-gcp: type token -> applier, invoke token -> function.

Why: a type or invoke missing here must fail the run naming it and listing
what is supported, never be echoed back as if it existed; one table keeps
that message and the implementations in step. To support a new pulumi-gcp
type, add its applier to :data:`APPLIERS`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..messages import UnsupportedError
from .applier import Applier
from .bigquery import BigQueryDataset
from .cloud import LocalCloud
from .healthcare import DicomStore, HealthcareDataset
from .iam import BucketIAMMember, DatasetIamMember, ProjectIAMMember
from .projects import GET_PROJECT, ProjectService, ServiceIdentity, get_project
from .storage import Bucket, BucketObject

APPLIERS: tuple[type[Applier], ...] = (
    Bucket, BucketObject, BigQueryDataset, HealthcareDataset, DicomStore, ProjectService, ServiceIdentity,
    BucketIAMMember, DatasetIamMember, ProjectIAMMember)
INVOKES: Mapping[str, Callable[[LocalCloud, Mapping[str, Any]], dict[str, Any]]] = {GET_PROJECT: get_project}


class LocalGcp:
    """The pulumi-gcp stand-in of one run: one applier per supported type, over one :class:`LocalCloud`."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.appliers: dict[str, Applier] = {cls.type: cls(cloud) for cls in APPLIERS}

    def applier(self, type_: str) -> Applier:
        try:
            return self.appliers[type_]
        except KeyError:
            raise UnsupportedError(
                f"resource type {type_} is not supported by pulumi-offline "
                f"(supported: {', '.join(sorted(self.appliers))})") from None

    def call(self, token: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """An invoke (``gcp.organizations.get_project()``...)."""
        function = INVOKES.get(token)
        if function is None:
            raise UnsupportedError(f"invoke {token} is not supported by pulumi-offline "
                                   f"(supported: {', '.join(sorted(INVOKES))})")
        return function(self.cloud, args)
