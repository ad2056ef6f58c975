"""Turning one poll's new items into alert rows, inside the poll's transaction (the matching
and judging itself is done before it, by :func:`assess_items`, for the items not stored yet).

For every new item: the rules it matches (only rules that watch its feed) and whose subject it
is about (a rule's subject only mentioned in passing raises nothing and counts for nothing), a
verdict per keyword rule, one alert per (rule, story) — the first copy of a story that is about
the rule's subject decides, later copies add nothing — and a hit row per match for volume rules
and backtests. Volume rules are then
checked against their counts. Everything is written in the caller's transaction, so a crash
never leaves an item stored without its alerts.

An edited item raises what its edit adds (:func:`judge_edits`): the rules its new version raises
something for and its old version, judged by the same rules, did not, under the story its new
version tells. A stub rewritten into the article is news; a typo fixed, or a rule written since
the item was first stored, is not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from service.alerts.age import STALE, held_back
from service.alerts.assess import Assessment, assess
from service.alerts.model import Alert, NewAlert
from service.alerts.volume import check_volume, window_bucket
from service.matching.ruleset import Rule
from service.rulebook import RuleBook
from service.sources.normalize import Item
from service.store import alerts as alert_store
from service.store.items import StoredItem, StoredVersion


@dataclass(frozen=True, slots=True)
class FeedRef:
    id: int
    name: str
    tags: tuple[str, ...]
    max_age_s: int | None = None  # items older than this when first seen do not alert (None: no limit)
    ages_from: datetime | None = None  # the moment ages count from (None: when the item is stored)


@dataclass(frozen=True, slots=True)
class EditJudgement:
    """What an edit of a stored item adds (:func:`judge_edits`)."""

    found: tuple[Assessment, ...]  # the rules the new version raises something for, and the old did not
    published_at: datetime | None  # the item's date as stored after the edit (an edit without one keeps it)
    dated: datetime  # what its age counts from: the earliest of its dates and when it was first seen
    from_first_sight: bool  # ``dated`` is when it was first seen

    @classmethod
    def of(
        cls, found: Sequence[Assessment], *, published_at: datetime | None, before: StoredVersion
    ) -> EditJudgement:
        """``published_at``: the edit's own date. A feed may stamp an edit with the time of the
        edit, or drop the date the item had: the earliest date known counts."""
        kept = published_at if published_at is not None else before.published_at
        dates = [d for d in (published_at, before.published_at) if d is not None]
        if dates and min(dates) <= before.first_seen_at:
            return cls(tuple(found), kept, min(dates), from_first_sight=False)
        return cls(tuple(found), kept, before.first_seen_at, from_first_sight=True)


@dataclass(frozen=True, slots=True)
class JudgedEdits:
    """A poll's edits as judged before its write transaction."""

    keys: frozenset[str]  # every edit judged, most of which add nothing
    adding: Mapping[str, EditJudgement]  # those that add something, by item key


@dataclass(frozen=True, slots=True)
class AlertTally:
    pending: int = 0
    suppressed: int = 0
    stale: int = 0  # held back: the article was already too old when first seen
    inserted: tuple[Alert, ...] = ()  # the alerts actually stored, with their ids

    @property
    def total(self) -> int:
        return self.pending + self.suppressed + self.stale

    @property
    def stories(self) -> int:
        """How many stories the pending alerts are about (several rules on one story: one message)."""
        return len({a.story_key for a in self.inserted if a.status == "pending"})


def record_alerts(
    conn: Connection,
    *,
    book: RuleBook,
    feed: FeedRef,
    new: Sequence[tuple[StoredItem, Item]],
    now: datetime,
    assessed: Mapping[str, Sequence[Assessment]] | None = None,
    edits: Sequence[tuple[StoredItem, Item, EditJudgement]] = (),
) -> AlertTally:
    """``assessed``: the new items' assessments by item key, made before the transaction (see
    :func:`assess_items`); an item missing from it is assessed here. ``edits``: edited items,
    stored, with what each adds (:func:`judge_edits`)."""
    raised: dict[str, NewAlert] = {}
    hits: list[dict[str, Any]] = []
    volume_rules: set[str] = set()
    judged: list[tuple[StoredItem, Item, Sequence[Assessment], EditJudgement | None]] = []
    for stored, item in new:
        made = assessed.get(item.key) if assessed is not None else None
        judged.append((stored, item, _assess(book, feed, item) if made is None else made, None))
    judged += [(stored, item, edit.found, edit) for stored, item, edit in edits]
    for stored, item, assessments, edit in judged:
        for found in assessments:
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
            alert = keyword_alert(found, book=book, feed=feed, stored=stored, item=item, edit=edit, now=now)
            raised.setdefault(alert.dedup_key, alert)
    alert_store.record_hits(conn, hits)
    _drop_stale_edits_of_told_stories(conn, raised)
    for rule_id in sorted(volume_rules):
        spike = volume_alert(conn, book=book, rule=book.rules[rule_id], now=now)
        if spike is not None:
            raised.setdefault(spike.dedup_key, spike)
    inserted = tuple(alert_store.insert_alerts(conn, list(raised.values())))
    statuses = [alert.status for alert in inserted]
    return AlertTally(
        statuses.count("pending"), statuses.count("suppressed"), statuses.count(STALE), inserted
    )


STALE_EDIT = ":stale-edit"
"""Ends the key of an edit's alert held back as too old: one per rule and story, beside the
story's own alert rather than in its place."""


