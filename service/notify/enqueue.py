"""Writing the outbox rows for new alerts, in the same transaction as the alerts.

Per channel, one message per story: every rule that fired on the item and routes to that
channel is named in the one message (``<channel>:story:<id>`` is the idempotency key). A
rule that fires on a story later, when the story's message for that channel is still
waiting, is added to it; when it was already sent, the story is not posted twice and the
alert's status follows that message. Suppressed
alerts are never enqueued. A muted rule, or a rule in its cooldown, still gets its alert
stored (and in the digest) but sends nothing at once; the cooldown runs from the rule's last
alert that was actually sent somewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from service.notify.route import Available, channel_kind, route
from service.notify.view import story_from_alerts, view_to_json
from service.rulebook import RuleBook
from service.store import alerts as alert_store
from service.store import outbox


def enqueue_alerts(
    conn: Connection,
    *,
    book: RuleBook,
    new_alerts: Sequence[Mapping[str, Any]],
    available: Available,
    now: datetime,
) -> int:
    """Outbox rows for inserted alert rows (each with its ``id``); returns how many were added."""
    muted = outbox.muted_targets(conn, now=now)
    quiet: dict[str, bool] = {}  # per rule: the answer is the same for all of this poll's alerts
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for alert in new_alerts:
        if alert["status"] != "pending":
            continue
        rule_id = alert["rule_id"]
        if rule_id not in quiet:
            quiet[rule_id] = _quiet(conn, book, rule_id, muted=muted, now=now)
        if quiet[rule_id]:
            continue
        rule = book.rules.get(alert["rule_id"])
        notify = rule.notify if rule is not None else alert.get("notify")
        for channel in route(notify, available).immediate:
            subject = (
                f"story:{alert['story_id']}" if alert["story_id"] is not None else f"alert:{alert['id']}"
            )
            groups[(channel, subject)].append(alert)
    rows = []
    joined: list[int] = []
    for (channel, subject), members in groups.items():
        key = f"{channel}:{subject}"
        ids = [a["id"] for a in members]
        rules = [[a["rule_id"], a["rule_name"], a["severity"], list(a["matched"])] for a in members]
        if outbox.join_delivery(conn, key, ids, rules=rules) is not None:
            joined += ids
            continue
        view = story_from_alerts(members)
        rows.append(
            {
                "idempotency_key": key,
                "channel": channel,
                "kind": channel_kind(channel),
                "story_id": members[0]["story_id"],
                "alert_ids": [a["id"] for a in members],
                "payload": {"view": view_to_json(view)},
                "state": outbox.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "ambiguous": False,
                "created_at": now,
            }
        )
    outbox.ensure_channels(conn, {r["channel"] for r in rows}, now=now)
    outbox.settle_alert_statuses(conn, joined)  # joined a message already sent: sent with it
    return len(outbox.enqueue(conn, rows))


def _quiet(conn: Connection, book: RuleBook, rule_id: str, *, muted: set[str], now: datetime) -> bool:
    """Muted rules and rules inside their cooldown send nothing at once."""
    if f"rule:{rule_id}" in muted:
        return True
    rule = book.rules.get(rule_id)
    if rule is None or rule.cooldown_s is None:
        return False
    since = now - timedelta(seconds=rule.cooldown_s)
    return alert_store.rule_notified_between(conn, rule_id, since=since, before=now)
