"""pulumi_dicom_jobs.timestamps: one RFC 3339 parser (nine fraction digits, a lower-case z,
offsets) and one formatter."""

from __future__ import annotations

import datetime as dt

from pulumi_dicom_jobs.timestamps import format_rfc3339, parse_rfc3339

UTC = dt.timezone.utc


def test_parse_rfc3339_nanoseconds_and_offsets():
    assert parse_rfc3339("2026-01-02T03:04:05.123456789Z") == dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_rfc3339("2026-01-02T04:04:05+01:00") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_rfc3339("yesterday") is None and parse_rfc3339(None) is None


def test_parse_rfc3339_nine_digit_fraction_with_an_offset():
    assert parse_rfc3339("2026-01-02T05:34:05.123456789+02:30") == \
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert parse_rfc3339("2026-01-02T03:04:05.5z") == dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    assert parse_rfc3339("2026-01-02T03:04:05") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_format_rfc3339_round_trips_in_utc():
    moment = dt.datetime(2026, 1, 2, 4, 4, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    text = format_rfc3339(moment)
    assert text == "2026-01-02T03:04:05.000007Z"
    assert parse_rfc3339(text) == moment