def _drop_stale_edits_of_told_stories(conn: Connection, raised: dict[str, NewAlert]) -> None:
    """A held-back edit of a story whose alert for the rule exists (or is raised now) adds nothing."""
    held = {key: key.removesuffix(STALE_EDIT) for key in raised if key.endswith(STALE_EDIT)}
    if not held:
        return
    told = alert_store.existing_keys(conn, set(held.values())) | raised.keys()
    for key, story_key in held.items():
        if story_key in told:
            del raised[key]


def assess_items(book: RuleBook, feed: FeedRef, items: Sequence[Item]) -> dict[str, list[Assessment]]:
    """What every rule makes of each item, by item key: the CPU-heavy half of alerting, pure, so
    a poll does it before taking the database's write lock (see ``Poller._read``)."""
    return {item.key: _assess(book, feed, item) for item in items}


def judge_edits(
    book: RuleBook,
    feed: FeedRef,
    edited: Sequence[Item],
    stored_versions: Callable[[Sequence[str]], Mapping[str, StoredVersion]],
) -> JudgedEdits:
    """What each edit adds, weighed against the stored version it replaces. Pure but for
    ``stored_versions`` (keys → what they said), asked only for the edits whose new version
    raises something at all. Done before the write transaction, like :func:`assess_items`."""
    raising: dict[str, tuple[Item, list[Assessment]]] = {}
    for item in edited:
        now_raised = [a for a in _assess(book, feed, item) if a.about_subject]
        if now_raised:
            raising[item.key] = (item, now_raised)
    before = stored_versions(list(raising)) if raising else {}
    adding: dict[str, EditJudgement] = {}
    for key, (item, now_raised) in raising.items():
        if (old := before.get(key)) is None:
            continue  # no longer stored (the feed's items were removed meanwhile)
        earlier = assess(book, title=old.title, text=old.text, feed=feed.name, tags=feed.tags)
        if found := newly_raised(now_raised, earlier):
            adding[key] = EditJudgement.of(found, published_at=item.published_at, before=old)
    return JudgedEdits(frozenset(i.key for i in edited), adding)


def newly_raised(new: Sequence[Assessment], old: Sequence[Assessment]) -> list[Assessment]:
    """The assessments of an edit's new version for rules its old version raised nothing for
    (a match only in passing raises nothing)."""
    before = {a.rule.id for a in old if a.about_subject}
    return [a for a in new if a.about_subject and a.rule.id not in before]


def _assess(book: RuleBook, feed: FeedRef, item: Item) -> list[Assessment]:
    return assess(book, title=item.title, text=item.text, feed=feed.name, tags=feed.tags)


def _raised(
    rule: Rule,
    *,
    book: RuleBook,
    dedup_key: str,
    status: str,
    title: str,
    snippet: str,
    reason: str,
    now: datetime,
) -> NewAlert:
    """What every alert of the rule carries; a keyword alert adds its item and evidence."""
    return NewAlert(
        dedup_key=dedup_key,
        rule_id=rule.id,
        rule_name=rule.name,
        rules_version=book.version,
        kind=rule.kind,
        severity=rule.severity,
        status=status,
        notify=None if rule.notify is None else tuple(rule.notify),
        baselines=tuple(book.baseline_refs(rule)),
        title=title,
        snippet=snippet,
        reason=reason,
        created_at=now,
    )


def keyword_alert(
    found: Assessment,
    *,
    book: RuleBook,
    feed: FeedRef,
    stored: StoredItem,
    item: Item,
    now: datetime,
    edit: EditJudgement | None = None,
) -> NewAlert:
    """``edit``: set when the item is an edit of a stored one, whose age counts from
    ``edit.dated``; a new item's counts from its date. An edit held back as too old does not
    stand for its story: its key (``STALE_EDIT``) leaves the story's free for a fresh copy of
    the article."""
    verdict = found.verdict
    assert verdict is not None
    status, reason = held_back(
        verdict.status,
        verdict.reason,
        published_at=item.published_at if edit is None else edit.dated,
        from_first_sight=edit is not None and edit.from_first_sight,
        now=feed.ages_from or now,
        max_age_s=feed.max_age_s,
    )
    dedup_key = f"{found.rule.id}:story:{stored.story_id}"
    if edit is not None and status == STALE:
        dedup_key += STALE_EDIT
    alert = _raised(
        found.rule,
        book=book,
        dedup_key=dedup_key,
        status=status,
        title=item.title,
        snippet=found.snippet.text,
        reason=reason,
        now=now,
    )
    return replace(
        alert,
        item_id=stored.id,
        story_id=stored.story_id,
        feed_id=feed.id,
        feed_name=feed.name,
        url=item.url,
        published_at=item.published_at if edit is None else edit.published_at,
        matched=tuple(found.matched_terms),
        highlights=found.snippet.highlights,
        novelty=None if verdict.novelty is None else round(verdict.novelty, 4),
        fact_changes=verdict.fact_changes,
        new_terms=verdict.new_terms,
        subject=None if found.subject is None else found.subject.why,
    )


def volume_alert(conn: Connection, *, book: RuleBook, rule: Rule, now: datetime) -> NewAlert | None:
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
    return _raised(
        rule,
        book=book,
        dedup_key=f"{rule.id}:volume:{window_bucket(now, window)}",
        status="pending",
        title=f"{rule.name}: unusual volume, {current} stories",
        snippet=summary,
        reason=f"volume spike: {summary}",
        now=now,
    )
