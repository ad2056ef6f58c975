"""The daily digest: once per period, whichever replica gets there first, never twice.

Every delivery tick checks whether today's digest time (``RIVALWATCH_DIGEST_AT`` in
``RIVALWATCH_TIMEZONE``) has passed and today's digest does not exist yet; the first process
to insert the period's row builds the digest from every alert not yet reported in one and
puts it in the outbox, in the same transaction. A restart after the digest time catches up;
a second replica finds the period taken. An empty scheduled period sends nothing; an empty
digest asked for by hand (``digest --send``) is sent only when no earlier digest still waits
(held by a broken channel, say): retrying sends that one, not a "nothing new" after it. Alerts
are grouped into stories (several rules on one item are one entry); suppressed restatements
are counted, not listed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from service.alerts.age import STALE
from service.alerts.model import Alert
from service.config import Settings
from service.notify.digest import render_digest
from service.notify.story import StoryView, story_from_alerts
from service.store import channel_state, digests, outbox


@dataclass(frozen=True, slots=True)
class DigestDraft:
    message: EmailMessage
    alert_ids: tuple[int, ...]
    listed: int
    suppressed: int
    too_old: int = 0  # held back: already older than the age limit when first seen
    queued: bool = True  # False: empty, so nothing was put in the outbox

    @property
    def empty(self) -> bool:
        """Nothing to tell: a day whose only news was a new feed's back catalogue still says so."""
        return self.listed == 0 and self.suppressed == 0 and self.too_old == 0


def scheduled_period(settings: Settings, *, now: datetime) -> str | None:
    """Today's period key once today's digest time has passed (local time), else None."""
    tz = ZoneInfo(settings.timezone)
    local = now.astimezone(tz)
    hours, minutes = (int(p) for p in settings.digest_at.split(":"))
    if local.timetz().replace(tzinfo=None) < time(hours, minutes):
        return None
    return local.date().isoformat()


def draft_digest(
    alerts: Sequence[Alert],
    *,
    settings: Settings,
    key: str,
    period_start: datetime | None,
    now: datetime,
) -> DigestDraft:
    """Render the digest of these alerts (pure)."""
    listed = [a for a in alerts if a.status not in ("suppressed", STALE)]
    too_old = sum(1 for a in alerts if a.status == STALE)
    suppressed = Counter(a.rule_id for a in alerts if a.status == "suppressed")
    stories = _stories(listed)
    names = {a.rule_id: a.rule_name for a in alerts}
    message = render_digest(
        stories=stories,
        suppressed_count_by_rule=dict(suppressed),
        rule_names=names,
        period_start=period_start or min((a.created_at for a in alerts), default=now),
        period_end=now,
        tz=ZoneInfo(settings.timezone),
        sender=settings.email_from,
        recipients=settings.digest_recipients,
        key=key,
        too_old=too_old,
    )
    return DigestDraft(message, tuple(a.id for a in alerts), len(stories), sum(suppressed.values()), too_old)


def _stories(alerts: Sequence[Alert]) -> list[StoryView]:
    by_story: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_story[alert.story_key].append(alert)
    return [story_from_alerts(members) for members in by_story.values()]


def preview_digest(conn: Connection, *, settings: Settings, now: datetime) -> DigestDraft:
    """The digest of every alert not yet in one, as it would go out now; nothing is taken or
    queued (``digest --preview``, the demo)."""
    alerts = digests.undigested_alerts(conn, until=now)
    key = f"digest:preview:{now.isoformat()}"
    return draft_digest(alerts, settings=settings, key=key, period_start=None, now=now)


def enqueue_digest(
    conn: Connection, *, settings: Settings, period_key: str, now: datetime, send_empty: bool
) -> DigestDraft | None:
    """Take the period and put its digest in the outbox; None if the period was already taken."""
    digest_id = digests.start_digest(conn, period_key=period_key, period_end=now, now=now)
    if digest_id is None:
        return None
    period_start = digests.digest_period_start(conn, digest_id)
    alerts = digests.undigested_alerts(conn, until=now, lock=True)
    key = f"digest:{period_key}"
    draft = draft_digest(alerts, settings=settings, key=key, period_start=period_start, now=now)
    digests.close_digest(conn, digest_id, draft.alert_ids, listed=draft.listed, suppressed=draft.suppressed)
    if draft.empty and not (send_empty and outbox.waiting(conn, "digest") == 0):
        return replace(draft, queued=False)
    listed_ids = [a.id for a in alerts if a.status not in ("suppressed", STALE)]
    channel_state.ensure_channels(conn, ["digest"], now=now)
    outbox.enqueue(
        conn,
        [
            {
                "idempotency_key": key,
                "channel": "digest",
                "kind": "digest",
                "story_id": None,
                "alert_ids": listed_ids,
                "payload": {
                    "eml": draft.message.as_string(),
                    "recipients": settings.digest_recipients,
                },
                "state": outbox.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "ambiguous": False,
                "created_at": now,
            }
        ],
    )
    return draft
