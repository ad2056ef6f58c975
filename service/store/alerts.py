"""SQL for alerts and rule hits.

An alert row is unique by ``dedup_key`` (rule and story, or rule and day for volume rules):
inserting one that exists changes nothing, so a syndicated copy or a re-polled item never
alerts twice. Rule hits record every (rule, item) match, alerted or not; volume rules count
them. Alerts go in as ``NewAlert``s and come out as ``Alert``s; ``_row`` and ``_alert`` are
the one translation between the record and its row.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.alerts.model import FIRED_STATUSES, Alert, NewAlert
from service.baselines.change import FactChange
from service.store.db import chunked, insert_skipping_existing
from service.store.search import index_alerts, matching
from service.store.tables import alerts, delivery_alerts, feeds, rule_hits


def insert_alerts(conn: Connection, raised: Sequence[NewAlert]) -> list[Alert]:
    """Insert alerts that do not exist yet; return those actually inserted, with their ids."""
    insert = insert_skipping_existing(conn, alerts, unique=["dedup_key"]).returning(alerts.c.id)
    inserted = []
    for alert in raised:
        row = _row(alert)
        for r in conn.execute(insert, [row]):
            inserted.append(_alert(row | {"id": r.id, "feed_name": alert.feed_name, "digest_id": None}))
    index_alerts(conn, [a.id for a in inserted])
    return inserted


def existing_keys(conn: Connection, keys: Collection[str]) -> set[str]:
    """Which of these dedup keys an alert holds already."""
    found: set[str] = set()
    for chunk in chunked(sorted(keys)):
        found.update(
            conn.execute(sa.select(alerts.c.dedup_key).where(alerts.c.dedup_key.in_(chunk))).scalars()
        )
    return found


def record_hits(conn: Connection, hits: Sequence[Mapping[str, Any]]) -> None:
    if hits:
        conn.execute(insert_skipping_existing(conn, rule_hits, unique=["rule_id", "item_id"]), list(hits))


def count_hits(conn: Connection, rule_id: str, *, since: datetime, until: datetime) -> int:
    """Distinct stories a rule matched in [since, until)."""
    query = sa.select(sa.func.count(sa.distinct(rule_hits.c.story_id))).where(
        rule_hits.c.rule_id == rule_id,
        rule_hits.c.created_at >= since,
        rule_hits.c.created_at < until,
    )
    return int(conn.execute(query).scalar_one())


def rule_notified_between(conn: Connection, rule_id: str, *, since: datetime, before: datetime) -> bool:
    """Whether an alert of the rule went to a channel in [since, before): its cooldown.

    Alerts the cooldown itself held back have no message, so they do not extend it.
    """
    query = (
        sa.select(sa.func.count())
        .select_from(alerts.join(delivery_alerts, delivery_alerts.c.alert_id == alerts.c.id))
        .where(alerts.c.rule_id == rule_id, alerts.c.created_at >= since, alerts.c.created_at < before)
    )
    return bool(conn.execute(query).scalar_one())


def list_alerts(
    conn: Connection,
    *,
    status: str | None = None,
    rule_id: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    alert_id: int | None = None,
    statuses: Collection[str] | None = None,
    feed: str | None = None,
    text: str | None = None,
    before: int | None = None,
) -> list[Alert]:
    """Alerts meeting every filter given, newest first (``statuses``: any of them; ``text``: the
    words of a full-text search over the title and the item's text, see ``store.search``;
    ``before``: only alerts listed after that alert, newest first — the next page after a page
    that ended with it; none when there is no such alert)."""
    wanted = {alerts.c.status: status, alerts.c.rule_id: rule_id, alerts.c.id: alert_id, feeds.c.name: feed}
    where = [column == value for column, value in wanted.items() if value is not None]
    if since is not None:
        where.append(alerts.c.created_at >= since)
    if before is not None:
        # The order the list is in (created_at, then id, both descending), so pages neither skip
        # nor repeat alerts created in the same instant.
        cursor = sa.select(alerts.c.created_at).where(alerts.c.id == before).scalar_subquery()
        where.append(
            sa.or_(alerts.c.created_at < cursor, sa.and_(alerts.c.created_at == cursor, alerts.c.id < before))
        )
    if statuses is not None:
        where.append(alerts.c.status.in_(sorted(statuses)))
    if text:
        where.append(matching(conn, text))
    return select_alerts(conn, *where, limit=limit)


def activity_by_rule(conn: Connection, *, since: datetime) -> dict[str, tuple[int, int]]:
    """Per rule since ``since``: (items it matched, alerts of it that fired)."""
    matched = sa.select(rule_hits.c.rule_id, sa.func.count()).where(rule_hits.c.created_at >= since)
    raised = sa.select(alerts.c.rule_id, sa.func.count()).where(
        alerts.c.created_at >= since, alerts.c.status.in_(sorted(FIRED_STATUSES))
    )
    hits: dict[str, int] = dict(conn.execute(matched.group_by(rule_hits.c.rule_id)).all())
    fired_by_rule: dict[str, int] = dict(conn.execute(raised.group_by(alerts.c.rule_id)).all())
    return {
        rule: (int(hits.get(rule, 0)), int(fired_by_rule.get(rule, 0)))
        for rule in hits.keys() | fired_by_rule
    }


def alerts_of_stories(conn: Connection, story_ids: Sequence[int]) -> list[Alert]:
    """Every alert of these stories: rule, status, reason and the evidence it was judged on."""
    return [a for ids in chunked(list(story_ids)) for a in select_alerts(conn, alerts.c.story_id.in_(ids))]


def select_alerts(
    conn: Connection,
    *where: sa.ColumnElement[bool],
    oldest_first: bool = False,
    limit: int | None = None,
    lock: bool = False,
) -> list[Alert]:
    """Alerts meeting every condition (on ``tables.alerts``), newest first unless ``oldest_first``.

    ``lock``: the alert rows stay locked until the transaction ends (``FOR UPDATE`` on PostgreSQL;
    SQLite's one writer holds the whole file already), and a transaction waiting for them then
    reads them as they were committed.
    """
    order = [alerts.c.created_at, alerts.c.id]
    query = (
        sa.select(alerts, feeds.c.name.label("feed_name"))
        .outerjoin(feeds, feeds.c.id == alerts.c.feed_id)
        .where(*where)
        .order_by(*(order if oldest_first else [column.desc() for column in order]))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(of=alerts)
    return [_alert(r._mapping) for r in conn.execute(query)]


def _row(alert: NewAlert) -> dict[str, Any]:
    return {
        "dedup_key": alert.dedup_key,
        "rule_id": alert.rule_id,
        "rule_name": alert.rule_name,
        "rules_version": alert.rules_version,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.status,
        "notify": None if alert.notify is None else list(alert.notify),
        "baselines": [dict(ref) for ref in alert.baselines],
        "title": alert.title,
        "snippet": alert.snippet,
        "reason": alert.reason,
        "subject": alert.subject,
        "created_at": alert.created_at,
        "item_id": alert.item_id,
        "story_id": alert.story_id,
        "feed_id": alert.feed_id,
        "url": alert.url,
        "published_at": alert.published_at,
        "matched": list(alert.matched),
        "highlights": [list(span) for span in alert.highlights],
        "novelty": alert.novelty,
        "fact_changes": [change.to_json() for change in alert.fact_changes],
        "new_terms": list(alert.new_terms),
    }


def _alert(row: Mapping[Any, Any]) -> Alert:
    """An alert from its row and its feed's name (``feed_name``)."""
    return Alert(
        id=row["id"],
        dedup_key=row["dedup_key"],
        rule_id=row["rule_id"],
        rule_name=row["rule_name"],
        rules_version=row["rules_version"],
        kind=row["kind"],
        severity=row["severity"],
        status=row["status"],
        notify=None if row["notify"] is None else tuple(row["notify"]),
        baselines=tuple(row["baselines"]),
        title=row["title"],
        snippet=row["snippet"],
        reason=row["reason"],
        subject=row.get("subject"),
        created_at=row["created_at"],
        item_id=row["item_id"],
        story_id=row["story_id"],
        feed_id=row["feed_id"],
        feed_name=row["feed_name"],
        url=row["url"],
        published_at=row["published_at"],
        matched=tuple(row["matched"]),
        highlights=tuple((int(start), int(end)) for start, end in row["highlights"]),
        novelty=row["novelty"],
        fact_changes=tuple(FactChange.from_json(change) for change in row["fact_changes"]),
        new_terms=tuple(row["new_terms"]),
        digest_id=row["digest_id"],
    )


def settle_pending_alerts(conn: Connection, statuses: Mapping[str, Sequence[int]]) -> None:
    """Give still-``pending`` alerts their settled status (status → alert ids)."""
    for status, ids in statuses.items():  # one statement per status, not one per alert
        for chunk in chunked(sorted(ids)):
            conn.execute(
                sa.update(alerts)
                .where(alerts.c.id.in_(chunk), alerts.c.status == "pending")
                .values(status=status)
            )
