"""SQL for alerts and rule hits.

An alert row is unique by ``dedup_key`` (rule and story, or rule and day for volume rules):
inserting one that exists changes nothing, so a syndicated copy or a re-polled item never
alerts twice. Rule hits record every (rule, item) match, alerted or not; volume rules count
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store.db import chunked, insert_skipping_existing
from service.store.tables import alerts, delivery_alerts, feeds, rule_hits

STATUSES = ("pending", "sent", "failed", "suppressed")


def insert_alerts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert alerts that do not exist yet; return dedup key → id of those actually inserted."""
    if not rows:
        return {}
    insert = insert_skipping_existing(conn, alerts, unique=["dedup_key"]).returning(
        alerts.c.dedup_key, alerts.c.id
    )
    return {r.dedup_key: r.id for row in rows for r in conn.execute(insert, [row])}


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
) -> list[dict[str, Any]]:
    query = (
        sa.select(alerts, feeds.c.name.label("feed_name"))
        .outerjoin(feeds, feeds.c.id == alerts.c.feed_id)
        .order_by(alerts.c.created_at.desc(), alerts.c.id.desc())
    )
    if status is not None:
        query = query.where(alerts.c.status == status)
    if rule_id is not None:
        query = query.where(alerts.c.rule_id == rule_id)
    if since is not None:
        query = query.where(alerts.c.created_at >= since)
    if alert_id is not None:
        query = query.where(alerts.c.id == alert_id)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def alerts_of_stories(conn: Connection, story_ids: Sequence[int]) -> list[sa.Row[Any]]:
    """Every alert of these stories: rule, status, reason and the evidence it was judged on."""
    columns = (
        alerts.c.story_id, alerts.c.item_id, alerts.c.rule_id, alerts.c.status, alerts.c.reason,
        alerts.c.novelty, alerts.c.matched, alerts.c.new_terms, alerts.c.fact_changes,
    )  # fmt: skip
    rows: list[sa.Row[Any]] = []
    for chunk in chunked(list(story_ids)):
        rows.extend(conn.execute(sa.select(*columns).where(alerts.c.story_id.in_(chunk))))
    return rows
