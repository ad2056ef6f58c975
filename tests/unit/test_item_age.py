"""The age limit as a table: which first-seen items may alert, and the limit each feed gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.alerts.age import effective_max_age_s, too_old_reason
from service.alerts.record import EditJudgement
from service.store.items import StoredVersion

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DAY_S = 86400


@pytest.mark.parametrize(
    ("published_at", "max_age_s", "held_back"),
    [
        (datetime(2014, 8, 3, 9, 30, tzinfo=UTC), 3 * DAY_S, True),  # a new feed's back catalogue
        (NOW - timedelta(days=3, seconds=1), 3 * DAY_S, True),
        (NOW - timedelta(days=3), 3 * DAY_S, False),  # exactly at the limit still alerts
        (NOW - timedelta(hours=1), 3 * DAY_S, False),
        (NOW + timedelta(hours=2), 3 * DAY_S, False),  # a date in the future is not old
        (None, 3 * DAY_S, False),  # no date: counts from now, when it is first seen
        (datetime(2014, 8, 3, tzinfo=UTC), None, False),  # limit off
    ],
)
def test_too_old_reason(published_at: datetime | None, max_age_s: int | None, held_back: bool) -> None:
    reason = too_old_reason(published_at, now=NOW, max_age_s=max_age_s)
    assert (reason is not None) is held_back


def test_the_reason_names_the_date_and_the_limit() -> None:
    reason = too_old_reason(datetime(2014, 8, 3, 9, 30, tzinfo=UTC), now=NOW, max_age_s=3 * DAY_S)
    assert reason == "held back: published 2014-08-03 09:30 UTC, older than 3d"
    seen = too_old_reason(
        datetime(2014, 8, 3, 9, 30, tzinfo=UTC), now=NOW, max_age_s=3 * DAY_S, from_first_sight=True
    )
    assert seen == "held back: first seen 2014-08-03 09:30 UTC, older than 3d"


FIRST_SEEN = NOW - timedelta(days=10)
EARLIER = FIRST_SEEN - timedelta(days=1)
LATER = NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    ("published_at", "stored_at", "dated", "seen"),
    [
        (None, None, FIRST_SEEN, True),  # never dated: from when it was first seen
        (EARLIER, None, EARLIER, False),  # its date, earlier
        (FIRST_SEEN, None, FIRST_SEEN, False),
        (LATER, None, FIRST_SEEN, True),  # a date stamped by the edit: first sight is earlier
        (None, EARLIER, EARLIER, False),  # the edit drops the date: the stored one counts
        (LATER, EARLIER, EARLIER, False),  # the edit re-stamps it: the stored one is earlier
        (EARLIER, LATER, EARLIER, False),
    ],
)
def test_an_edit_s_age_counts_from_the_earliest_of_its_dates_and_first_sight(
    published_at: datetime | None, stored_at: datetime | None, dated: datetime, seen: bool
) -> None:
    before = StoredVersion("t", "x", published_at=stored_at, first_seen_at=FIRST_SEEN)
    edit = EditJudgement.of((), published_at=published_at, before=before)
    assert (edit.dated, edit.from_first_sight) == (dated, seen)
    assert edit.published_at == (published_at or stored_at)  # the date kept with the item


@pytest.mark.parametrize(
    ("feed_s", "default_s", "limit"),
    [(None, 3 * DAY_S, 3 * DAY_S), (7 * DAY_S, 3 * DAY_S, 7 * DAY_S), (0, 3 * DAY_S, None), (None, 0, None)],
)
def test_a_feed_s_own_limit_wins_and_zero_turns_it_off(
    feed_s: int | None, default_s: int, limit: int | None
) -> None:
    assert effective_max_age_s(feed_s, default_s) == limit
