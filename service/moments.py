"""Moments shown to people: in the team's time zone, and never an error at the calendar's edge.

A stored moment can sit at the edge of what ``datetime`` holds (an item a feed dated 31 December
9999, stored before feed dates were bounded): shifting it into a zone east of UTC leaves the
calendar and raises. Such a moment is shown in UTC instead, so one odd date never stops an
email, a digest or a console page.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def in_zone(moment: datetime, tz: tzinfo) -> datetime:
    """``moment`` (naive: UTC) in ``tz``; in UTC when ``tz`` would push it off the calendar."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        return aware.astimezone(tz)
    except OverflowError:
        return aware.astimezone(UTC)
