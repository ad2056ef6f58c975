"""Writing the outbox rows for new alerts, in the same transaction as the alerts.

Per channel, one message per story: every rule that fired on the item and routes to that
channel is named in the one message (``<channel>:story:<id>`` is the idempotency key). A
rule that fires on a story later, when the story's message for that channel is still
waiting, is added to it; when it was already sent, the story is not posted twice and the
alert's status follows that message. Suppressed
alerts are never enqueued. A muted rule, or a rule in its cooldown, still gets its alert
stored (and in the digest) but sends nothing at once, not even when the mute ends: the
alert's status says so (``muted``, ``cooldown``). The cooldown runs from the rule's last
alert that was actually sent somewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from service.alerts.model import Alert
from service.notify.alert_status import settle_alert_statuses
from service.notify.notifier import channel_kind
from service.notify.route import Destinations, route
from service.notify.story import merged_with, story_from_alerts, view_from_json, view_to_json
from service.rulebook import RuleBook
from service.store import alerts as alert_store
from service.store import channel_state, mutes, outbox

MUTED, COOLDOWN = "muted", "cooldown"


def enqueue_alerts(
    conn: Connection,
    *,
    book: RuleBook,
    new_alerts: Sequence[Alert],
    destinations: Destinations,
    now: datetime,
) -> int:
    """Outbox rows for alerts just inserted; returns how many were added."""
    muted = mutes.muted_targets(conn, now=now)
    quiet: dict[str, str | None] = {}  # per rule: the same answer for all of this poll's alerts
    held: dict[str, list[int]] = defaultdict(list)  # status (muted, cooldown) → alert ids
    groups: dict[tuple[str, str], list[Alert]] = defaultdict(list)
    for alert in new_alerts:
        if alert.status != "pending":
            continue
        if alert.rule_id not in quiet:
            quiet[alert.rule_id] = _quiet(conn, book, alert.rule_id, muted=muted, now=now)
        held_as = quiet[alert.rule_id]
        if held_as is not None:
            held[held_as].append(alert.id)
            continue
        rule = book.rules.get(alert.rule_id)
        notify = rule.notify if rule is not None else alert.notify
        for channel in route(notify, destinations).immediate:
            groups[(channel, alert.story_key)].append(alert)
    rows: list[dict[str, Any]] = []
    joined: list[int] = []
    new_messages: dict[str, list[Alert]] = {}
    by_key = {
        f"{channel}:{story_key}": (channel, members) for (channel, story_key), members in groups.items()
    }
    known = outbox.deliveries_by_key(conn, by_key.keys())  # on PostgreSQL locked, in one statement
    for key, (channel, members) in sorted(by_key.items()):  # inserted in one order by every poll
        if key in known:
            _join(conn, known[key], members)
            joined += [a.id for a in members]
            continue
        new_messages[key] = members
        view = story_from_alerts(members)
        rows.append(
            {
                "idempotency_key": key,
                "channel": channel,
                "kind": channel_kind(channel),
                "story_id": members[0].story_id,
                "alert_ids": list(view.alert_ids),
                "payload": {"view": view_to_json(view)},
                "state": outbox.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "ambiguous": False,
                "created_at": now,
            }
        )
    channel_state.ensure_channels(conn, {r["channel"] for r in rows}, now=now)
    added = outbox.enqueue(conn, rows)
    # A message another transaction committed under the same key after this one looked (two
    # replicas polling copies of one story on PostgreSQL) made the insert a no-op: join it now,
    # or the alerts would wait for a message that never names them. Two polls that meet here
    # may wait for each other in a circle (each inserting a key the other then looks for): the
    # server rolls one back, and it runs again (``db.run_transaction``).
    for key, late in outbox.deliveries_by_key(conn, new_messages.keys() - added.keys()).items():
        _join(conn, late, new_messages[key])
        joined += [a.id for a in new_messages[key]]
    # Settled once every message of this poll is linked: an alert that joined a message already
    # sent on one channel still waits for the new one on another.
    settle_alert_statuses(conn, joined, immediate=destinations.immediate)
    alert_store.settle_pending_alerts(conn, held)
    return len(added)


def _join(conn: Connection, message: outbox.Enqueued, alerts: Sequence[Alert]) -> None:
    """Add the alerts to the story's message for the channel (module docstring)."""
    view = merged_with(view_from_json(message.payload["view"]), alerts)
    outbox.join_delivery(
        conn, message.id, view.alert_ids, payload={**message.payload, "view": view_to_json(view)}
    )


def _quiet(conn: Connection, book: RuleBook, rule_id: str, *, muted: set[str], now: datetime) -> str | None:
    """Muted rules and rules inside their cooldown send nothing at once: the status their alerts
    take instead (they stay listed, and go into the digest), or None."""
    if f"rule:{rule_id}" in muted:
        return MUTED
    rule = book.rules.get(rule_id)
    if rule is None or rule.cooldown_s is None:
        return None
    since = now - timedelta(seconds=rule.cooldown_s)
    return COOLDOWN if alert_store.rule_notified_between(conn, rule_id, since=since, before=now) else None
