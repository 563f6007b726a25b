"""``python -m pulumi_dicom_jobs.plugin ENGINE``: the same server as ``pulumi-resource-dicom-jobs``.

Pulumi's language host runs the plugin from source as ``python provider``
(``provider/__main__.py``); this module is for running it from an installed
package without the console script.
"""

from pulumi_dicom_jobs.plugin.server import main

if __name__ == "__main__":
    main()
