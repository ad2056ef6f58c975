"""Moments shown to people: in the team's zone, in UTC where the zone would leave the calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service.api.console import human_time
from service.moments import in_zone

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("moment", "tz", "shown"),
    [
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), BERLIN, datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)),
        (datetime(2026, 3, 29, 0, 30), BERLIN, datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)),  # naive: UTC
        # the last hour of year 9999 in UTC is year 10000 in Berlin: shown in UTC
        (datetime(9999, 12, 31, 23, 30, tzinfo=UTC), BERLIN, datetime(9999, 12, 31, 23, 30, tzinfo=UTC)),
        (datetime(1, 1, 1, 0, 10, tzinfo=UTC), NEW_YORK, datetime(1, 1, 1, 0, 10, tzinfo=UTC)),
        (
            datetime(9999, 12, 31, 23, 30, tzinfo=UTC),
            NEW_YORK,
            datetime(9999, 12, 31, 18, 30, tzinfo=NEW_YORK),
        ),
        (
            datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5))),
            UTC,
            datetime(2025, 12, 31, 19, tzinfo=UTC),
        ),
    ],
)
def test_a_moment_is_shown_in_the_zone_unless_the_zone_would_leave_the_calendar(
    moment: datetime, tz: ZoneInfo, shown: datetime
) -> None:
    local = in_zone(moment, tz)
    assert local == shown and local.utcoffset() == shown.utcoffset()


def test_the_console_shows_an_edge_date_instead_of_failing_the_page() -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert human_time(datetime(9999, 12, 31, 23, 30, tzinfo=UTC), now=now, tz=BERLIN) == "31 Dec 9999 23:30"
