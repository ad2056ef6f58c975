"""Feed dates → aware UTC datetimes, the same way on both parse paths.

Rules implemented here:

- The two shapes nearly every feed uses are read directly: ISO 8601 / RFC 3339 with a zone
  (``2024-01-02T03:04:05.678+05:30``, fractions dropped) and RFC 822 with a four-digit year
  (``Tue, 19 Dec 2023 08:30:00 +0100``; zones ``GMT``/``UT``/``UTC``/``Z``, the US zones and
  numeric offsets).
- Everything else (two-digit years, Portuguese or Greek month names, naive times, epoch-like
  junk, impossible dates such as 31 February or years that overflow in UTC) goes to
  feedparser's own date parser, so both parse paths agree on every date.
- The result is aware and in UTC, to the second; unparseable → ``None``; never raises.
- A date at the very edge of the calendar (before 2 January of year 1, after 30 December 9999)
  is ``None`` too: no time zone could show it (31 December 9999 23:30 UTC is already year 10000
  in Berlin), and such a date is junk, not news.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.datetimes import _parse_date as feedparser_parse_date

_ISO_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d)")
_RFC822 = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d\d):(\d\d)(?::(\d\d))?\s+"
    r"([+-]\d{4}|GMT|UTC?|Z|[ECMP][SD]T)"
)
_MONTH_ABBREVIATIONS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_ABBREVIATIONS, 1)}
_ZONE_MINUTES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "EST": -300, "EDT": -240, "CST": -360, "CDT": -300}
_ZONE_MINUTES |= {"MST": -420, "MDT": -360, "PST": -480, "PDT": -420}
_MINUTES_PER_DAY = 1440


_SHOWABLE = (datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC))
"""The dates every time zone can show (offsets stay within a day)."""


def parse_date(value: str | None) -> datetime | None:
    """A feed date as an aware UTC datetime, or None (see the module rules)."""
    if not value:
        return None
    text = value.strip()
    try:
        if _ISO_DATETIME.fullmatch(text):
            return _showable(datetime.fromisoformat(text).astimezone(UTC).replace(microsecond=0))
        rfc = _RFC822.fullmatch(text)
        if rfc is not None and rfc.group(2).lower() in _MONTHS:
            return _showable(_rfc822_datetime(rfc))
    except (ValueError, OverflowError):
        pass  # e.g. 31 February: let feedparser decide, as the tolerant path would
    return _feedparser_date(text)


def utc_from_struct(parsed: Any) -> datetime | None:
    """A UTC datetime from feedparser's struct_time-like value (its dates are UTC), or None."""
    if not parsed:
        return None
    try:
        return _showable(_utc_from_fields(parsed))
    except (ValueError, TypeError):
        return None


def _showable(moment: datetime) -> datetime | None:
    return moment if _SHOWABLE[0] <= moment <= _SHOWABLE[1] else None


def _utc_from_fields(parsed: Any) -> datetime:
    year, month, day, hour, minute, second = (int(field) for field in parsed[:6])
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _rfc822_datetime(match: re.Match[str]) -> datetime:
    day, month, year, hour, minute, second, zone = match.groups()
    utc_as_written = datetime(
        int(year), _MONTHS[month.lower()], int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
    )
    offset_min = _offset_minutes(zone)
    return utc_as_written - timedelta(minutes=offset_min) if offset_min else utc_as_written


def _offset_minutes(zone: str) -> int:
    if zone[0] not in "+-":
        return _ZONE_MINUTES[zone]
    minutes = int(zone[1:3]) * 60 + int(zone[3:5])
    if minutes >= _MINUTES_PER_DAY:
        raise ValueError(f"UTC offset out of range: {zone}")
    return minutes if zone[0] == "+" else -minutes


def _feedparser_date(text: str) -> datetime | None:
    try:
        parsed = feedparser_parse_date(text)
        return None if parsed is None else _showable(_utc_from_fields(parsed))
    except (ValueError, OverflowError, TypeError):
        return None
