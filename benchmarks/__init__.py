"""Measured figures for pulumi-dicom-jobs: ``python -m benchmarks`` (``make bench``).

Every figure is compared with a baseline measured in the same run; see
``benchmarks/README.md`` for what each one means and ``results.md`` for the
last run.
"""
