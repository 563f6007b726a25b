"""``python -m pulumi_dicom_jobs.plugin ENGINE`` (and ``python provider/pulumi_dicom_jobs/plugin``).

The second form is how Pulumi's Python language host runs a source-based
plugin (``PulumiPlugin.yaml`` at the repository root): as a script, with
this directory first on ``sys.path``. That would let this package's module
names (``schema``, ``config``...) shadow top-level ones, so the directory is
replaced by the one holding the ``pulumi_dicom_jobs`` package.
"""

import os
import sys

if not __package__:  # run as a script: import the package from its source tree
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(os.path.dirname(_here)))

from pulumi_dicom_jobs.plugin.server import main  # noqa: E402

if __name__ == "__main__":
    main()
