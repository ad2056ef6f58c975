"""Old news is not news: an item already older than the limit when first seen raises no alert.

A feed added today brings its back catalogue (an Autoblog post from 2014 is not new to the
team). Such an item is stored and matched like any other, and its alert is kept with the
status ``stale`` and the reason, so the digest can count it as held back and ``alerts list``
can show it, but nothing is sent. The limit is the feed's ``max_age`` or the service's
``RIVALWATCH_MAX_ITEM_AGE``; ``0`` turns it off. An item without a date counts from when it
was first seen, so it is never stale on arrival. Only an alert that would have gone out is
held back: a restatement stays ``suppressed``. An edit's alert counts from the earlier of the
article's date and when it was first seen: an old page rewritten today is not news.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from service.durations import human_duration

STALE = "stale"


def too_old_reason(
    published_at: datetime | None, *, now: datetime, max_age_s: int | None, from_first_sight: bool = False
) -> str | None:
    """Why an item first seen ``now`` is too old to alert on, or None when it may alert.
    ``from_first_sight``: ``published_at`` is when the item was first seen (an edit whose
    dates are later, or unknown)."""
    if not max_age_s or published_at is None or now - published_at <= timedelta(seconds=max_age_s):
        return None
    how = "first seen" if from_first_sight else "published"
    return f"held back: {how} {published_at:%Y-%m-%d %H:%M} UTC, older than {human_duration(max_age_s)}"


def held_back(
    status: str,
    reason: str,
    *,
    published_at: datetime | None,
    now: datetime,
    max_age_s: int | None,
    from_first_sight: bool = False,
) -> tuple[str, str]:
    """A verdict's status and reason once the age limit is applied: only an alert that would go
    out (``pending``) is held back as ``stale``; a restatement stays what it was."""
    too_old = too_old_reason(published_at, now=now, max_age_s=max_age_s, from_first_sight=from_first_sight)
    if status != "pending" or too_old is None:
        return status, reason
    return STALE, f"{too_old}; {reason}"


def effective_max_age_s(feed_max_age_s: int | None, default_s: int) -> int | None:
    """The limit for a feed: its own when it sets one, else the default; None when off (0)."""
    limit = feed_max_age_s if feed_max_age_s is not None else default_s
    return limit or None
