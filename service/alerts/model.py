"""What an alert is: the record the alert stage raises, the store keeps and delivery reads.

A ``NewAlert`` is raised once per (rule, story) for keyword rules and once per (rule,
window) for volume rules (its ``dedup_key``); the store inserts those it does not know yet
and hands them back as ``Alert``s, with their ids. A volume alert is about no item: it has
no item, story, feed, link or evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.baselines.change import FactChange

STATUSES = ("pending", "sent", "failed", "suppressed", "stale", "muted", "cooldown")
"""Every status an alert can have (see ``notify.alert_status`` and ``alerts.age``)."""
FIRED_STATUSES = frozenset({"pending", "sent", "failed"})
"""An alert with one of these fired (a *live* alert); the others were held back."""
MAX_ALERT_ID = 2**63 - 1
"""The largest id either database stores (64-bit): a larger one asked for is refused, not an overflow."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAlert:
    dedup_key: str
    rule_id: str
    rule_name: str
    rules_version: str
    kind: str  # keyword | volume
    severity: str  # info | notice | high | critical
    status: str  # pending | suppressed | stale when raised; sent | failed once its messages settle
    notify: tuple[str, ...] | None  # the rule's channels when it fired (None: the defaults)
    baselines: tuple[Mapping[str, object], ...]  # {id, version} of each baseline it was judged by
    title: str
    snippet: str
    reason: str
    created_at: datetime
    item_id: int | None = None
    story_id: int | None = None
    feed_id: int | None = None
    feed_name: str | None = None
    url: str | None = None
    published_at: datetime | None = None  # the article's own date, when it gives one
    matched: tuple[str, ...] = ()
    highlights: tuple[tuple[int, int], ...] = ()  # spans of ``snippet`` that matched
    novelty: float | None = None
    fact_changes: tuple[FactChange, ...] = ()
    new_terms: tuple[str, ...] = ()
    subject: str | None = None  # why the item is about the rule's subject (rules with one)


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert(NewAlert):
    """A stored alert."""

    id: int
    digest_id: int | None = None  # the daily digest that reported it (None: not yet in one)

    @property
    def story_key(self) -> str:
        """What a message about it is about: its story, or the alert itself when it has none."""
        return f"story:{self.story_id}" if self.story_id is not None else f"alert:{self.id}"
