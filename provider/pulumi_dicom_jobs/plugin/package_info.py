"""Who the ``dicom-jobs`` package is: its version and publisher facts, and what each SDK generator names it.

Why one module: ``GetPluginInfo`` and the schema's ``version`` must agree
with each other and with the installed distribution, so all three read the
distribution's metadata (``pyproject.toml`` is the one place to edit). The
names are the schema's ``language`` options: left unset, Pulumi's
generators pick names this package cannot keep (docs/plugin.md cites the
generator functions):

* Python: ``pulumi_dicom_jobs``, which is this distribution's own name and
  module, so installing the generated SDK would replace the product;
* Node.js: ``@pulumi/dicom-jobs``, a scope this project does not own;
* Go: a module under ``example.com`` (or the git owner's namespace);
* C#: the ``Pulumi`` root namespace.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DISTRIBUTION", "PYTHON_SDK", "NODEJS_SDK", "CSHARP_NAMESPACE", "version", "license",
           "publisher", "repository", "language"]

#: The distribution whose metadata is the package's (``pip install pulumi-dicom-jobs``).
DISTRIBUTION = "pulumi-dicom-jobs"
#: The generated Python SDK's distribution and module: distinct from ``pulumi_dicom_jobs``.
PYTHON_SDK = "pulumi_dicom_jobs_sdk"
#: The generated Node.js SDK's npm name.
NODEJS_SDK = "pulumi-dicom-jobs"
#: The generated C# SDK's namespace: ``using DicomJobs.Sdk;``.
CSHARP_NAMESPACE = ("DicomJobs", "Sdk")
#: The Go package's name (the last element of its import path).
_GO_PACKAGE = "dicomjobs"


@functools.cache
def _metadata() -> metadata.PackageMetadata:
    try:
        return metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise RuntimeError(f"the {DISTRIBUTION} distribution is not installed in this Python: the plugin reads "
                           f"its version from it (install it: pip install -r provider/requirements.txt)") from None


def version() -> str:
    """The package version: the schema's ``version`` and ``GetPluginInfo``'s."""
    return _metadata()["Version"]


def license() -> str:  # noqa: A001 (the schema field's name)
    return _metadata()["License-Expression"]


def publisher() -> str:
    return _metadata()["Author"]


def repository() -> str:
    """The ``Repository`` project URL."""
    for entry in _metadata().get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise RuntimeError(f"{DISTRIBUTION} declares no Repository URL ([project.urls] in pyproject.toml)")


def _go_module() -> str:
    """``HOST/PATH/sdk/go`` of the repository (Go module paths carry no scheme)."""
    parts = urlsplit(repository())
    return f"{parts.netloc}{parts.path.rstrip('/').removesuffix('.git')}/sdk/go"


def language() -> dict[str, Any]:
    """The schema's ``language`` section: the SDK names for every generator."""
    root, namespace = CSHARP_NAMESPACE
    return {
        "python": {"packageName": PYTHON_SDK, "requires": {"pulumi": ">=3.0.0,<4.0.0"}},
        "nodejs": {"packageName": NODEJS_SDK},
        "go": {"importBasePath": f"{_go_module()}/{_GO_PACKAGE}", "modulePath": _go_module()},
        "csharp": {"rootNamespace": root, "namespaces": {"dicom-jobs": namespace}},
    }
