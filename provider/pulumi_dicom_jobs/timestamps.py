"""RFC 3339 timestamps as the API writes them: one parser, one formatter.

Why its own module: operations carry ``createTime``/``endTime`` with up to
nine fractional digits (``2024-01-01T00:00:00.123456789Z``) and RFC 3339
allows a lower-case ``z``, which ``datetime.fromisoformat`` refuses (Python
3.10's refused 9 digits and ``Z`` too). The parser
here trims the fraction to microseconds and accepts ``Z``/``z`` or an
offset, so every reader of a timestamp (the in-flight check, the CLI's
elapsed time and durations) agrees.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from typing import Optional

__all__ = ["parse_rfc3339", "format_rfc3339"]


def parse_rfc3339(value: Optional[str]) -> Optional[_dt.datetime]:
    """An RFC 3339 timestamp (``...Z`` or with an offset, any fraction) as aware UTC, or None."""
    if not value:
        return None
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, sep, rest = text.partition(".")
    if sep:  # trim the fraction to microseconds (older Pythons refuse more digits)
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        tail = rest[len(digits):]  # the offset, if any
        text = f"{head}.{(digits + '000000')[:6]}{tail}"
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc)


def format_rfc3339(moment: _dt.datetime) -> str:
    """``moment`` in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, the form the API writes.

    Nothing in the product sends a timestamp: the operations list is read
    unfiltered and each ``createTime`` parsed with :func:`parse_rfc3339`.
    """
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
