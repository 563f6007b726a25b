"""DICOM test data for the tests: see :mod:`healthcare_emulator.sampledata`."""

from healthcare_emulator.sampledata import *  # noqa: F401,F403
from healthcare_emulator.sampledata import (  # noqa: F401  (names tests use directly)
    CT_IMAGE_STORAGE, REAL_MULTI_FRAME, REAL_NO_PIXELS, REAL_RLE, REAL_SINGLE_FRAME, TEST_FILES,
    InstanceUids, broken_file, real_bytes, real_file, synthetic_instance, synthetic_instances,
    synthetic_study, truncated_file, uids_of,
)
