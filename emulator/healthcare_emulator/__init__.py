"""Local emulator of the Cloud Healthcare API (DICOM stores, import/export operations)."""
