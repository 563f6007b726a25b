"""``python provider ENGINE``: the ``dicom-jobs`` plugin run from source by Pulumi's Python host.

Why this file: a source plugin's ``PulumiPlugin.yaml`` has no ``main``; the
host runs ``python <plugin directory> ARGS`` when the directory holds a
``__main__.py`` (docs/plugin.md cites where). This directory is first on
``sys.path`` then, and holds only the ``pulumi_dicom_jobs`` package, which is
the one the host's ``pip install -r requirements.txt`` installed. The server
is the installed ``pulumi-resource-dicom-jobs`` executable's.

An editable install of the product puts this directory on every
``sys.path`` of its venv, where Python would also find this file as the
``__main__`` of any *other* directory run without one: that case gets
Python's own error instead of a plugin.
"""

import os
import sys

if os.path.realpath(sys.argv[0]) != os.path.dirname(os.path.realpath(__file__)):
    sys.exit(f"{sys.executable}: can't find '__main__' module in {sys.argv[0]!r}")

from pulumi_dicom_jobs.plugin.server import main  # noqa: E402

if __name__ == "__main__":
    main()
