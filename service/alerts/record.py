"""Turning one poll's new items into alert rows, inside the poll's transaction.

For every new item: the rules it matches (only rules that watch its feed) and whose subject it
is about (a rule's subject only mentioned in passing raises nothing and counts for nothing), a
verdict per keyword rule, one alert per (rule, story) — the first copy of a story that is about
the rule's subject decides, later copies add nothing — and a hit row per match for volume rules
and backtests. Volume rules are then
checked against their counts. Everything is written in the caller's transaction, so a crash
never leaves an item stored without its alerts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from service.alerts.assess import Assessment, assess
from service.alerts.judge import fact_change_json
from service.alerts.volume import check_volume, window_bucket
from service.matching.ruleset import Rule
from service.rulebook import RuleBook
from service.sources.normalize import Item
from service.store import alerts as alert_store
from service.store.items import StoredItem


@dataclass(frozen=True, slots=True)
class FeedRef:
    id: int
    name: str
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertTally:
    pending: int = 0
    suppressed: int = 0
    inserted: tuple[Mapping[str, Any], ...] = ()  # the alert rows actually stored, with their ids

    @property
    def total(self) -> int:
        return self.pending + self.suppressed


def raise_alerts(
    conn: Connection,
    *,
    book: RuleBook,
    feed: FeedRef,
    new: Sequence[tuple[StoredItem, Item]],
    now: datetime,
) -> AlertTally:
    rows: dict[str, dict[str, Any]] = {}
    hits: list[dict[str, Any]] = []
    volume_rules: set[str] = set()
    for stored, item in new:
        for found in assess(book, title=item.title, text=item.text, feed=feed.name, tags=feed.tags):
            if not found.about_subject:
                continue
            hits.append(
                {
                    "rule_id": found.rule.id,
                    "item_id": stored.id,
                    "story_id": stored.story_id,
                    "created_at": now,
                }
            )
            if found.verdict is None:
                volume_rules.add(found.rule.id)
                continue
            row = keyword_alert(found, book=book, feed=feed, stored=stored, item=item, now=now)
            rows.setdefault(row["dedup_key"], row)
    alert_store.record_hits(conn, hits)
    for rule_id in sorted(volume_rules):
        spike = volume_alert(conn, book=book, rule=book.rules[rule_id], now=now)
        if spike is not None:
            rows.setdefault(spike["dedup_key"], spike)
    inserted = alert_store.insert_alerts(conn, list(rows.values()))
    saved = tuple(rows[key] | {"id": alert_id, "feed_name": feed.name} for key, alert_id in inserted.items())
    statuses = [row["status"] for row in saved]
    return AlertTally(statuses.count("pending"), statuses.count("suppressed"), saved)


def _base_row(rule: Rule, *, book: RuleBook, now: datetime) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "rules_version": book.version,
        "kind": rule.kind,
        "severity": rule.severity,
        "notify": list(rule.notify) if rule.notify is not None else None,
        "baselines": book.baseline_refs(rule),
        "created_at": now,
    }


def keyword_alert(
    found: Assessment, *, book: RuleBook, feed: FeedRef, stored: StoredItem, item: Item, now: datetime
) -> dict[str, Any]:
    verdict = found.verdict
    assert verdict is not None
    return _base_row(found.rule, book=book, now=now) | {
        "dedup_key": f"{found.rule.id}:story:{stored.story_id}",
        "status": verdict.status,
        "item_id": stored.id,
        "story_id": stored.story_id,
        "feed_id": feed.id,
        "title": item.title,
        "url": item.url,
        "matched": found.matched_terms,
        "snippet": found.snippet.text,
        "highlights": [list(span) for span in found.snippet.highlights],
        "novelty": None if verdict.novelty is None else round(verdict.novelty, 4),
        "fact_changes": [fact_change_json(c) for c in verdict.fact_changes],
        "new_terms": list(verdict.new_terms),
        "reason": verdict.reason,
    }


def volume_alert(conn: Connection, *, book: RuleBook, rule: Rule, now: datetime) -> dict[str, Any] | None:
    volume = rule.volume
    assert volume is not None
    window, reference = timedelta(seconds=volume.window_s), timedelta(seconds=volume.reference_s)
    current = alert_store.count_hits(conn, rule.id, since=now - window, until=now + timedelta(seconds=1))
    earlier = alert_store.count_hits(conn, rule.id, since=now - window - reference, until=now - window)
    check = check_volume(
        current=current,
        reference_total=earlier,
        window=window,
        reference=reference,
        factor=volume.factor,
        min_count=volume.min_count,
    )
    if not check.fired:
        return None
    summary = check.describe(factor=volume.factor)
    return _base_row(rule, book=book, now=now) | {
        "dedup_key": f"{rule.id}:volume:{window_bucket(now, window)}",
        "status": "pending",
        "item_id": None,
        "story_id": None,
        "feed_id": None,
        "title": f"{rule.name}: unusual volume, {current} stories",
        "url": None,
        "matched": [],
        "snippet": summary,
        "highlights": [],
        "novelty": None,
        "fact_changes": [],
        "new_terms": [],
        "reason": f"volume spike: {summary}",
    }
